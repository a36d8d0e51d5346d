// Vonage Voice API WebSocket (NCCO `connect` to a `websocket` endpoint) at /v1/vonage. The first text frame is JSON
// metadata: {"event":"websocket:connected","content-type":"audio/l16;rate=16000", …the endpoint's custom headers};
// then binary frames of raw 16-bit linear PCM, little-endian (as Vonage's own examples write it), 16 or 8 kHz per
// the content-type, 20 ms each. Prompt audio goes back the same way. Text commands to Vonage:
// {"action":"clear"} on barge-in (Vonage buffers what it is sent), and {"action":"notify","payload":{…}} marks,
// which Vonage answers with {"event":"websocket:notify","payload":{…}} once the audio before them has played —
// that gives `prompt_heard {promptId, heardMs}` like the Twilio wire. Auth: the gateway's bearer token at the
// upgrade (Vonage endpoints can carry ?token= in the URI).
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { CodecError } from '../audio/codec.js';
import { StartMessage } from '../call/start.js';
import type { Wire, WireContext } from '../call/wire.js';
import type { Logger } from '../ops/log.js';
import type { WiresConfig } from './config.js';
import { AdmissionBuffer } from './shared/AdmissionBuffer.js';
import { BufferingFarEnd } from './shared/BufferingFarEnd.js';
import type { MarkKind } from './shared/HeardTracker.js';

const Connected = z
  .object({
    event: z.literal('websocket:connected'),
    'content-type': z.string().regex(/^audio\/l16;\s*rate=(8000|16000)$/i, 'audio/l16;rate=16000 or audio/l16;rate=8000'),
  })
  .passthrough();


export class VonageWire implements Wire {
  readonly name = 'vonage';
  readonly path = '/v1/vonage';
  /** Vonage sends 20 ms of L16 per binary frame and small JSON: its cap is far below the native protocol's. */
  readonly maxPayload: number;
  constructor(
    private readonly cfg: WiresConfig,
    maxPayload: number,
  ) {
    this.maxPayload = maxPayload;
  }
  connect(ws: WebSocket, req: IncomingMessage, ctx: WireContext): void {
    new VonageConnection(ws, req, ctx, this.cfg);
  }
}

class VonageConnection extends BufferingFarEnd {
  private meta: Record<string, unknown> | null = null;
  private rate = 16000;
  protected log: Logger;
  readonly counters = { framesIn: 0, earlyAudio: 0, notifiesEchoed: 0 };
  /** Audio that arrives during admission, replayed once the call exists. */
  private readonly early = new AdmissionBuffer<Buffer>();

  constructor(ws: WebSocket, req: IncomingMessage, gw: WireContext, cfg: WiresConfig) {
    super(ws, req.socket, gw, cfg.twilioMarkEveryFrames);
    this.log = gw.log.child({ wire: 'vonage' });
    this.attach('vonage', () => !this.meta, 'websocket:connected');
  }

  // --- far end ------------------------------------------------------------------------------------------------
  protected writeAudio(bytes: Uint8Array): void {
    this.sendBinary(bytes);
  }

  protected writeClear(): void {
    this.sendJson({ action: 'clear' });
  }

  protected writeMark(endMs: number, kind: MarkKind, promptId: string): void {
    this.sendJson({ action: 'notify', payload: { earshot: 'mark', promptId, endMs, kind } });
  }

  protected closeInfo(): Record<string, unknown> {
    return { ...this.counters };
  }

  // --- inbound -------------------------------------------------------------------------------------------------

  protected onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) return this.onAudio(data);
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      return this.abort('malformed_json', 'text frame is not valid JSON', 4400);
    }
    if (!msg || typeof msg !== 'object' || typeof msg.event !== 'string') return this.abort('invalid_message', 'text frame has no "event"', 4400);
    switch (msg.event) {
      case 'websocket:connected':
        return this.onConnected(msg);
      case 'websocket:notify': {
        const p = msg.payload as { earshot?: string; promptId?: string; endMs?: number; kind?: string } | undefined;
        if (p?.earshot === 'mark' && typeof p.promptId === 'string') this.onNotify(p.promptId, Number(p.endMs) || 0, String(p.kind));
        return;
      }
      case 'websocket:dtmf': {
        const digit = String((msg.digit ?? (msg.dtmf as { digit?: string } | undefined)?.digit) ?? '');
        if (this.call && /^[0-9*#A-D]$/.test(digit)) this.gw.command(this.call, { type: 'dtmf', digit });
        return;
      }
      default:
        this.log.debug({ event: msg.event }, 'ignoring unknown Vonage event');
    }
  }

  private onConnected(raw: Record<string, unknown>): void {
    if (this.meta) return this.abort('already_started', 'second websocket:connected', 4400);
    const m = Connected.safeParse(raw);
    if (!m.success) return this.abort('unsupported_audio', z.prettifyError(m.error), 4400);
    this.meta = m.data;
    clearTimeout(this.startTimer);
    this.rate = /rate=8000/i.test(m.data['content-type']) ? 8000 : 16000;
    const str = (k: string) => (typeof raw[k] === 'string' && raw[k] ? (raw[k] as string) : undefined);
    const callId = str('callId') ?? str('uuid') ?? `vonage-${randomUUID()}`;
    const s = StartMessage.safeParse({
      type: 'start',
      callId,
      language: str('language'),
      callType: str('callType'),
      callee: str('callee'),
      script: str('script'),
      audio: { encoding: 'pcm16', sampleRate: this.rate },
      vonage: Object.fromEntries(Object.entries(raw).filter(([k]) => !['event', 'token', 'authorization'].includes(k))),
    });
    if (!s.success) return this.abort('invalid_start', z.prettifyError(s.error), 4400);
    const refused = this.gw.refuseStart(s.data.callId);
    if (refused) return this.abort(refused.code, refused.message, refused.code === 'duplicate_call' ? 4409 : 1013);
    this.log = this.log.child({ callId: s.data.callId });
    void this.gw.startCall(s.data, 'vonage', this, () => this.closed).then((call) => {
      if (!call) return;
      this.call = call;
      for (const b of this.early.drain()) this.onAudio(b);
    });
  }

  private onNotify(promptId: string, endMs: number, kind: string): void {
    this.counters.notifiesEchoed++;
    if (this.call) this.heard.echoed(promptId, endMs, kind);
  }

  private onAudio(data: Buffer): void {
    if (!this.meta) return this.abort('not_started', 'audio before websocket:connected', 4400);
    if (data.length % 2 !== 0) return this.abort('odd_length', `L16 frame of ${data.length} bytes is not whole samples`, 4400);
    const ms = (data.length / 2 / this.rate) * 1000;
    if (ms > this.gw.config.limits.maxInboundFrameMs) return this.abort('frame_too_long', `audio frame of ${Math.round(ms)} ms`, 4400);
    const call = this.call;
    if (!call) {
      this.counters.earlyAudio++;
      this.early.push(data, ms);
      return;
    }
    if (call.isEnded) return;
    this.counters.framesIn++;
    try {
      call.audio(data);
    } catch (e) {
      if (e instanceof CodecError) return this.abort(e.code, e.message, 4400);
      throw e;
    }
  }
}
