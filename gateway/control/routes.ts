// HTTP control API for wires that cannot carry commands themselves (Twilio, AudioSocket, Vonage):
//   POST /v1/calls/:callId/{play,say,stop_prompt,expect_consent,hangup,dtmf}  — bodies as the native messages
//   GET  /v1/calls/:callId/events[?wait=MS]                                 — the call's events as SSE
// Bearer auth is applied by the gateway's router (SSE clients that cannot set headers may use ?token=).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Call, CallEvent } from '../call/Call.js';
import { COMMAND_TYPES, isCommandError, parseCommand, type CommandErrorKind, type CommandType } from '../call/commands.js';
import type { WireContext } from '../call/wire.js';
import { HttpError, readJson, sendJson } from '../ops/http.js';
import { metrics } from '../ops/metrics.js';

/** A refused command's HTTP status. */
const STATUS: Record<CommandErrorKind, number> = { invalid: 400, not_found: 404, busy: 429, forbidden: 403, unsupported: 501, conflict: 409 };

function findCall(gw: WireContext, id: string): Call {
  const call = gw.calls.get(id);
  if (!call || call.isEnded) throw new HttpError(404, 'unknown_call', `no call ${id} in progress`);
  return call;
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
function streamEvents(gw: WireContext, req: IncomingMessage, res: ServerResponse, callId: string, url: URL): void {
  const live = gw.calls.get(callId);
  if (live && !live.isEnded) return follow(gw, req, res, live);
  const w = url.searchParams.get('wait');
  const waitMs = w === null ? 0 : Number(w);
  if (!Number.isInteger(waitMs) || waitMs < 0 || waitMs > MAX_WAIT_MS) throw new HttpError(400, 'invalid_message', `wait must be 0–${MAX_WAIT_MS} ms`);
  if (!waitMs) throw new HttpError(404, 'unknown_call', `no call ${callId} in progress`);
  const refused = gw.calls.recentRefusal(callId); // refused just before this request came
  if (refused !== undefined) return rejectedStream(res, callId, refused);
  const cancel = gw.calls.awaitCall(callId, waitMs, (a) => {
    if ('call' in a) return follow(gw, req, res, a.call);
    if ('rejected' in a) return rejectedStream(res, callId, a.rejected);
    sendJson(res, 404, { error: 'unknown_call', message: `no call ${callId} started within ${waitMs} ms` });
  });
  if (!cancel) {
    res.setHeader('retry-after', '1');
    throw new HttpError(503, 'too_many_waiting', `${gw.config.limits.maxPendingEventStreams} event streams are already waiting for calls to start`);
  }
  req.on('close', cancel);
  res.on('close', cancel);
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
    gw.router.add('POST', `/v1/calls/:callId/${cmd}`, async (req, res, params) => {
      const body = await readJson(req, gw.config.limits.maxMessageBytes);
      const call = findCall(gw, params.callId);
      runHttpCommand(gw, call, cmd, body);
      sendJson(res, 202, { ok: true, callId: call.id, command: cmd, t: call.t });
    });
  }
  gw.router.add('GET', '/v1/calls/:callId/events', (req, res, params, url) => streamEvents(gw, req, res, params.callId, url));
}
