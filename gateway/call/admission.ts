// Whether a call may start, and starting it: the same steps on every wire. First the checks that need nothing but
// the id (shutdown, duplicate, capacity) — a wire answers those at once in its own way — then the features'
// admission (approved script, do-not-call, calling hours, caps), which may await storage; then the call is created,
// registered and told `ready`, or told `rejected {reason}` and closed.
import type { Config } from '../config.js';
import { ListenUnavailable, type ListenService } from '../listen/ListenService.js';
import { callLogger, type Logger } from '../ops/log.js';
import type { Pacer } from '../speak/Playout.js';
import { Call, type CallSink } from './Call.js';
import type { CallRegistry } from './CallRegistry.js';
import type { StartMessage } from './start.js';

export type AdmissionVerdict = { ok: true } | { ok: false; reason: string };

/** A refusal before anything is set up. A duplicate is not announced: that call exists and streams. */
export interface StartRefusal {
  code: 'shutting_down' | 'duplicate_call' | 'capacity';
  message: string;
}

/** What admission needs of the gateway. */
export interface AdmissionContext {
  readonly calls: CallRegistry;
  readonly config: Config;
  readonly listen: ListenService;
  readonly pacer: Pacer;
  readonly isDraining: boolean;
  /** The features' verdict on a start (the first refusal wins). */
  admit(start: StartMessage): Promise<AdmissionVerdict>;
}

/**
 * Why a new call with this id cannot start right now (null = it may). A refusal is also announced to whoever
 * awaits the id (an event stream opened ahead of the call), except a duplicate.
 */
export function refuseStart(ctx: AdmissionContext, callId: string): StartRefusal | null {
  const r: StartRefusal | null = ctx.isDraining
    ? { code: 'shutting_down', message: 'gateway is shutting down' }
    : ctx.calls.has(callId)
      ? { code: 'duplicate_call', message: `call ${callId} is already in progress` }
      : ctx.calls.size >= ctx.config.limits.maxCalls
        ? { code: 'capacity', message: 'gateway is at capacity' }
        : null;
  if (r && r.code !== 'duplicate_call') ctx.calls.announceRejected(callId, r.code);
  return r;
}

/**
 * Creates a call from a validated start message once the features admit it, and answers `ready`; or answers
 * `rejected` and closes the sink (code 4403; 1013 with `error` + `rejected listen_unavailable` when no listen worker
 * serves). `gone`: the wire's connection is closed, so no call is created.
 */
export async function startCall(ctx: AdmissionContext, s: StartMessage, wire: string, sink: CallSink, gone: () => boolean = () => false): Promise<Call | null> {
  const log = callLogger(s.callId, wire);
  const verdict = await ctx.admit(s);
  if (!verdict.ok) {
    log.info({ reason: verdict.reason }, 'call rejected at start');
    // A duplicate (the id is live on another instance of a fleet) is not announced: that call exists and streams.
    if (verdict.reason !== 'duplicate_call') ctx.calls.announceRejected(s.callId, verdict.reason);
    sink.sendEvent({ type: 'rejected', callId: s.callId, reason: verdict.reason, t: 0 });
    sink.close(4403, 'rejected');
    return null;
  }
  // Admission may await storage: a client that left meanwhile gets no call at all, and whoever awaits the id (or
  // holds a claim on it, in a fleet) learns that it never started.
  if (gone()) {
    ctx.calls.announceRejected(s.callId, 'client_gone');
    return null;
  }
  let call: Call;
  try {
    call = makeCall(ctx, s, wire, sink, log);
  } catch (e) {
    // No listen worker serves (ListenService.open; they are being replaced), or a bug: refused like a verdict, so the
    // client hears why and whoever awaits the id learns it, rather than a rejection nobody handles and silence.
    const unavailable = e instanceof ListenUnavailable;
    const reason = unavailable ? e.code : 'start_failed';
    if (unavailable) log.warn({ reason }, `call refused at start: ${e.message}`);
    else log.error({ err: e, reason }, 'call could not start');
    ctx.calls.announceRejected(s.callId, reason);
    sink.sendEvent({ type: 'error', code: reason, message: unavailable ? `${e.message}; try again later` : 'the call could not be set up', t: 0 });
    sink.sendEvent({ type: 'rejected', callId: s.callId, reason, t: 0 });
    sink.close(1013, reason);
    return null;
  }
  ctx.calls.register(call);
  log.info({ format: s.audio, callType: s.callType, language: s.language }, 'call started');
  sink.sendEvent({ type: 'ready', callId: s.callId, t: 0 });
  return call;
}

function makeCall(ctx: AdmissionContext, s: StartMessage, wire: string, sink: CallSink, log: Logger): Call {
  return new Call(
    {
      callId: s.callId,
      wire,
      format: { encoding: s.audio.encoding as 'pcm16' | 'mulaw' | 'alaw', sampleRate: s.audio.sampleRate },
      language: s.language,
      callType: s.callType,
      callee: s.callee,
      bargeIn: s.bargeIn,
      extra: s,
    },
    { config: ctx.config, listen: ctx.listen, pacer: ctx.pacer, log, ended: (c) => ctx.calls.unregister(c) },
    sink,
  );
}
