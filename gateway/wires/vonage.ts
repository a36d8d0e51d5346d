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
import type { Call, CallEvent, CallSink } from '../call/Call.js';
import type { Gateway, WsWire } from '../Gateway.js';
import type { Logger } from '../ops/log.js';
import { metrics } from '../ops/metrics.js';
import { AdmissionBuffer, refuseStart } from './common.js';
import type { WiresConfig } from './config.js';
import { HeardTracker, type MarkKind } from './HeardTracker.js';
import { startCall, StartMessage } from './native.js';

const Connected = z
  .object({
    event: z.literal('websocket:connected'),
    'content-type': z.string().regex(/^audio\/l16;\s*rate=(8000|16000)$/i, 'audio/l16;rate=16000 or audio/l16;rate=8000'),
  })
  .passthrough();


export class VonageWire implements WsWire {
  readonly path = '/v1/vonage';
  constructor(private readonly cfg: WiresConfig) {}
  onConnection(ws: WebSocket, req: IncomingMessage, gw: Gateway): void {
    new VonageConnection(ws, gw, this.cfg);
  }
}

class VonageConnection implements CallSink {
  private call: Call | null = null;
  private meta: Record<string, unknown> | null = null;
  private rate = 16000;
  private closed = false;
  private log: Logger;
  private startTimer: NodeJS.Timeout;
  private heard: HeardTracker;
  readonly counters = { framesIn: 0, framesOut: 0, earlyAudio: 0, notifiesSent: 0, notifiesEchoed: 0, clears: 0 };
  /** Audio that arrives during admission, replayed once the call exists. */
  private readonly early = new AdmissionBuffer<Buffer>();

  constructor(
    private readonly ws: WebSocket,
    private readonly gw: Gateway,
    private readonly cfg: WiresConfig,
  ) {
    this.log = gw.log.child({ wire: 'vonage' });
    this.heard = new HeardTracker(cfg.twilioMarkEveryFrames, (end, kind, id) => this.notify(end, kind, id), (ev) => this.call?.emit(ev));
    ws.on('message', (data, isBinary) => {
      try {
        this.onMessage(data as Buffer, isBinary);
      } catch (e) {
        this.log.error({ err: e }, 'vonage message handling failed');
        this.abort('internal', (e as Error).message, 1011);
      }
    });
    ws.on('close', () => {
      this.closed = true;
      clearTimeout(this.startTimer);
      if (this.call && !this.call.isEnded) void this.call.end('client_gone');
    });
    ws.on('error', (e) => this.log.warn({ err: e.message }, 'socket error'));
    this.startTimer = setTimeout(() => {
      if (!this.meta) this.abort('start_timeout', `no websocket:connected within ${gw.config.limits.startTimeoutMs} ms`, 4408);
    }, gw.config.limits.startTimeoutMs);
  }

  // --- CallSink ------------------------------------------------------------------------------------------------
  sendAudio(bytes: Uint8Array, meta: { promptId: string; offsetMs: number }): boolean {
    if (this.closed) return true;
    if (this.ws.bufferedAmount > this.gw.config.playout.maxSocketBufferBytes) return false;
    this.ws.send(bytes, { binary: true });
    this.counters.framesOut++;
    this.heard.frameSent(meta.promptId, meta.offsetMs);
    return true;
  }

  sendEvent(ev: CallEvent): void {
    if (ev.type === 'prompt_finished') {
      this.heard.finished(String(ev.promptId), !!ev.interrupted, Number(ev.playedMs) || 0, (id) => this.clearAudio(id));
    } else if (ev.type === 'error') {
      this.log.warn({ code: ev.code }, String(ev.message ?? 'call error'));
    }
  }

  clearAudio(promptId: string): void {
    if (this.closed) return;
    this.counters.clears++;
    this.sendText({ action: 'clear' });
    this.heard.cleared(promptId);
  }

  close(code: number, reason: string): void {
    if (this.call) this.gw.unregisterCall(this.call);
    this.log.info({ reason, ...this.counters }, 'vonage socket closed');
    if (!this.closed) {
      this.closed = true;
      this.ws.close(code === 1000 ? 1000 : Math.max(code, 1000), reason.slice(0, 100));
    }
  }

  // --- inbound -------------------------------------------------------------------------------------------------
  private sendText(obj: unknown): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(JSON.stringify(obj));
  }

  private notify(endMs: number, kind: MarkKind, promptId: string): void {
    this.counters.notifiesSent++;
    this.sendText({ action: 'notify', payload: { earshot: 'mark', promptId, endMs, kind } });
  }

  private abort(code: string, message: string, closeCode: number): void {
    metrics.errors.inc({ code });
    this.log.warn({ code }, message);
    if (this.call && !this.call.isEnded) {
      this.call.emit({ type: 'error', code, message });
      void this.call.end(code, closeCode);
      return;
    }
    if (!this.closed) {
      this.closed = true;
      this.ws.close(closeCode, `${code}: ${message}`.slice(0, 120));
    }
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
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
        if (this.call && /^[0-9*#A-D]$/.test(digit)) this.gw.commands.dtmf?.(this.call, digit);
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
    const refused = refuseStart(this.gw, s.data.callId);
    if (refused) return this.abort(refused.code, refused.message, refused.code === 'duplicate_call' ? 4409 : 1013);
    this.log = this.log.child({ callId: s.data.callId });
    void startCall(this.gw, s.data, 'vonage', this, () => this.closed).then((call) => {
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
