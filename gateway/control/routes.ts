// HTTP control API for wires that cannot carry commands themselves (Twilio, AudioSocket, Vonage):
//   POST /v1/calls/:callId/{play,say,stop_prompt,expect_consent,hangup,dtmf}  — bodies as the native messages
//   GET  /v1/calls/:callId/events[?wait=MS]                                 — the call's events as SSE
// Bearer auth is applied by the gateway's router (SSE clients that cannot set headers may use ?token=). In a fleet
// either works on any instance: a call held by another instance is found in the call directory and the request
// forwarded to that instance (gw.remote, gateway/fleet/).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Call, CallEvent } from '../call/Call.js';
import { COMMAND_TYPES, isCommandError, parseCommand, type CommandErrorKind, type CommandType } from '../call/commands.js';
import type { RemoteCall } from '../call/remote.js';
import type { WireContext } from '../call/wire.js';
import { HttpError, readJson, sendJson } from '../ops/http.js';
import { metrics } from '../ops/metrics.js';

/** A refused command's HTTP status. */
const STATUS: Record<CommandErrorKind, number> = { invalid: 400, not_found: 404, busy: 429, forbidden: 403, unsupported: 501, conflict: 409 };

function localCall(gw: WireContext, id: string): Call | null {
  const call = gw.calls.get(id);
  return call && !call.isEnded ? call : null;
}

const unknownCall = (id: string) => new HttpError(404, 'unknown_call', `no call ${id} in progress`);

/** The holder of a call this instance does not have, when a fleet has one (never for a forwarded request). */
async function remoteHolder(gw: WireContext, req: IncomingMessage, id: string): Promise<RemoteCall | null> {
  if (!gw.remote || gw.remote.isForwarded(req)) return null;
  try {
    return await gw.remote.locate(id);
  } catch (e) {
    throw new HttpError(503, 'directory_unavailable', `the call directory cannot be read: ${(e as Error).message}`);
  }
}

/** Relays the request to the instance that holds the call; its answer (status, body, stream) goes back as it is. */
async function forwardTo(gw: WireContext, req: IncomingMessage, res: ServerResponse, holder: { address: string }, o: { path: string; body?: Buffer; kind: 'command' | 'events' }): Promise<void> {
  try {
    await gw.remote!.forward(req, res, holder, o);
  } catch (e) {
    throw new HttpError(502, 'instance_unreachable', `the instance holding the call cannot be reached: ${(e as Error).message}`);
  }
}

/** Runs one command, its body as the native message without `type`. Throws HttpError when it cannot. */
function runHttpCommand(gw: WireContext, call: Call, type: CommandType, body: unknown): void {
  const cmd = parseCommand(body, type);
  const err = isCommandError(cmd) ? cmd : gw.command(call, cmd);
  if (err) throw new HttpError(STATUS[err.kind], err.code, err.message);
}

function sse(res: ServerResponse, ev: CallEvent): void {
  res.write(`event: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`);
}

/**
 * Writes to an event stream unless its reader is behind: past `limit` bytes queued the stream is dropped (the call
 * goes on; the subscriber may reconnect), so a subscriber that never reads cannot grow the gateway's memory.
 */
export function sseWriter(gw: Pick<WireContext, 'config' | 'log'>, res: Pick<ServerResponse, 'writableLength' | 'destroyed' | 'write' | 'destroy'>, callId: string, onDrop: () => void): (text: string) => void {
  const limit = gw.config.playout.maxSocketBufferBytes;
  let dropped = false;
  return (text) => {
    if (dropped || res.destroyed) return;
    if (res.writableLength > limit) {
      dropped = true;
      metrics.errors.inc({ code: 'sse_slow_consumer' });
      gw.log.warn({ callId, queued: res.writableLength }, 'event stream subscriber is not reading: stream dropped');
      res.destroy();
      onDrop();
      return;
    }
    res.write(text);
  };
}

/** Longest a stream opened ahead of its call may wait for it (`?wait=`). */
const MAX_WAIT_MS = 60_000;

/**
 * The call's events. With `?wait=MS` the stream may be opened before the call starts (a platform subscribes, then
 * connects the media): it waits up to MS for the call, or carries the single `rejected {reason}` event if the call
 * was refused at start (do-not-call, calling hours, capacity, …), or answers 404. A call's stream always begins
 * with `ready`, as the native wire's does, whenever it was opened.
 */
async function streamEvents(gw: WireContext, req: IncomingMessage, res: ServerResponse, callId: string, url: URL): Promise<void> {
  const live = localCall(gw, callId);
  if (live) return follow(gw, req, res, live);
  const w = url.searchParams.get('wait');
  const waitMs = w === null ? 0 : Number(w);
  if (!Number.isInteger(waitMs) || waitMs < 0 || waitMs > MAX_WAIT_MS) throw new HttpError(400, 'invalid_message', `wait must be 0–${MAX_WAIT_MS} ms`);
  const path = `${url.pathname}${url.search}`;
  // In a fleet the call may be held, or have been refused, by another instance.
  const elsewhere = await remoteHolder(gw, req, callId);
  if (elsewhere?.state === 'live') return forwardTo(gw, req, res, elsewhere, { path, kind: 'events' });
  if (elsewhere?.state === 'rejected') return rejectedStream(res, callId, elsewhere.reason);
  const here = localCall(gw, callId); // it may have started here while we looked
  if (here) return follow(gw, req, res, here);
  if (!waitMs) throw unknownCall(callId);
  const refused = gw.calls.recentRefusal(callId); // refused just before this request came
  if (refused !== undefined) return rejectedStream(res, callId, refused);
  const started = performance.now();
  const remote = gw.remote && !gw.remote.isForwarded(req) ? gw.remote.awaitRemote(callId, waitMs) : null;
  const cancel = gw.calls.awaitCall(callId, waitMs, (a) => {
    remote?.cancel();
    if ('call' in a) return follow(gw, req, res, a.call);
    if ('rejected' in a) return rejectedStream(res, callId, a.rejected);
    sendJson(res, 404, { error: 'unknown_call', message: `no call ${callId} started within ${waitMs} ms` });
  });
  if (!cancel) {
    remote?.cancel();
    res.setHeader('retry-after', '1');
    throw new HttpError(503, 'too_many_waiting', `${gw.config.limits.maxPendingEventStreams} event streams are already waiting for calls to start`);
  }
  req.on('close', () => (cancel(), remote?.cancel()));
  res.on('close', () => (cancel(), remote?.cancel()));
  const found = await remote?.result;
  if (!found || res.headersSent || res.destroyed) return;
  cancel();
  if (found.state === 'rejected') return rejectedStream(res, callId, found.reason);
  // It started on another instance: follow it there, for what is left of the wait.
  const left = Math.max(1, Math.round(waitMs - (performance.now() - started)));
  url.searchParams.set('wait', String(Math.min(left, MAX_WAIT_MS)));
  return forwardTo(gw, req, res, found, { path: `${url.pathname}${url.search}`, kind: 'events' });
}

function rejectedStream(res: ServerResponse, callId: string, reason: string): void {
  openStream(res, callId);
  sse(res, { type: 'rejected', callId, reason, t: 0 });
  res.end();
}

function openStream(res: ServerResponse, callId: string): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write(`: events of call ${callId}\n\n`);
  res.flushHeaders?.();
}

/** Streams a live call's events until its summary. */
function follow(gw: WireContext, req: IncomingMessage, res: ServerResponse, call: Call): void {
  openStream(res, call.id);
  sse(res, { type: 'ready', callId: call.id, t: 0 });
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    unobserve();
    clearInterval(keepalive);
    res.end();
  };
  const write = sseWriter(gw, res, call.id, finish);
  const unobserve = call.observe((ev) => {
    if (done) return;
    write(`event: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`);
    if (ev.type === 'call_summary') finish();
  });
  // Comments keep proxies from timing the stream out while the call is quiet.
  const keepalive = setInterval(() => write(': keepalive\n\n'), 15000);
  keepalive.unref();
  req.on('close', finish);
  res.on('close', finish);
}

export function registerControlApi(gw: WireContext): void {
  for (const cmd of COMMAND_TYPES) {
    gw.router.add('POST', `/v1/calls/:callId/${cmd}`, async (req, res, params, url) => {
      const body = await readJson(req, gw.config.limits.maxMessageBytes);
      let call = localCall(gw, params.callId);
      if (!call) {
        // Held by another instance of the fleet: it runs the command there and answers as it would itself.
        const elsewhere = await remoteHolder(gw, req, params.callId);
        call = localCall(gw, params.callId); // or it started here meanwhile
        if (!call) {
          if (elsewhere?.state !== 'live') throw unknownCall(params.callId);
          return forwardTo(gw, req, res, elsewhere, { path: `${url.pathname}${url.search}`, body: Buffer.from(JSON.stringify(body)), kind: 'command' });
        }
      }
      runHttpCommand(gw, call, cmd, body);
      sendJson(res, 202, { ok: true, callId: call.id, command: cmd, t: call.t });
    });
  }
  gw.router.add('GET', '/v1/calls/:callId/events', (req, res, params, url) => streamEvents(gw, req, res, params.callId, url));
}
