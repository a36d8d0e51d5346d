// earshot's own WebSocket protocol (v1), documented in docs/protocol.md. Text frames are JSON commands and events;
// binary frames are audio in the negotiated encoding.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { bytesPerSample, CodecError, ENCODINGS, SAMPLE_RATES } from '../audio/codec.js';
import { Call, type CallEvent, type CallSink } from '../call/Call.js';
import type { CallCommands, Gateway, WsWire } from '../Gateway.js';
import { clip, closeReason, failSlowConsumer, MAX_ERROR_MESSAGE, messageBudget, playBytes, RATE_LIMITED, refuseStart } from './common.js';
import { WriteGroup } from './WriteGroup.js';
import { callLogger, type Logger } from '../ops/log.js';
import { metrics } from '../ops/metrics.js';

export const StartMessage = z
  .object({
    type: z.literal('start'),
    callId: z.string().min(1).max(128).regex(/^[\w.:@-]+$/, 'letters, digits and . _ : @ - only'),
    language: z.enum(['zh', 'en']).default('zh'),
    callType: z.enum(['marketing', 'notification']).default('marketing'),
    audio: z.object({
      encoding: z.enum(ENCODINGS as unknown as [string, ...string[]]),
      sampleRate: z.number().refine((r) => (SAMPLE_RATES as readonly number[]).includes(r), 'sampleRate must be 8000 or 16000'),
    }),
    callee: z.string().max(32).optional(),
    timeZone: z.string().optional(),
    script: z.string().optional(),
    bargeIn: z
      .object({
        pauseThreshold: z.number().min(0).max(1),
        pauseMinSpeechMs: z.number().int().min(0).max(1000),
        commitMinSpeechMs: z.number().int().min(32).max(3000),
        resumeAfterSilenceMs: z.number().int().min(32).max(3000),
      })
      .partial()
      .optional(),
  })
  .passthrough();
export type StartMessage = z.infer<typeof StartMessage>;

export const Play = z.object({
  type: z.literal('play'),
  promptId: z.string().min(1).max(128),
  /** Omitted: play the recorded prompt uploaded under promptId. */
  audio: z.string().min(1).optional(),
  interruptible: z.boolean().default(true),
});
export const Say = z.object({
  type: z.literal('say'),
  promptId: z.string().min(1).max(128),
  text: z.string().min(1).max(2000),
  interruptible: z.boolean().default(true),
  voice: z.string().optional(),
  slots: z.record(z.string(), z.string()).optional(),
});
export const ExpectConsent = z.object({ type: z.literal('expect_consent'), promptId: z.string().max(128).optional(), windowMs: z.number().int().min(500).max(60000).optional() });
const Simple = z.object({ type: z.enum(['stop_prompt', 'hangup']) });
export const Dtmf = z.object({ type: z.literal('dtmf'), digit: z.string().regex(/^[0-9*#A-D]$/) });

export type SayMessage = z.infer<typeof Say>;


/**
 * Strict base64: Node's decoder silently skips invalid characters, so a corrupt payload is caught by checking that
 * re-encoding the decoded bytes gives the input back (linear and native, unlike a regex over a 2 MB prompt).
 */
export function decodeBase64Audio(s: string): Buffer | null {
  if (s.length % 4 !== 0) return null;
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const bytes = Buffer.from(s, 'base64');
  // Node's decoder skips characters outside the alphabet and stops at an early '=': either leaves fewer bytes than
  // the length promises. Cheaper than re-encoding and comparing, which cost ~2 ms per 200 KB prompt.
  return bytes.length === (s.length / 4) * 3 - pad ? bytes : null;
}

export class NativeWire implements WsWire {
  readonly path = '/v1/stream';

  onConnection(ws: WebSocket, req: IncomingMessage, gw: Gateway): void {
    new NativeConnection(ws, req, gw, gw.commands);
  }
}

class NativeConnection implements CallSink {
  private call: Call | null = null;
  private log: Logger;
  private startTimer: NodeJS.Timeout;
  private closed = false;
  /** The client stopped reading: nothing more is queued for it, the call is being failed. */
  private overflowed = false;
  /** The client sent too much: nothing more is read from it, and its socket goes shortly after the close frame. */
  private cutOff = false;
  private readonly writes: WriteGroup;

  constructor(
    private readonly ws: WebSocket,
    req: IncomingMessage,
    private readonly gw: Gateway,
    private readonly commands: CallCommands,
  ) {
    this.writes = new WriteGroup(req.socket);
    this.log = gw.log.child({ wire: 'native' });
    const budget = messageBudget(gw.config);
    ws.on('message', (data, isBinary) => {
      if (this.closed || this.overflowed) return;
      if (!budget.spend((data as Buffer).length, performance.now())) {
        // Read nothing more from it; the error and the close frame still go out before the socket does.
        this.cutOff = true;
        req.socket.pause();
        return this.fatal(RATE_LIMITED.code, RATE_LIMITED.message, 1008);
      }
      try {
        this.onMessage(data as Buffer, isBinary);
      } catch (e) {
        this.log.error({ err: e, callId: this.call?.id }, 'message handling failed');
        this.error('internal', (e as Error).message);
      }
    });
    ws.on('close', () => {
      this.closed = true;
      clearTimeout(this.startTimer);
      if (this.call && !this.call.isEnded) void this.call.end('client_gone');
    });
    ws.on('error', (e) => this.log.warn({ err: e.message, callId: this.call?.id }, 'socket error'));
    this.startTimer = setTimeout(() => {
      if (!this.call) {
        this.error('start_timeout', `no start message within ${gw.config.limits.startTimeoutMs} ms`);
        ws.close(4408, 'start timeout');
      }
    }, gw.config.limits.startTimeoutMs);
  }

  // --- CallSink --------------------------------------------------------------------------------------------------
  sendAudio(bytes: Uint8Array): boolean {
    if (this.closed) return true;
    if (this.ws.bufferedAmount > this.gw.config.playout.maxSocketBufferBytes) return false;
    this.writes.hold(bytes.length);
    this.ws.send(bytes, { binary: true });
    return true;
  }
  flushAudio(): void {
    this.writes.flush();
  }
  sendEvent(ev: CallEvent): void {
    this.send(ev);
  }
  close(code: number, reason: string): void {
    if (this.call) this.gw.unregisterCall(this.call);
    if (!this.closed) {
      this.closed = true;
      // Let queued events (call_summary) flush before closing; a client that is not reading gets no handshake.
      if (this.overflowed) this.ws.terminate();
      else {
        this.ws.close(code === 1000 ? 1000 : code, closeReason(reason));
        // A paused socket would never read the client's closing handshake: do not wait 30 s for it.
        if (this.cutOff) setTimeout(() => this.ws.terminate(), 500).unref();
      }
    }
  }

  /** Every event and error goes through here: the socket's buffer is checked on each, not only for audio. */
  private send(obj: unknown): void {
    if (this.closed || this.overflowed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.gw.config.playout.maxSocketBufferBytes) return this.overflow();
    this.ws.send(JSON.stringify(obj));
  }

  /** The client is not reading what it is sent: its call fails as a slow consumer, or the connection goes. */
  private overflow(): void {
    this.overflowed = true;
    if (failSlowConsumer(this.call, 'client is not reading events fast enough')) return;
    metrics.errors.inc({ code: 'slow_consumer' });
    this.log.warn({ callId: this.call?.id }, 'client is not reading: connection dropped');
    this.closed = true;
    this.ws.terminate();
  }

  /** Ends the call (or, before one, the connection) with an error. */
  private fatal(code: string, message: string, closeCode: number): void {
    const call = this.call;
    if (call && !call.isEnded) return call.fail(code, message, closeCode);
    this.error(code, message);
    this.close(closeCode, code);
  }

  private error(code: string, message: string): void {
    metrics.errors.inc({ code });
    this.send({ type: 'error', code, message: clip(message, MAX_ERROR_MESSAGE), t: this.call?.t ?? 0 });
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) return this.onAudio(data);
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      return this.error('malformed_json', 'text frame is not valid JSON');
    }
    const type = (msg as { type?: unknown })?.type;
    if (typeof type !== 'string') return this.error('invalid_message', 'message has no "type"');
    if (type === 'start') return this.onStart(msg);
    const call = this.call;
    if (!call) return this.error('not_started', `"${clip(type)}" before "start"`);
    switch (type) {
      case 'play':
        return this.onPlay(msg);
      case 'say': {
        const m = Say.safeParse(msg);
        if (!m.success) return this.error('invalid_message', z.prettifyError(m.error));
        if (!this.commands.say) return this.error('tts_unavailable', 'speech synthesis is not configured on this gateway');
        this.commands.say(call, m.data).catch((e: Error & { code?: string }) => this.error(e.code ?? 'say_failed', e.message));
        return;
      }
      case 'expect_consent': {
        const m = ExpectConsent.safeParse(msg);
        if (!m.success) return this.error('invalid_message', z.prettifyError(m.error));
        if (!this.commands.expectConsent) return this.error('consent_unavailable', 'no recogniser is configured: consent cannot be decided');
        try {
          this.commands.expectConsent(call, m.data);
        } catch (e) {
          this.error((e as { code?: string }).code ?? 'consent_failed', (e as Error).message);
        }
        return;
      }
      case 'dtmf': {
        const m = Dtmf.safeParse(msg);
        if (!m.success) return this.error('invalid_message', z.prettifyError(m.error));
        return this.commands.dtmf?.(call, m.data.digit);
      }
      case 'stop_prompt':
      case 'hangup': {
        Simple.parse(msg);
        if (type === 'stop_prompt') return call.stopPrompt();
        void call.end('hangup');
        return;
      }
      default:
        return this.error('unknown_message', `unknown message type "${clip(type)}"`);
    }
  }

  private onStart(raw: unknown): void {
    if (this.call) return this.error('already_started', 'this connection already carries a call');
    const m = StartMessage.safeParse(raw);
    if (!m.success) {
      const fmt = m.error.issues.some((i) => i.path[0] === 'audio');
      this.error(fmt ? 'unsupported_audio' : 'invalid_start', z.prettifyError(m.error));
      this.ws.close(4400, fmt ? 'unsupported audio format' : 'invalid start');
      return;
    }
    const s = m.data;
    // The same checks as every wire, so an event stream awaiting this id learns the refusal too.
    const refused = refuseStart(this.gw, s.callId);
    if (refused?.code === 'duplicate_call') {
      this.error('duplicate_call', refused.message);
      this.ws.close(4409, 'duplicate call');
      return;
    }
    if (refused) {
      this.send({ type: 'rejected', callId: s.callId, reason: refused.code });
      this.ws.close(1013, refused.code === 'shutting_down' ? 'shutting down' : 'at capacity');
      return;
    }
    clearTimeout(this.startTimer);
    void startCall(this.gw, s, 'native', this, () => this.closed).then((call) => {
      if (call) this.call = call;
    });
  }

  private onPlay(raw: unknown): void {
    const call = this.call!;
    const m = Play.safeParse(raw);
    if (!m.success) return this.error('invalid_message', z.prettifyError(m.error));
    const bytes = m.data.audio === undefined ? null : decodeBase64Audio(m.data.audio);
    if (m.data.audio !== undefined && !bytes) return this.error('bad_base64', 'play.audio is not valid base64');
    const err = playBytes(this.gw, call, { promptId: m.data.promptId, bytes, interruptible: m.data.interruptible });
    if (err) this.error(err.code, err.message);
  }

  private onAudio(data: Buffer): void {
    const call = this.call;
    if (!call) return this.error('not_started', 'audio before "start"');
    const bps = bytesPerSample(call.format.encoding);
    const ms = (data.length / bps / call.format.sampleRate) * 1000;
    if (ms > this.gw.config.limits.maxInboundFrameMs) {
      return this.error('frame_too_long', `audio frame of ${Math.round(ms)} ms exceeds ${this.gw.config.limits.maxInboundFrameMs} ms; frame dropped`);
    }
    try {
      call.audio(data);
    } catch (e) {
      if (e instanceof CodecError) return this.error(e.code, `${e.message}; frame dropped`);
      throw e;
    }
  }
}

/**
 * Creates a call from a validated start message, runs the start hooks (policy, scripts) and answers `ready` or
 * `rejected`. Shared by every wire.
 */
export async function startCall(gw: Gateway, s: StartMessage, wire: string, sink: CallSink, gone: () => boolean = () => false): Promise<Call | null> {
  const log = callLogger(s.callId, wire);
  for (const p of gw.plugins) {
    const verdict = await p.admit?.(s, gw);
    if (verdict && !verdict.ok) {
      log.info({ reason: verdict.reason }, 'call rejected at start');
      gw.announceRejected(s.callId, verdict.reason);
      sink.sendEvent({ type: 'rejected', callId: s.callId, reason: verdict.reason, t: 0 });
      sink.close(4403, 'rejected');
      return null;
    }
  }
  // Admission may await storage: a client that left meanwhile gets no call at all.
  if (gone()) return null;
  const call = new Call(
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
    { config: gw.config, listen: gw.listen, pacer: gw.pacer, log },
    sink,
  );
  gw.registerCall(call);
  log.info({ format: s.audio, callType: s.callType, language: s.language }, 'call started');
  sink.sendEvent({ type: 'ready', callId: s.callId, t: 0 });
  return call;
}
