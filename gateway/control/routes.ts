// HTTP control API for wires that cannot carry commands themselves (Twilio, AudioSocket, Vonage):
//   POST /v1/calls/:callId/{play,say,stop_prompt,expect_consent,hangup,dtmf}  — bodies as the native messages
//   GET  /v1/calls/:callId/events[?wait=MS]                                 — the call's events as SSE
// Bearer auth is applied by the gateway's router (SSE clients that cannot set headers may use ?token=).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Call, CallEvent } from '../call/Call.js';
import type { Gateway } from '../Gateway.js';
import { HttpError, readJson, sendJson } from '../ops/http.js';
import { metrics } from '../ops/metrics.js';
import { clip, MAX_ERROR_MESSAGE, playBytes } from '../wires/common.js';
import { decodeBase64Audio, Dtmf, ExpectConsent, Play, Say } from '../wires/native.js';

const COMMANDS = ['play', 'say', 'stop_prompt', 'expect_consent', 'hangup', 'dtmf'] as const;
type Command = (typeof COMMANDS)[number];

function findCall(gw: Gateway, id: string): Call {
  const call = gw.calls.get(id);
  if (!call || call.isEnded) throw new HttpError(404, 'unknown_call', `no call ${id} in progress`);
  return call;
}

function parse<T>(schema: z.ZodType<T>, body: unknown, type: string): T {
  const obj = body && typeof body === 'object' && !Array.isArray(body) ? { ...(body as object), type } : body;
  const m = schema.safeParse(obj);
  if (!m.success) throw new HttpError(400, 'invalid_message', clip(z.prettifyError(m.error), MAX_ERROR_MESSAGE));
  return m.data;
}

/** Runs one command on a call; shared with the gRPC wire. Throws HttpError (status + code) when it cannot. */
export async function runCommand(gw: Gateway, call: Call, cmd: Command, body: unknown): Promise<void> {
  switch (cmd) {
    case 'play': {
      const m = parse(Play, body, 'play');
      const bytes = m.audio === undefined ? null : decodeBase64Audio(m.audio);
      if (m.audio !== undefined && !bytes) throw new HttpError(400, 'bad_base64', 'play.audio is not valid base64');
      const err = playBytes(gw, call, { promptId: m.promptId, bytes, interruptible: m.interruptible });
      if (err) throw new HttpError(err.code === 'queue_full' ? 429 : err.code === 'unknown_prompt' ? 404 : err.code === 'unapproved_audio' ? 403 : 400, err.code, err.message);
      return;
    }
    case 'say': {
      const m = parse(Say, body, 'say');
      if (!gw.commands.say) throw new HttpError(501, 'tts_unavailable', 'speech synthesis is not configured on this gateway');
      // Synthesis runs on; a failure is reported on the call as an error event.
      gw.commands.say(call, m).catch((e: Error & { code?: string }) => call.emit({ type: 'error', code: e.code ?? 'say_failed', message: e.message }));
      return;
    }
    case 'expect_consent': {
      const m = parse(ExpectConsent, body, 'expect_consent');
      if (!gw.commands.expectConsent) throw new HttpError(501, 'consent_unavailable', 'no recogniser is configured: consent cannot be decided');
      try {
        gw.commands.expectConsent(call, m);
      } catch (e) {
        throw new HttpError(409, (e as { code?: string }).code ?? 'consent_failed', (e as Error).message);
      }
      return;
    }
    case 'dtmf': {
      const m = parse(Dtmf, body, 'dtmf');
      gw.commands.dtmf?.(call, m.digit);
      return;
    }
    case 'stop_prompt':
      call.stopPrompt();
      return;
    case 'hangup':
      void call.end('hangup');
      return;
  }
}

function sse(res: ServerResponse, ev: CallEvent): void {
  res.write(`event: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`);
}

/**
 * Writes to an event stream unless its reader is behind: past `limit` bytes queued the stream is dropped (the call
 * goes on; the subscriber may reconnect), so a subscriber that never reads cannot grow the gateway's memory.
 */
export function sseWriter(gw: Pick<Gateway, 'config' | 'log'>, res: Pick<ServerResponse, 'writableLength' | 'destroyed' | 'write' | 'destroy'>, callId: string, onDrop: () => void): (text: string) => void {
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
function streamEvents(gw: Gateway, req: IncomingMessage, res: ServerResponse, callId: string, url: URL): void {
  const live = gw.calls.get(callId);
  if (live && !live.isEnded) return follow(gw, req, res, live);
  const w = url.searchParams.get('wait');
  const waitMs = w === null ? 0 : Number(w);
  if (!Number.isInteger(waitMs) || waitMs < 0 || waitMs > MAX_WAIT_MS) throw new HttpError(400, 'invalid_message', `wait must be 0–${MAX_WAIT_MS} ms`);
  if (!waitMs) throw new HttpError(404, 'unknown_call', `no call ${callId} in progress`);
  const refused = gw.recentRefusal(callId); // refused just before this request came
  if (refused !== undefined) return rejectedStream(res, callId, refused);
  const cancel = gw.awaitCall(callId, waitMs, (a) => {
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
function follow(gw: Gateway, req: IncomingMessage, res: ServerResponse, call: Call): void {
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

export function registerControlApi(gw: Gateway): void {
  for (const cmd of COMMANDS) {
    gw.router.add('POST', `/v1/calls/:callId/${cmd}`, async (req, res, params) => {
      const body = await readJson(req, gw.config.limits.maxMessageBytes);
      const call = findCall(gw, params.callId);
      await runCommand(gw, call, cmd, body);
      sendJson(res, 202, { ok: true, callId: call.id, command: cmd, t: call.t });
    });
  }
  gw.router.add('GET', '/v1/calls/:callId/events', (req, res, params, url) => streamEvents(gw, req, res, params.callId, url));
}
