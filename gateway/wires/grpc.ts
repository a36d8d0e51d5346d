// gRPC wire (proto/earshot/v1/earshot.proto): bidirectional StreamCall (first request = call config, later ones
// audio or commands; responses = the WebSocket protocol's events plus prompt audio), server-streaming Synthesize,
// GetEvidence, and the standard grpc.health.v1.Health service. Bearer token in metadata `authorization` when
// the gateway has an apiToken. Status codes: INVALID_ARGUMENT (bad first message, audio before config, bad
// command), RESOURCE_EXHAUSTED (message over limits.maxMessageBytes, at capacity, queue full), DEADLINE_EXCEEDED
// (no config within limits.startTimeoutMs), UNAUTHENTICATED, FAILED_PRECONDITION (no TTS / recogniser), NOT_FOUND.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CodecError, encode, ENCODINGS, type Encoding } from '../audio/codec.js';
import type { Call, CallEvent, CallSink } from '../call/Call.js';
import { parseCommand, isCommandError, type CallCommand, type CommandError, type CommandErrorKind } from '../call/commands.js';
import { StartMessage } from '../call/start.js';
import type { Wire, WireContext } from '../call/wire.js';
import { PROJECT_ROOT } from '../models.js';
import { tokenMatches } from '../ops/auth.js';
import type { Logger } from '../ops/log.js';
import { metrics } from '../ops/metrics.js';
import { clip, MAX_ERROR_MESSAGE } from '../ops/clientText.js';
import { messageBudget, RATE_LIMITED } from './shared/messageBudget.js';
import { failSlowConsumer } from './shared/slowConsumer.js';
import type { WiresConfig } from './config.js';

export const PROTO_DIR = join(PROJECT_ROOT, 'proto');
const LOADER_OPTS: protoLoader.Options = { keepCase: false, longs: Number, enums: String, defaults: false, oneofs: true, includeDirs: [PROTO_DIR] };

/** Both services' definitions (also used by clients and tests). */
export function loadProtos(): { earshot: grpc.GrpcObject; health: grpc.GrpcObject } {
  const def = protoLoader.loadSync(['earshot/v1/earshot.proto', 'grpc/health/v1/health.proto'], LOADER_OPTS);
  const root = grpc.loadPackageDefinition(def) as unknown as { earshot: { v1: grpc.GrpcObject }; grpc: { health: { v1: grpc.GrpcObject } } };
  return { earshot: root.earshot.v1, health: root.grpc.health.v1 };
}

/**
 * An event as a `CallResponse.event`: type, t and the JSON (v1), and the typed payload — the oneof field named after
 * the type (proto-loader's camelCase), holding the event's other fields as they are (their proto names are the JSON
 * keys in snake_case; a JSON null is left out, so the optional field is absent).
 */
export function eventMessage(ev: CallEvent): { type: string; t: number; json: string } & Record<string, unknown> {
  const { type, t, ...fields } = ev;
  const payloadKey = type.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  return { type, t: Math.round(t ?? 0), json: JSON.stringify(ev), [payloadKey]: fields };
}

type Status = { code: grpc.status; details: string };

/** TLS when the configuration names a certificate and key (and mutual TLS with a client CA); plaintext otherwise. */
function credentials(cfg: WiresConfig): grpc.ServerCredentials {
  if (!cfg.grpcTlsCert || !cfg.grpcTlsKey) return grpc.ServerCredentials.createInsecure();
  const ca = cfg.grpcTlsClientCa ? readFileSync(cfg.grpcTlsClientCa) : null;
  return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: readFileSync(cfg.grpcTlsCert), private_key: readFileSync(cfg.grpcTlsKey) }], !!ca);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
/** Responses (objects, not bytes) queued on a StreamCall before its client counts as not reading. */
const MAX_QUEUED_RESPONSES = 256;
const S = grpc.status;

/** A refused command's status, reported in its error event as `grpcStatus` (the stream goes on). */
const COMMAND_STATUS: Record<CommandErrorKind, grpc.status> = {
  invalid: S.INVALID_ARGUMENT,
  not_found: S.NOT_FOUND,
  busy: S.RESOURCE_EXHAUSTED,
  forbidden: S.PERMISSION_DENIED,
  unsupported: S.FAILED_PRECONDITION,
  conflict: S.FAILED_PRECONDITION,
};

interface Req {
  msg?: string;
  config?: {
    callId?: string;
    language?: string;
    callType?: string;
    audio?: { encoding?: string; sampleRate?: number };
    callee?: string;
    timeZone?: string;
    script?: string;
    bargeIn?: Record<string, number>;
  };
  audio?: Buffer;
  play?: { promptId?: string; audio?: Buffer; interruptible?: boolean };
  say?: { promptId?: string; text?: string; interruptible?: boolean; voice?: string; slots?: Record<string, string> };
  stopPrompt?: object;
  expectConsent?: { promptId?: string; windowMs?: number };
  hangup?: object;
  dtmf?: { digit?: string };
}

export class GrpcWire implements Wire {
  readonly name = 'grpc';
  private server: grpc.Server | null = null;
  private evidence: { ledger: Promise<import('../evidence/EvidenceLedger.js').EvidenceLedger>; close: () => Promise<void> } | null = null;
  private tts: import('../speak/tts/TtsRegistry.js').TtsRegistry | null = null;
  private streams = new Set<GrpcCall>();
  /** Health Watch streams and their tick; one timer serves them all while there are any. */
  private watches = new Map<object, () => void>();
  private watchTimer: NodeJS.Timeout | null = null;

  constructor(private readonly cfg: WiresConfig) {}

  async start(gw: WireContext): Promise<{ port: number } | void> {
    if (!this.cfg.grpc) return;
    const { earshot, health } = loadProtos();
    const max = gw.config.limits.maxMessageBytes;
    const server = new grpc.Server({
      'grpc.max_receive_message_length': max,
      'grpc.max_send_message_length': max,
      // One platform connection multiplexes its calls; no more streams on it than calls the gateway takes, plus room.
      'grpc.max_concurrent_streams': gw.config.limits.maxCalls + 64,
      // Connections without a stream for this long are closed.
      'grpc.max_connection_idle_ms': 5 * 60_000,
    });
    const authed = (md: grpc.Metadata): boolean => {
      const want = gw.config.apiToken;
      if (!want) return true;
      const h = String(md.get('authorization')[0] ?? '');
      return /^Bearer\s+/i.test(h) && tokenMatches(want, h.replace(/^Bearer\s+/i, '').trim());
    };
    const unauth: Status = { code: S.UNAUTHENTICATED, details: 'missing or invalid bearer token in metadata "authorization"' };

    server.addService((earshot.Earshot as grpc.ServiceClientConstructor).service, {
      StreamCall: (stream: grpc.ServerDuplexStream<Req, unknown>) => {
        if (!authed(stream.metadata)) return void stream.emit('error', unauth);
        const c = new GrpcCall(stream, gw);
        this.streams.add(c);
        stream.on('close', () => this.streams.delete(c));
      },
      Synthesize: (call: grpc.ServerWritableStream<{ text?: string; language?: string; voice?: string; audio?: { encoding?: string; sampleRate?: number } }, unknown>) => {
        if (!authed(call.metadata)) return void call.emit('error', unauth);
        void this.synthesize(gw, call);
      },
      GetEvidence: (call: grpc.ServerUnaryCall<{ id?: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (!authed(call.metadata)) return cb(unauth);
        const id = call.request.id ?? '';
        if (!id) return cb({ code: S.INVALID_ARGUMENT, details: 'id is required' });
        void (async () => {
          // Opened lazily: a gateway that never serves GetEvidence does not need the store (SQLite, or the fleet's).
          if (!this.evidence) {
            const { openEvidenceLedger } = await import('../evidence/open.js');
            this.evidence = openEvidenceLedger(gw.config);
          }
          const r = await (await this.evidence.ledger).get(id);
          if (!r) return cb({ code: S.NOT_FOUND, details: `no evidence record ${id}` });
          cb(null, { id: r.id, callId: r.callId, decision: r.decision, json: JSON.stringify(r) });
        })().catch((e: Error) => cb({ code: S.INTERNAL, details: e.message }));
      },
    });

    const status = (service: string): string | null => {
      if (service !== '' && service !== 'earshot.v1.Earshot') return null;
      return gw.serving ? 'SERVING' : 'NOT_SERVING';
    };
    server.addService((health.Health as grpc.ServiceClientConstructor).service, {
      Check: (call: grpc.ServerUnaryCall<{ service?: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const s = status(call.request.service ?? '');
        if (!s) return cb({ code: S.NOT_FOUND, details: `unknown service "${call.request.service}"` });
        cb(null, { status: s });
      },
      Watch: (call: grpc.ServerWritableStream<{ service?: string }, unknown>) => {
        // Bounded, and one timer for all of them: a stream per client used to cost a timer each, without limit.
        if (this.watches.size >= this.cfg.grpcMaxHealthWatches) {
          return void call.emit('error', { code: S.RESOURCE_EXHAUSTED, details: `more than ${this.cfg.grpcMaxHealthWatches} health watches` });
        }
        const w = { call, last: '' };
        const tick = () => {
          const s = status(call.request.service ?? '') ?? 'SERVICE_UNKNOWN';
          // A watcher that does not read gets no more than the transitions it has not taken yet.
          if (s !== w.last && call.writableLength < 16) call.write({ status: (w.last = s) });
        };
        tick();
        this.watches.set(call, tick);
        this.watchTimer ??= setInterval(() => {
          for (const t of this.watches.values()) t();
        }, 1000);
        const done = () => {
          this.watches.delete(call);
          if (!this.watches.size && this.watchTimer) {
            clearInterval(this.watchTimer);
            this.watchTimer = null;
          }
        };
        call.on('cancelled', done);
        call.on('close', done);
        call.on('error', done);
      },
    });

    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${this.cfg.grpcHost}:${this.cfg.grpcPort}`, credentials(this.cfg), (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.server = server;
    const tls = !!this.cfg.grpcTlsCert;
    gw.log.info({ host: this.cfg.grpcHost, port, tls, mutualTls: !!this.cfg.grpcTlsClientCa }, 'grpc listening');
    if (!tls && !isLoopback(this.cfg.grpcHost)) {
      gw.log.warn({ host: this.cfg.grpcHost }, 'gRPC listens beyond this host WITHOUT TLS: tokens and call audio cross the network in clear; set EARSHOT_GRPC_TLS_CERT/KEY or keep it on a private network');
    }
    return { port };
  }

  private async synthesize(gw: WireContext, call: grpc.ServerWritableStream<{ text?: string; language?: string; voice?: string; audio?: { encoding?: string; sampleRate?: number } }, unknown>): Promise<void> {
    const r = call.request;
    const language = r.language || 'zh';
    const encoding = (r.audio?.encoding || 'pcm16') as Encoding;
    const sampleRate = r.audio?.sampleRate || 16000;
    if (!r.text) return void call.emit('error', { code: S.INVALID_ARGUMENT, details: 'text is required' });
    if (language !== 'zh' && language !== 'en') return void call.emit('error', { code: S.INVALID_ARGUMENT, details: 'language must be zh or en' });
    if (!ENCODINGS.includes(encoding) || (sampleRate !== 8000 && sampleRate !== 16000)) {
      return void call.emit('error', { code: S.INVALID_ARGUMENT, details: 'audio must be pcm16/mulaw/alaw at 8000 or 16000' });
    }
    let engine: import('../speak/tts/TtsEngine.js').TtsEngine;
    try {
      if (!this.tts) {
        const { createTtsRegistry } = await import('../speak/createTts.js');
        this.tts = createTtsRegistry(gw.config);
      }
      engine = this.tts.pick({ engine: r.voice || undefined, language });
    } catch (e) {
      return void call.emit('error', { code: S.FAILED_PRECONDITION, details: `no TTS available: ${(e as Error).message}` });
    }
    try {
      for await (const pcm of engine.synthesize(r.text, { language, sampleRate, voice: r.voice || undefined })) {
        if (call.cancelled) return;
        call.write({ audio: Buffer.from(encode(encoding, pcm)), encoding, sampleRate });
      }
      call.end();
    } catch (e) {
      call.emit('error', { code: S.FAILED_PRECONDITION, details: `synthesis failed: ${(e as Error).message}` });
    }
  }

  async stop(): Promise<void> {
    await this.evidence?.close();
    this.evidence = null;
    const s = this.server;
    this.server = null;
    if (!s) return;
    for (const c of this.streams) c.abort({ code: S.UNAVAILABLE, details: 'gateway is shutting down' });
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = null;
    this.watches.clear();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => (s.forceShutdown(), resolve()), 1000);
      s.tryShutdown(() => (clearTimeout(t), resolve()));
    });
  }
}

/** One StreamCall: a CallSink whose audio and events become responses on the stream. */
class GrpcCall implements CallSink {
  private call: Call | null = null;
  private configured = false;
  private done = false;
  private log: Logger;
  private startTimer: NodeJS.Timeout;

  constructor(
    private readonly stream: grpc.ServerDuplexStream<Req, unknown>,
    private readonly gw: WireContext,
  ) {
    this.log = gw.log.child({ wire: 'grpc' });
    const budget = messageBudget(gw.config);
    stream.on('data', (req: Req) => {
      if (this.done) return;
      if (!budget.spend(64 + (req.audio?.length ?? 0) + (req.play?.audio?.length ?? 0), performance.now())) {
        return this.abort({ code: S.RESOURCE_EXHAUSTED, details: RATE_LIMITED.message });
      }
      try {
        this.onRequest(req);
      } catch (e) {
        this.log.error({ err: e }, 'grpc request handling failed');
        this.abort({ code: S.INTERNAL, details: (e as Error).message });
      }
    });
    stream.on('end', () => {
      // Client half-closed: the call is over from its side.
      if (this.call && !this.call.isEnded) void this.call.end('client_gone');
      else if (!this.call) this.finish();
    });
    stream.on('cancelled', () => {
      this.done = true;
      clearTimeout(this.startTimer);
      if (this.call && !this.call.isEnded) void this.call.end('client_gone');
    });
    stream.on('error', () => undefined);
    this.startTimer = setTimeout(() => {
      if (!this.configured) this.abort({ code: S.DEADLINE_EXCEEDED, details: `no config within ${gw.config.limits.startTimeoutMs} ms` });
    }, gw.config.limits.startTimeoutMs);
  }

  // --- CallSink ------------------------------------------------------------------------------------------------
  sendAudio(bytes: Uint8Array, meta: { promptId: string; offsetMs: number }): boolean {
    if (this.done) return true;
    if (this.stream.writableLength > MAX_QUEUED_RESPONSES) return false;
    this.stream.write({ audio: { promptId: meta.promptId, offsetMs: meta.offsetMs, audio: Buffer.from(bytes) } });
    return true;
  }

  sendEvent(ev: CallEvent): void {
    if (this.done || this.overflowed) return;
    // Events are checked like audio: a client that stops reading while its call makes events must not grow this.
    if (this.stream.writableLength > MAX_QUEUED_RESPONSES) return this.overflow();
    this.stream.write({ event: eventMessage(ev) });
  }

  private overflowed = false;

  private overflow(): void {
    this.overflowed = true;
    if (failSlowConsumer(this.call, 'client is not reading the stream fast enough')) return;
    this.abort({ code: S.RESOURCE_EXHAUSTED, details: 'client is not reading the stream' });
  }

  close(code: number, reason: string): void {
    if (this.done) return;
    if (code === 1000) return this.finish();
    const map: Record<number, grpc.status> = { 4403: S.PERMISSION_DENIED, 1013: S.RESOURCE_EXHAUSTED, 1008: S.RESOURCE_EXHAUSTED, 1001: S.UNAVAILABLE };
    this.abort({ code: map[code] ?? (code >= 4400 && code < 4500 ? S.INVALID_ARGUMENT : S.ABORTED), details: reason });
  }

  abort(full: Status): void {
    if (this.done) return;
    const st = { code: full.code, details: clip(full.details, MAX_ERROR_MESSAGE) };
    this.done = true;
    clearTimeout(this.startTimer);
    metrics.errors.inc({ code: `grpc_${S[st.code]}` });
    if (this.call && !this.call.isEnded) {
      this.call.emit({ type: 'error', code: S[st.code].toLowerCase(), message: st.details });
      void this.call.end(S[st.code].toLowerCase(), 4400);
    }
    this.stream.emit('error', st);
    this.stopReading();
  }

  /**
   * The stream has its answer: read no more of it. grpc-js decodes a client's messages only as they are asked for,
   * and stops once its status has gone out; but a client that does not read cannot take the status (it waits behind
   * the events in the window), and until then every message it goes on writing was decoded and dropped — ~0.2 s of
   * the event loop for the 100,000 of bench/attacks.ts `grpcNoRead`. Paused, it meets HTTP/2 flow control instead.
   */
  private stopReading(): void {
    this.stream.pause();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.startTimer);
    this.stream.end();
    this.stopReading();
  }

  // --- inbound -------------------------------------------------------------------------------------------------
  private onRequest(r: Req): void {
    if (this.done) return;
    const kind = r.msg ?? Object.keys(r).find((k) => k !== 'msg');
    if (!this.configured) {
      if (kind !== 'config' || !r.config) return this.abort({ code: S.INVALID_ARGUMENT, details: `first request must carry config, got ${kind ?? 'nothing'}` });
      return this.onConfig(r.config);
    }
    if (kind === 'config') return this.abort({ code: S.INVALID_ARGUMENT, details: 'config sent twice' });
    const call = this.call;
    if (!call) {
      // Admission (policy checks) is still running. Audio before `ready` is dropped, as on every wire; a command is
      // refused out loud rather than lost.
      if (kind !== 'audio') this.sendEvent({ type: 'error', code: 'not_ready', message: `"${String(kind)}" before "ready"`, t: 0 });
      return;
    }
    try {
      switch (kind) {
        case 'audio': {
          const b = r.audio ?? Buffer.alloc(0);
          const ms = (b.length / (call.format.encoding === 'pcm16' ? 2 : 1) / call.format.sampleRate) * 1000;
          if (ms > this.gw.config.limits.maxInboundFrameMs) return this.abort({ code: S.RESOURCE_EXHAUSTED, details: `audio of ${Math.round(ms)} ms exceeds ${this.gw.config.limits.maxInboundFrameMs} ms` });
          call.audio(b);
          return;
        }
        case 'play': {
          // The audio is already bytes here: no base64 on the way. proto3 bytes cannot be absent: empty audio plays
          // the recorded prompt uploaded under promptId.
          const promptId = r.play?.promptId ?? '';
          if (promptId.length < 1 || promptId.length > 128) {
            return this.sendEvent({ type: 'error', code: 'invalid_message', message: 'play.prompt_id must be 1–128 characters', t: call.t });
          }
          const audio = r.play?.audio;
          return this.command(call, { type: 'play', promptId, audio: audio && audio.length ? Buffer.from(audio) : null, interruptible: r.play?.interruptible ?? true });
        }
        case 'say':
          return this.parsed(call, 'say', { ...r.say, interruptible: r.say?.interruptible ?? true, voice: r.say?.voice || undefined });
        case 'stopPrompt':
          return this.command(call, { type: 'stop_prompt' });
        case 'expectConsent':
          return this.parsed(call, 'expect_consent', { promptId: r.expectConsent?.promptId || undefined, windowMs: r.expectConsent?.windowMs });
        case 'hangup':
          return this.command(call, { type: 'hangup' });
        case 'dtmf':
          return this.parsed(call, 'dtmf', { digit: r.dtmf?.digit });
        default:
          return this.abort({ code: S.INVALID_ARGUMENT, details: 'empty request' });
      }
    } catch (e) {
      if (e instanceof CodecError) return this.abort({ code: S.INVALID_ARGUMENT, details: e.message });
      throw e;
    }
  }

  /** A command from protobuf fields, validated as the JSON wires' are. */
  private parsed(call: Call, type: 'say' | 'expect_consent' | 'dtmf', fields: Record<string, unknown>): void {
    const cmd = parseCommand(fields, type);
    if (isCommandError(cmd)) return this.refused(call, cmd);
    this.command(call, cmd);
  }

  /** Commands that fail are reported as error events (as on the WebSocket); the call goes on. */
  private command(call: Call, cmd: CallCommand): void {
    const err = this.gw.command(call, cmd);
    if (err) this.refused(call, err);
  }

  private refused(call: Call, e: CommandError): void {
    this.sendEvent({ type: 'error', code: e.code, message: e.message, t: call.t, grpcStatus: S[COMMAND_STATUS[e.kind]] });
  }

  private onConfig(c: NonNullable<Req['config']>): void {
    const b = c.bargeIn ?? {};
    const s = StartMessage.safeParse({
      type: 'start',
      callId: c.callId,
      language: c.language || undefined,
      callType: c.callType || undefined,
      audio: { encoding: c.audio?.encoding, sampleRate: c.audio?.sampleRate },
      callee: c.callee || undefined,
      timeZone: c.timeZone || undefined,
      script: c.script || undefined,
      bargeIn: Object.keys(b).length ? b : undefined,
    });
    if (!s.success) return this.abort({ code: S.INVALID_ARGUMENT, details: `invalid config: ${s.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` });
    const refused = this.gw.refuseStart(s.data.callId);
    if (refused) return this.abort({ code: refused.code === 'duplicate_call' ? S.ALREADY_EXISTS : refused.code === 'capacity' ? S.RESOURCE_EXHAUSTED : S.UNAVAILABLE, details: refused.message });
    this.configured = true;
    clearTimeout(this.startTimer);
    this.log = this.log.child({ callId: s.data.callId });
    void this.gw.startCall(s.data, 'grpc', this, () => this.done).then((call) => {
      if (call) this.call = call;
    });
  }
}
