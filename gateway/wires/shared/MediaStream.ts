// What the telephony WebSocket wires added for issue #16 share on top of BufferingFarEnd: authenticating the
// upgrade the platform's own way, turning the platform's start metadata into the call contract's start (with
// admission, refusals and the caller audio that arrives meanwhile), taking its caller audio with the same checks
// on every wire, and naming its playback marks. A wire keeps only its message shapes.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { bytesPerSample, CodecError, type AudioFormat, type Encoding } from '../../audio/codec.js';
import { decodeBase64Audio } from '../../call/commands.js';
import { StartMessage } from '../../call/start.js';
import type { WireContext } from '../../call/wire.js';
import type { Logger } from '../../ops/log.js';
import { AdmissionBuffer } from './AdmissionBuffer.js';
import { BufferingFarEnd } from './BufferingFarEnd.js';
import type { MarkKind } from './HeardTracker.js';
import { MarkTable } from './MarkTable.js';
import { platformAuthorized } from './platformToken.js';

export interface MediaStreamOptions {
  /** Short wire name: logs, metrics, `call.init.wire`. */
  wire: string;
  /** What the platform sends first, for the start-timeout message. */
  startWhat: string;
  markEveryFrames: number;
  /**
   * The wire authenticates the upgrade itself (bearer, `?token=`, Basic, `tokenHeader`) because its platform cannot
   * send a bearer header; the gateway has let the upgrade through. Checked before a single message is read.
   */
  selfAuth?: boolean;
  /** A header of the platform's own that carries the token (Telnyx). */
  tokenHeader?: string;
}

/** The contract's start fields a platform's metadata may name; empty strings count as absent. */
export const CALL_FIELDS = ['callId', 'language', 'callType', 'callee', 'script', 'timeZone'] as const;

/** A platform's custom parameters as start fields: the known ones picked out (non-empty strings only), the rest kept. */
export function callFields(params: Record<string, unknown> | undefined): { fields: Record<string, string>; rest: Record<string, unknown> } {
  const fields: Record<string, string> = {};
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params ?? {})) {
    if ((CALL_FIELDS as readonly string[]).includes(k)) {
      if (typeof v === 'string' && v) fields[k] = v;
    } else if (k !== 'token') rest[k] = v;
  }
  return { fields, rest };
}

export abstract class MediaStream extends BufferingFarEnd {
  protected log: Logger;
  /** The call's audio format, from the moment the platform's start was accepted. */
  protected format: AudioFormat | null = null;
  private begun = false;
  private admitting = false;
  private readonly early = new AdmissionBuffer<Buffer>();
  private readonly marks = new MarkTable();
  readonly counters = { framesIn: 0, earlyAudio: 0, marksEchoed: 0, marksForeign: 0 };

  constructor(
    ws: WebSocket,
    req: IncomingMessage,
    gw: WireContext,
    protected readonly opts: MediaStreamOptions,
  ) {
    super(ws, req.socket, gw, opts.markEveryFrames);
    this.log = gw.log.child({ wire: opts.wire });
    if (opts.selfAuth && !platformAuthorized(gw.config.apiToken, req, opts.tokenHeader)) {
      this.closed = true;
      this.log.warn({ code: 'unauthorized' }, 'stream refused: no valid token (Bearer, ?token=, Basic password or platform header)');
      ws.close(4401, 'unauthorized');
      return;
    }
    this.attach(opts.wire, () => !this.begun, opts.startWhat);
  }

  /** The platform's start was accepted (the call exists or is being admitted). */
  protected get started(): boolean {
    return this.begun;
  }

  /**
   * Starts the call from the platform's metadata: `fields` are the contract's start fields (callId, callType,
   * language, callee, script, audio, and the platform's own under its name). Refusals end this stream only.
   */
  protected begin(fields: Record<string, unknown> & { audio: AudioFormat }): void {
    if (this.begun) return this.abort('already_started', 'this stream already started', 4400);
    this.begun = true;
    clearTimeout(this.startTimer);
    const m = StartMessage.safeParse({ ...fields, type: 'start' });
    if (!m.success) return this.abort('invalid_start', z.prettifyError(m.error), 4400);
    const refused = this.gw.refuseStart(m.data.callId);
    if (refused) return this.abort(refused.code, refused.message, refused.code === 'duplicate_call' ? 4409 : 1013);
    this.format = fields.audio;
    this.log = this.log.child({ callId: m.data.callId });
    this.admitting = true;
    void this.gw.startCall(m.data, this.opts.wire, this, () => this.closed).then((call) => {
      this.admitting = false;
      if (!call) return;
      this.call = call;
      for (const b of this.early.drain()) this.feed(b);
    });
  }

  /** A JSON text frame as an object, or null after ending the stream (malformed input ends this stream only). */
  protected parseJson(data: Buffer): Record<string, unknown> | null {
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      this.abort('malformed_json', 'text frame is not valid JSON', 4400);
      return null;
    }
    if (!msg || typeof msg !== 'object' || Array.isArray(msg)) {
      this.abort('invalid_message', 'text frame is not a JSON object', 4400);
      return null;
    }
    return msg as Record<string, unknown>;
  }

  /** Caller audio in the call's encoding: whole samples, at most `limits.maxInboundFrameMs`, held during admission. */
  protected inbound(bytes: Buffer): void {
    const fmt = this.format;
    if (!fmt) {
      if (!this.begun) this.abort('not_started', `audio before ${this.opts.startWhat}`, 4400);
      return;
    }
    const bps = bytesPerSample(fmt.encoding);
    if (bytes.length % bps !== 0) return this.abort('odd_length', `audio of ${bytes.length} bytes is not whole ${fmt.encoding} samples`, 4400);
    const ms = (bytes.length / bps / fmt.sampleRate) * 1000;
    const max = this.gw.config.limits.maxInboundFrameMs;
    if (ms > max) return this.abort('frame_too_long', `audio frame of ${Math.round(ms)} ms exceeds ${max} ms`, 4400);
    if (this.call) return this.feed(bytes);
    if (this.admitting) {
      this.counters.earlyAudio++;
      this.early.push(bytes, ms);
    }
  }

  /** Caller audio sent as base64 in a JSON message (Telnyx, Plivo, Exotel). */
  protected inboundBase64(payload: unknown): void {
    const bytes = typeof payload === 'string' ? decodeBase64Audio(payload) : null;
    if (!bytes) return this.abort('bad_base64', 'media payload is not valid base64', 4400);
    this.inbound(bytes);
  }

  private feed(bytes: Buffer): void {
    const call = this.call;
    if (!call || call.isEnded) return;
    this.counters.framesIn++;
    try {
      call.audio(bytes);
    } catch (e) {
      if (e instanceof CodecError) return this.abort(e.code, e.message, 4400);
      throw e;
    }
  }

  /** A keypad digit from the platform. */
  protected dtmf(digit: unknown): void {
    if (this.call && typeof digit === 'string' && /^[0-9*#A-D]$/.test(digit)) this.gw.command(this.call, { type: 'dtmf', digit });
  }

  /** The platform ended the stream (its `stop`): the call ends, or, before it exists, the stream. */
  protected farEndStopped(): void {
    if (this.call) {
      // A call already ending (hangup under way) closes this stream itself once its summary is out.
      if (!this.call.isEnded) void this.call.end('stop');
    } else this.close(1000, 'stop');
  }

  /** The name to send for a mark (short, ours); see `markEchoed`. */
  protected markName(endMs: number, kind: MarkKind, promptId: string): string {
    return this.marks.name({ promptId, endMs, kind });
  }

  /** The far end echoed a mark: the audio before it has played. Names that are not ours are counted and ignored. */
  protected markEchoed(name: unknown): void {
    const m = this.marks.take(name);
    if (!m) {
      this.counters.marksForeign++;
      return;
    }
    this.counters.marksEchoed++;
    if (this.call) this.heard.echoed(m.promptId, m.endMs, m.kind);
  }

  protected closeInfo(): Record<string, unknown> {
    return { ...this.counters };
  }
}

/** A string from a platform's message, or undefined when absent or empty. */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v ? v : typeof v === 'number' ? String(v) : undefined;
}

/** The call contract's encoding for a platform's codec name, if it is one earshot takes. */
export function encodingOf(name: string): Encoding | null {
  const n = name.toLowerCase();
  if (/^(pcmu|ulaw|mulaw|audio\/x-mulaw|g711u)$/.test(n)) return 'mulaw';
  if (/^(pcma|alaw|audio\/x-alaw|g711a)$/.test(n)) return 'alaw';
  return null;
}
