// Driving the telephony wires of issue #16 from a test: a call through a bench far-end fake (bench/wires/<platform>,
// written from the platform's documentation), a raw socket for what a broken or hostile far end sends, and the
// control API for commands.
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll } from 'vitest';
import WebSocket from 'ws';
import { encode } from '../../gateway/audio/codec.js';
import type { Gateway } from '../../gateway/Gateway.js';
import type { GatewayEvent, StartParams, Wire, WireCall } from '../../bench/wires/types.js';
import { startGateway } from './gateway.js';
import { until } from './until.js';

export interface DrivenCall {
  call: WireCall;
  events: (GatewayEvent & { wall: number })[];
  /** Prompt audio the far end received, in the run's encoding. */
  frames: { bytes: Uint8Array; wall: number }[];
  closes: { reason: string; summarySeen: boolean }[];
  /** Streams silence at real time until stopped. */
  silence(): () => void;
  waitFor(type: string, ms?: number): Promise<GatewayEvent & { wall: number }>;
}

export function params(callId: string, over: Partial<StartParams> = {}): StartParams {
  return { callId, language: 'zh', callType: 'notification', audio: { encoding: 'mulaw', sampleRate: 8000 }, callee: '+8613900000001', ...over };
}

/** Opens and starts a call through a bench wire (the platform's far end) against `base` (ws://host:port). */
export async function drive(wire: Wire, base: string, token: string | null, p: StartParams): Promise<DrivenCall> {
  const events: DrivenCall['events'] = [];
  const frames: DrivenCall['frames'] = [];
  const closes: DrivenCall['closes'] = [];
  const call = await wire.connect(base, {
    onEvent: (e, wall) => events.push({ ...e, wall }),
    onAudio: (f, wall) => frames.push({ bytes: Uint8Array.from(f), wall }),
    onClose: (reason) => closes.push({ reason, summarySeen: events.some((e) => e.type === 'call_summary') }),
  }, token);
  await call.start(p);
  const frame = encode(p.audio.encoding, new Int16Array(p.audio.sampleRate / 50));
  return {
    call,
    events,
    frames,
    closes,
    silence() {
      const t = setInterval(() => call.sendAudio(frame), 20);
      return () => clearInterval(t);
    },
    async waitFor(type, ms = 5000) {
      await until(() => events.some((e) => e.type === type), ms, type);
      return events.find((e) => e.type === type)!;
    },
  };
}

/** A tone prompt of `ms` in `p`'s encoding, base64. */
export function tone(p: StartParams, ms: number): string {
  const n = (p.audio.sampleRate * ms) / 1000;
  return Buffer.from(encode(p.audio.encoding, new Int16Array(n).map((_, i) => Math.round(4000 * Math.sin(i / 4))))).toString('base64');
}

/** A command through the control API (what a platform's application does for wires without a command channel). */
export async function command(http: string, token: string | null, callId: string, cmd: string, body: unknown = {}): Promise<number> {
  const r = await fetch(`${http}/v1/calls/${encodeURIComponent(callId)}/${cmd}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  await r.text();
  return r.status;
}

/** A raw socket on a wire's path, for what a broken far end sends. */
export class RawStream {
  readonly ws: WebSocket;
  readonly received: (string | Buffer)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string, opts: { protocol?: string; headers?: Record<string, string> } = {}) {
    this.ws = new WebSocket(url, opts.protocol ? [opts.protocol] : [], { headers: opts.headers });
    this.ws.on('message', (d: Buffer, bin: boolean) => this.received.push(bin ? d : d.toString('utf8')));
    this.ws.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  async open(): Promise<this> {
    if (this.ws.readyState !== WebSocket.OPEN) await new Promise<void>((resolve, reject) => (this.ws.once('open', () => resolve()), this.ws.once('error', reject)));
    return this;
  }

  send(m: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(typeof m === 'string' || Buffer.isBuffer(m) || m instanceof Uint8Array ? m : JSON.stringify(m));
  }
}

/** The wall time (this process's clock) at which the gateway emitted each event of call `callId`. */
export function serverEvents(gw: Gateway, callId: string): { type: string; wall: number; ev: Record<string, unknown> }[] {
  const out: { type: string; wall: number; ev: Record<string, unknown> }[] = [];
  const attach = () => {
    const c = gw.calls.get(callId);
    if (!c) return false;
    c.observe((ev) => out.push({ type: ev.type, wall: performance.now(), ev: ev as unknown as Record<string, unknown> }));
    return true;
  };
  if (!attach()) gw.calls.onStarted((c) => void (c.id === callId && attach()));
  return out;
}

/**
 * How far ahead of real time the far end's buffer got: the most audio received beyond the time elapsed since the
 * first frame, ms. The gateway paces at real time plus its lookahead (40 ms) and one write group (20 ms).
 */
export function maxLeadMs(frames: { bytes: Uint8Array; wall: number }[], bytesPerMs: number): number {
  let audio = 0;
  let lead = 0;
  for (const f of frames) {
    audio += f.bytes.byteLength / bytesPerMs;
    lead = Math.max(lead, audio - (f.wall - frames[0].wall));
  }
  return lead;
}

/** A gateway for one wire test file (no recogniser, no AudioSocket/gRPC listeners), started and stopped around it. */
export function useGateway(token: string): { gw: Gateway; base: string; http: string } {
  const g = {} as { gw: Gateway; base: string; http: string };
  beforeAll(async () => {
    const s = await startGateway({ asr: { model: '' }, apiToken: token, wires: { audiosocket: false, grpc: false } });
    Object.assign(g, { gw: s.gw, http: s.http, base: s.http.replace('http:', 'ws:') });
  }, 60_000);
  afterAll(async () => {
    await g.gw?.stop(0);
  });
  return g;
}
