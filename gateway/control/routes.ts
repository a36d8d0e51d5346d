// HTTP control API for wires that cannot carry commands themselves (Twilio, AudioSocket, Vonage):
//   POST /v1/calls/:callId/{play,say,stop_prompt,expect_consent,hangup,dtmf}  — bodies as the native messages
//   GET  /v1/calls/:callId/events                                           — the call's events as SSE
// Bearer auth is applied by the gateway's router (SSE clients that cannot set headers may use ?token=).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Call, CallEvent } from '../call/Call.js';
import type { Gateway } from '../Gateway.js';
import { HttpError, readJson, sendJson } from '../ops/http.js';
import { playBytes } from '../wires/common.js';
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
  if (!m.success) throw new HttpError(400, 'invalid_message', z.prettifyError(m.error));
  return m.data;
}

/** Runs one command on a call; shared with the gRPC wire. Throws HttpError (status + code) when it cannot. */
export async function runCommand(gw: Gateway, call: Call, cmd: Command, body: unknown): Promise<void> {
  switch (cmd) {
    case 'play': {
      const m = parse(Play, body, 'play');
      const bytes = decodeBase64Audio(m.audio);
      if (!bytes) throw new HttpError(400, 'bad_base64', 'play.audio is not valid base64');
      const err = playBytes(gw, call, { promptId: m.promptId, bytes, interruptible: m.interruptible });
      if (err) throw new HttpError(err.code === 'queue_full' ? 429 : 400, err.code, err.message);
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

function streamEvents(gw: Gateway, req: IncomingMessage, res: ServerResponse, callId: string): void {
  const call = findCall(gw, callId);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write(`: events of call ${callId}\n\n`);
  res.flushHeaders?.();
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    unobserve();
    clearInterval(keepalive);
    res.end();
  };
  const unobserve = call.observe((ev) => {
    if (done) return;
    sse(res, ev);
    if (ev.type === 'call_summary') finish();
  });
  // Comments keep proxies from timing the stream out while the call is quiet.
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), 15000);
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
  gw.router.add('GET', '/v1/calls/:callId/events', (req, res, params) => streamEvents(gw, req, res, params.callId));
}
