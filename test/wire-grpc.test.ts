// gRPC wire, end to end with a grpc-js client: StreamCall with config → play → first prompt audio → caller audio at
// real time → barge_in in the response stream; status codes for bad streams; health, Synthesize, GetEvidence.
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '../gateway/audio/codec.js';
import type { Gateway } from '../gateway/Gateway.js';
import { loadProtos } from '../gateway/wires/grpc.js';
import { wirePorts } from '../gateway/wires/index.js';
import { AUDIO_DIR, labels, wireAudio } from './helpers/corpus.js';
import { startGateway } from './helpers/gateway.js';
import { until } from './helpers/until.js';

const TOKEN = 'grpc-test-token';
let gw: Gateway;
let http: string;
let client: grpc.Client & Record<string, (...a: unknown[]) => unknown>;
let health: grpc.Client & Record<string, (...a: unknown[]) => unknown>;

const md = (token = TOKEN) => {
  const m = new grpc.Metadata();
  if (token) m.set('authorization', `Bearer ${token}`);
  return m;
};

type Ev = { type: string; t: number; at: number; [k: string]: unknown };

class GrpcTestCall {
  readonly stream: grpc.ClientDuplexStream<unknown, { event?: { type: string; t: number; json: string }; audio?: { promptId: string; audio: Buffer } }>;
  readonly events: Ev[] = [];
  readonly frames: { at: number }[] = [];
  readonly status: Promise<grpc.StatusObject | grpc.ServiceError>;
  private waiters: { type: string; r: (e: Ev) => void }[] = [];
  private onFirst?: () => void;

  constructor(token = TOKEN) {
    this.stream = (client.StreamCall as (m: grpc.Metadata) => typeof this.stream)(md(token));
    this.status = new Promise((resolve) => {
      this.stream.on('status', (s) => resolve(s));
      this.stream.on('error', (e) => resolve(e as grpc.ServiceError));
    });
    this.stream.on('data', (r) => {
      const at = performance.now();
      if (r.audio) {
        this.frames.push({ at });
        if (this.frames.length === 1) this.onFirst?.();
      } else if (r.event) {
        const ev = { ...JSON.parse(r.event.json), at } as Ev;
        this.events.push(ev);
        this.waiters = this.waiters.filter((w) => (w.type === ev.type ? (w.r(ev), false) : true));
      }
    });
  }
  waitFor(type: string, ms = 10000): Promise<Ev> {
    const f = this.events.find((e) => e.type === type);
    if (f) return Promise.resolve(f);
    return new Promise((r, j) => {
      const t = setTimeout(() => j(new Error(`no ${type}; got ${this.events.map((e) => e.type)}`)), ms);
      this.waiters.push({ type, r: (e) => (clearTimeout(t), r(e)) });
    });
  }
  firstFrame(): Promise<void> {
    return this.frames.length ? Promise.resolve() : new Promise((r) => (this.onFirst = r));
  }
  write(req: unknown): void {
    this.stream.write(req);
  }
  async streamAudio(samples: Int16Array, rate: number): Promise<void> {
    const n = rate / 50;
    const t0 = performance.now();
    for (let i = 0, k = 0; i < samples.length; i += n, k++) {
      this.write({ audio: Buffer.from(encode('pcm16', samples.subarray(i, i + n))) });
      const wait = t0 + (k + 1) * 20 - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
  }
}

beforeAll(async () => {
  const g = await startGateway({ asr: { model: '' }, apiToken: TOKEN, limits: { maxMessageBytes: 512 * 1024, startTimeoutMs: 800 }, wires: { grpcPort: 0, grpcHost: '127.0.0.1' } });
  gw = g.gw;
  http = g.http;
  const port = wirePorts(gw).grpc!;
  const { earshot, health: h } = loadProtos();
  const Ctor = earshot.Earshot as grpc.ServiceClientConstructor;
  client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as never;
  health = new (h.Health as grpc.ServiceClientConstructor)(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as never;
}, 60_000);

afterAll(async () => {
  client?.close();
  health?.close();
  await gw?.stop(0);
});

describe('grpc wire', () => {
  it('barge-in over StreamCall: pause within 150 ms of onset, prompt audio stops', async () => {
    const scen = labels().filter((l) => l.file === 'bargein/s01_caller.wav' || l.file === 'bargein/s06_caller.wav');
    const rows = await Promise.all(
      scen.map(async (l, i) => {
        await new Promise((r) => setTimeout(r, i * 40));
        const c = new GrpcTestCall();
        c.write({ config: { callId: `grpc-${l.file.slice(9, 12)}`, language: 'zh', callType: 'notification', audio: { encoding: 'pcm16', sampleRate: 16000 } } });
        await c.waitFor('ready');
        const prompt = wireAudio(l.promptFile!);
        c.write({ play: { promptId: 'p', audio: Buffer.from(encode('pcm16', prompt.samples)), interruptible: true } });
        await c.firstFrame();
        await c.streamAudio(wireAudio(l.file).samples, 16000);
        await new Promise((r) => setTimeout(r, 200));
        c.write({ hangup: {} });
        const summary = await c.waitFor('call_summary');
        const st = await c.status;
        const pause = c.events.find((e) => e.type === 'prompt_paused');
        const barge = c.events.find((e) => e.type === 'barge_in');
        return {
          file: l.file,
          status: st.code,
          pauseLatency: pause ? pause.t - l.speechOnsetMs! : null,
          commitLatency: barge ? barge.t - l.speechOnsetMs! : null,
          stopMs: (summary.bargeIns as { stopMs: number }[])[0]?.stopMs,
          audioAfterPauseMs: pause ? c.frames.filter((f) => f.at > pause.at).length * 20 : null,
          audioAfterCommitMs: barge ? c.frames.filter((f) => f.at > barge.at).length * 20 : null,
        };
      }),
    );
    console.table(rows);
    for (const r of rows) {
      expect(r.status).toBe(grpc.status.OK);
      expect(r.pauseLatency, r.file).not.toBeNull();
      expect(r.pauseLatency!, r.file).toBeLessThanOrEqual(150);
      expect(r.audioAfterCommitMs!).toBeLessThanOrEqual(40);
    }
  }, 60_000);

  it('clear status codes: INVALID_ARGUMENT, UNAUTHENTICATED, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED; a concurrent call continues', async () => {
    const good = new GrpcTestCall();
    good.write({ config: { callId: 'grpc-good', callType: 'notification', audio: { encoding: 'mulaw', sampleRate: 8000 } } });
    await good.waitFor('ready');
    const goodStream = good.streamAudio(new Int16Array(8000 * 2), 8000).catch(() => undefined);

    const audioFirst = new GrpcTestCall();
    audioFirst.write({ audio: Buffer.alloc(320) });
    expect((await audioFirst.status).code).toBe(grpc.status.INVALID_ARGUMENT);

    const badConfig = new GrpcTestCall();
    badConfig.write({ config: { callId: 'bad id!', audio: { encoding: 'opus', sampleRate: 48000 } } });
    const bc = await badConfig.status;
    expect(bc.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bc.details).toMatch(/invalid config/);

    const noAuth = new GrpcTestCall('wrong');
    noAuth.write({ config: { callId: 'x', audio: { encoding: 'pcm16', sampleRate: 16000 } } });
    expect((await noAuth.status).code).toBe(grpc.status.UNAUTHENTICATED);

    const big = new GrpcTestCall();
    big.write({ config: { callId: 'grpc-big', callType: 'notification', audio: { encoding: 'pcm16', sampleRate: 16000 } } });
    await big.waitFor('ready');
    big.write({ audio: Buffer.alloc(600 * 1024) });
    expect((await big.status).code).toBe(grpc.status.RESOURCE_EXHAUSTED);

    const silent = new GrpcTestCall();
    expect((await silent.status).code).toBe(grpc.status.DEADLINE_EXCEEDED);

    await goodStream;
    expect(gw.calls.get('grpc-good')?.isEnded).toBe(false);
    good.write({ hangup: {} });
    await good.waitFor('call_summary');
    expect((await good.status).code).toBe(grpc.status.OK);
  }, 30_000);

  it('play: audio bytes go straight to the playout; a bad prompt id is an error event and the call goes on', async () => {
    const c = new GrpcTestCall();
    const pcm = encode('pcm16', Int16Array.from({ length: 1600 }, (_, i) => Math.round(3000 * Math.sin(i / 5))));
    c.write({ config: { callId: 'grpc-play', callType: 'notification', audio: { encoding: 'pcm16', sampleRate: 16000 } } });
    await c.waitFor('ready');
    c.write({ play: { promptId: '', audio: Buffer.from(pcm) } });
    expect(await c.waitFor('error')).toMatchObject({ code: 'invalid_message' });
    c.write({ play: { promptId: 'p', audio: Buffer.from(pcm) } });
    await c.firstFrame();
    expect(await c.waitFor('prompt_finished')).toMatchObject({ promptId: 'p', interrupted: false, playedMs: 100 });
    // Empty audio plays the recorded prompt uploaded under the id (proto3 bytes cannot be absent).
    c.write({ play: { promptId: 'never-uploaded', audio: Buffer.alloc(0) } });
    await until(() => c.events.some((e) => e.type === 'error' && e.code === 'unknown_prompt'), 5000, 'unknown_prompt error');
    const wav = readFileSync(join(AUDIO_DIR, 'bargein/prompts/p01.wav'));
    const up = await fetch(`${http}/v1/prompts/grpc-p01?loudness=off`, { method: 'PUT', body: new Uint8Array(wav), headers: { authorization: `Bearer ${TOKEN}` } });
    expect(up.status).toBe(201);
    c.write({ play: { promptId: 'grpc-p01', audio: Buffer.alloc(0) } });
    await until(() => c.events.some((e) => e.type === 'prompt_started' && e.promptId === 'grpc-p01'), 5000, 'the recorded prompt to start');
    c.write({ hangup: {} });
    await c.waitFor('call_summary');
  }, 30_000);

  it('health, GetEvidence and Synthesize answer with clear statuses', async () => {
    const check = (service: string) =>
      new Promise<{ err: grpc.ServiceError | null; res?: { status: string } }>((r) => (health.Check as (...a: unknown[]) => void)({ service }, (err: grpc.ServiceError | null, res: { status: string }) => r({ err, res })));
    expect((await check('')).res?.status).toBe('SERVING');
    expect((await check('earshot.v1.Earshot')).res?.status).toBe('SERVING');
    expect((await check('nope')).err?.code).toBe(grpc.status.NOT_FOUND);

    const ev = await new Promise<grpc.ServiceError | null>((r) => (client.GetEvidence as (...a: unknown[]) => void)({ id: '01UNKNOWN' }, md(), (err: grpc.ServiceError | null) => r(err)));
    expect(ev?.code).toBe(grpc.status.NOT_FOUND);
    const ev2 = await new Promise<grpc.ServiceError | null>((r) => (client.GetEvidence as (...a: unknown[]) => void)({ id: 'x' }, md('wrong'), (err: grpc.ServiceError | null) => r(err)));
    expect(ev2?.code).toBe(grpc.status.UNAUTHENTICATED);

    const syn = (client.Synthesize as (...a: unknown[]) => grpc.ClientReadableStream<{ audio: Buffer }>)({ text: '你好', language: 'zh' }, md());
    const out = await new Promise<{ pcm: Buffer; err?: grpc.ServiceError }>((resolve) => {
      const parts: Buffer[] = [];
      syn.on('data', (d) => parts.push(d.audio));
      syn.on('error', (err: grpc.ServiceError) => resolve({ pcm: Buffer.concat(parts), err }));
      syn.on('end', () => resolve({ pcm: Buffer.concat(parts) }));
    });
    // The gateway has a voice (the syllable bank in ../shared): synthesis must succeed and carry audible speech of
    // a plausible length for two syllables, not merely end.
    expect(out.err, out.err ? `${grpc.status[out.err.code]}: ${out.err.details}` : '').toBeUndefined();
    const pcm = new Int16Array(out.pcm.buffer, out.pcm.byteOffset, out.pcm.byteLength >> 1);
    expect(pcm.length / 16000).toBeGreaterThan(0.3);
    expect(pcm.length / 16000).toBeLessThan(3);
    const rms = Math.sqrt(pcm.reduce((a, x) => a + x * x, 0) / pcm.length) / 32768;
    expect(rms).toBeGreaterThan(0.01);
    // An unknown voice is a clear FAILED_PRECONDITION, not a silent stream.
    const bad = (client.Synthesize as (...a: unknown[]) => grpc.ClientReadableStream<{ audio: Buffer }>)({ text: '你好', language: 'zh', voice: 'no-such-voice' }, md());
    const badErr = await new Promise<grpc.ServiceError | null>((resolve) => {
      bad.on('data', () => undefined);
      bad.on('error', (e: grpc.ServiceError) => resolve(e));
      bad.on('end', () => resolve(null));
    });
    expect(badErr?.code).toBe(grpc.status.FAILED_PRECONDITION);
  }, 30_000);
});
