// Pieces every telephony wire shares: admission checks before a call is created, and turning prompt bytes into a
// `call.play` with the same limits and errors as the native wire.
import { bytesPerSample, CodecError, decode } from '../audio/codec.js';
import type { Call } from '../call/Call.js';
import { MessageBudget } from '../call/MessageBudget.js';
import type { Config } from '../config.js';
import type { Gateway } from '../Gateway.js';

export interface WireError {
  code: string;
  message: string;
}

/**
 * Why a new call with this id cannot start right now (null = it may). A refusal is also announced to whoever
 * awaits the id (an event stream opened ahead of the call), except a duplicate: that call exists and streams.
 */
export function refuseStart(gw: Gateway, callId: string): WireError | null {
  const r = gw.isDraining
    ? { code: 'shutting_down', message: 'gateway is shutting down' }
    : gw.calls.has(callId)
      ? { code: 'duplicate_call', message: `call ${callId} is already in progress` }
      : gw.calls.size >= gw.config.limits.maxCalls
        ? { code: 'capacity', message: 'gateway is at capacity' }
        : null;
  if (r && r.code !== 'duplicate_call') gw.announceRejected(callId, r.code);
  return r;
}

/**
 * Queues prompt audio given in the call's own encoding, or, with no bytes, the recorded prompt uploaded under
 * `promptId` (`PUT /v1/prompts/:promptId`). Returns an error instead of playing when it is unfit.
 */
export function playBytes(gw: Gateway, call: Call, m: { promptId: string; bytes: Uint8Array | null; interruptible: boolean }): WireError | null {
  const refused = gw.commands.playRefusal?.(call);
  if (refused) return refused;
  if (m.bytes === null) return playRecorded(gw, call, m);
  const bps = bytesPerSample(call.format.encoding);
  const ms = (m.bytes.length / bps / call.format.sampleRate) * 1000;
  if (!m.bytes.length) return { code: 'invalid_message', message: 'prompt audio is empty' };
  if (ms > gw.config.limits.maxPromptMs) return { code: 'prompt_too_long', message: `prompt of ${Math.round(ms)} ms exceeds ${gw.config.limits.maxPromptMs} ms` };
  if (call.playout.queued >= gw.config.limits.maxQueuedPrompts) return { code: 'queue_full', message: 'too many prompts queued' };
  let pcm: Int16Array;
  try {
    pcm = decode(call.format.encoding, m.bytes);
  } catch (e) {
    return { code: (e as CodecError).code ?? 'bad_audio', message: (e as Error).message };
  }
  call.play({ promptId: m.promptId, pcm, interruptible: m.interruptible });
  return null;
}

function playRecorded(gw: Gateway, call: Call, m: { promptId: string; interruptible: boolean }): WireError | null {
  const pcm = gw.commands.recordedPrompt?.(m.promptId, call.format.sampleRate);
  if (!pcm) return { code: 'unknown_prompt', message: `no recorded prompt ${m.promptId}: upload it (PUT /v1/prompts/${m.promptId}) or send its audio` };
  if (call.playout.queued >= gw.config.limits.maxQueuedPrompts) return { code: 'queue_full', message: 'too many prompts queued' };
  call.play({ promptId: m.promptId, pcm, interruptible: m.interruptible });
  return null;
}

/**
 * A client-supplied string put into an error message or close reason, cut short: errors must not echo a 4 MiB
 * `type` back to a client that never reads (and onto the log).
 */
export function clip(s: string, max = 64): string {
  return s.length > max ? `${s.slice(0, max)}…(${s.length} chars)` : s;
}

/**
 * A WebSocket close reason: at most 123 bytes of UTF-8 (the protocol's limit; `ws` throws past it), cut at a
 * character boundary. A reason cut by characters was over the limit whenever it held multi-byte text.
 */
export function closeReason(s: string, maxBytes = 123): string {
  if (Buffer.byteLength(s) <= maxBytes) return s;
  let out = '';
  let n = 0;
  for (const ch of s) {
    const b = Buffer.byteLength(ch);
    if (n + b > maxBytes) break;
    out += ch;
    n += b;
  }
  return out;
}

/** Longest error message sent to a client; validation messages can name client-chosen keys. */
export const MAX_ERROR_MESSAGE = 500;

/** The per-connection message budget every wire applies to what its client sends (limits.maxMessagesPerSecond …). */
export function messageBudget(config: Config): MessageBudget {
  const l = config.limits;
  return new MessageBudget({ maxMessagesPerSecond: l.maxMessagesPerSecond, maxBytesPerSecond: l.maxInboundBytesPerSecond, burstBytes: 2 * l.maxMessageBytes }, performance.now());
}

export const RATE_LIMITED = { code: 'rate_limited', message: 'this connection sends more messages or bytes per second than allowed' } as const;

/**
 * A client that stopped reading what it is sent: its call fails as `slow_consumer`. Not from inside the send that
 * found it, since fail() emits events that come back through that send. False when there is no live call to fail
 * (the wire then drops the connection itself).
 */
export function failSlowConsumer(call: Call | null, message: string): boolean {
  if (!call || call.isEnded) return false;
  queueMicrotask(() => call.fail('slow_consumer', message, 1008));
  return true;
}

/** Simple-id check shared with the native start message. */
export const CALL_ID_RE = /^[\w.:@-]{1,128}$/;

/**
 * Caller audio that arrives while a call is still being admitted (policy checks). Twilio and Asterisk stream from
 * the first moment, and a callee's first word (喂?) is often in it, so it is held and replayed once the call
 * exists, keeping the inbound timeline whole. Bounded: past `maxMs` the oldest audio goes.
 */
export class AdmissionBuffer<T> {
  private items: { item: T; ms: number }[] = [];
  private ms = 0;
  dropped = 0;

  constructor(private readonly maxMs = 2000) {}

  push(item: T, ms: number): void {
    this.items.push({ item, ms });
    this.ms += ms;
    while (this.ms > this.maxMs && this.items.length > 1) {
      this.ms -= this.items.shift()!.ms;
      this.dropped++;
    }
  }

  drain(): T[] {
    const out = this.items.map((i) => i.item);
    this.items = [];
    this.ms = 0;
    return out;
  }
}
