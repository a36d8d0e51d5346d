// HTTP control API for wires that cannot carry commands themselves (Twilio, AudioSocket, Vonage):
//   POST /v1/calls/:callId/{play,say,stop_prompt,expect_consent,hangup,dtmf}  — bodies as the native messages
//   GET  /v1/calls/:callId/events[?wait=MS]                                 — the call's events as SSE (callEvents.ts)
//   GET  /v1/events[?type=…&callId=…]                                      — every call's events as SSE (allEvents.ts)
// Bearer auth is applied by the gateway's router (SSE clients that cannot set headers may use ?token=). In a fleet
// a call's commands and events work on any instance: a call held by another instance is found in the call
// directory and the request forwarded to that instance (forwarding.ts).
import type { Call } from '../call/Call.js';
import { COMMAND_TYPES, isCommandError, parseCommand, type CommandErrorKind, type CommandType } from '../call/commands.js';
import type { EventLog } from '../call/EventLog.js';
import type { WireContext } from '../call/wire.js';
import { HttpError, readJson, sendJson } from '../ops/http.js';
import { registerAllEvents } from './allEvents.js';
import { streamCallEvents } from './callEvents.js';
import { forwardTo, remoteHolder } from './forwarding.js';

/** A refused command's HTTP status. */
const STATUS: Record<CommandErrorKind, number> = { invalid: 400, not_found: 404, busy: 429, forbidden: 403, unsupported: 501, conflict: 409 };

function localCall(gw: WireContext, id: string): Call | null {
  const call = gw.calls.get(id);
  return call && !call.isEnded ? call : null;
}

/** Runs one command, its body as the native message without `type`. Throws HttpError when it cannot. */
function runHttpCommand(gw: WireContext, call: Call, type: CommandType, body: unknown): void {
  const cmd = parseCommand(body, type);
  const err = isCommandError(cmd) ? cmd : gw.command(call, cmd);
  if (err) throw new HttpError(STATUS[err.kind], err.code, err.message);
}

export function registerControlApi(gw: WireContext & { events: EventLog }): void {
  for (const cmd of COMMAND_TYPES) {
    gw.router.add('POST', `/v1/calls/:callId/${cmd}`, async (req, res, params, url) => {
      const body = await readJson(req, gw.config.limits.maxMessageBytes);
      let call = localCall(gw, params.callId);
      if (!call) {
        // Held by another instance of the fleet: it runs the command there and answers as it would itself.
        const elsewhere = await remoteHolder(gw, req, params.callId);
        call = localCall(gw, params.callId); // or it started here meanwhile
        if (!call) {
          if (elsewhere?.state !== 'live') throw new HttpError(404, 'unknown_call', `no call ${params.callId} in progress`);
          return forwardTo(gw, req, res, elsewhere, { path: `${url.pathname}${url.search}`, body: Buffer.from(JSON.stringify(body)), kind: 'command' });
        }
      }
      runHttpCommand(gw, call, cmd, body);
      sendJson(res, 202, { ok: true, callId: call.id, command: cmd, t: call.t });
    });
  }
  gw.router.add('GET', '/v1/calls/:callId/events', (req, res, params, url) => streamCallEvents(gw, req, res, params.callId, url));
  registerAllEvents(gw);
}
