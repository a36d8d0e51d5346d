// Vonage-style binary L16 WebSocket wire, end to end: first text frame JSON metadata, then binary L16 16 kHz at
// real time; prompt through the HTTP control API; {"action":"clear"} on barge-in and notify marks echoed as
// websocket:notify events once played (the client keeps a far-end playout buffer like Vonage's).
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '../gateway/audio/codec.js';
import type { CallEvent } from '../gateway/call/Call.js';
import type { Gateway } from '../gateway/Gateway.js';
import { labels, wireAudio } from './helpers/corpus.js';
import { startGateway } from './helpers/gateway.js';

const TOKEN = 'vonage-test-token';
let gw: Gateway;
let http: string;

class FakeVonage {
  readonly ws: WebSocket;
  readonly frames: { at: number }[] = [];
  readonly clears: number[] = [];
  private playEnd = 0;
  private pending: { payload: unknown; timer: NodeJS.Timeout }[] = [];
  private onFirst?: () => void;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(token = TOKEN) {
    this.ws = new WebSocket(`${http.replace('http:', 'ws:')}/v1/vonage?token=${token}`);
    this.closed = new Promise((r) => this.ws.on('close', (code, reason) => r({ code, reason: String(reason) })));
    this.ws.on('error', () => undefined);
    this.ws.on('message', (data, isBinary) => {
      const now = performance.now();
      if (isBinary) {
        this.frames.push({ at: now });
        this.playEnd = Math.max(now, this.playEnd) + ((data as Buffer).length / 32000) * 1000;
        if (this.frames.length === 1) this.onFirst?.();
        return;
      }
      const m = JSON.parse(String(data)) as { action: string; payload?: unknown };
      if (m.action === 'clear') {
        this.clears.push(now);
        this.playEnd = now;
        for (const p of this.pending.splice(0)) (clearTimeout(p.timer), this.notify(p.payload));
      } else if (m.action === 'notify') {
        const p = { payload: m.payload, timer: setTimeout(() => ((this.pending = this.pending.filter((x) => x !== p)), this.notify(m.payload)), Math.max(0, this.playEnd - now)) };
        this.pending.push(p);
      }
    });
  }
  private notify(payload: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ event: 'websocket:notify', payload }));
  }
  async open(): Promise<void> {
    if (this.ws.readyState !== WebSocket.OPEN) await new Promise<void>((res, rej) => (this.ws.once('open', () => res()), this.ws.once('error', rej)));
  }
  async connect(callId: string, rate = 16000): Promise<void> {
    await this.open();
    this.ws.send(JSON.stringify({ event: 'websocket:connected', 'content-type': `audio/l16;rate=${rate}`, callId, callType: 'notification', language: 'zh' }));
  }
  firstFrame(): Promise<void> {
    return this.frames.length ? Promise.resolve() : new Promise((r) => (this.onFirst = r));
  }
  async stream(samples: Int16Array, rate = 16000): Promise<void> {
    const n = rate / 50;
    const t0 = performance.now();
    for (let i = 0, k = 0; i < samples.length; i += n, k++) {
      if (this.ws.readyState !== WebSocket.OPEN) return;
      this.ws.send(encode('pcm16', samples.subarray(i, i + n)));
      const wait = t0 + (k + 1) * 20 - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
  }
}

async function waitCall(id: string) {
  const until = Date.now() + 5000;
  while (!gw.calls.has(id)) {
    if (Date.now() > until) throw new Error(`call ${id} never started`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return gw.calls.get(id)!;
}

async function post(path: string, body: unknown): Promise<number> {
  const r = await fetch(`${http}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
  await r.text();
  return r.status;
}

beforeAll(async () => {
  ({ gw, http } = await startGateway({ asr: { model: '' }, apiToken: TOKEN }));
}, 60_000);

afterAll(async () => {
  await gw?.stop(0);
});

describe('vonage wire', () => {
  it('barge-in over L16 16 kHz: pause within 150 ms of onset, a clear, notify marks give prompt_heard', async () => {
    const scen = labels().filter((l) => l.file === 'bargein/s01_caller.wav' || l.file === 'bargein/s06_caller.wav');
    const rows = await Promise.all(
      scen.map(async (l, i) => {
        await new Promise((r) => setTimeout(r, i * 40));
        const id = `vonage-${l.file.slice(9, 12)}`;
        const v = new FakeVonage();
        await v.connect(id);
        const call = await waitCall(id);
        const events: (CallEvent & { at: number })[] = [];
        call.observe((e) => events.push({ ...e, at: performance.now() }));
        const prompt = wireAudio(l.promptFile!);
        const caller = wireAudio(l.file);
        expect(await post(`/v1/calls/${id}/play`, { promptId: 'p', audio: Buffer.from(encode('pcm16', prompt.samples)).toString('base64') })).toBe(202);
        await v.firstFrame();
        await v.stream(caller.samples);
        await new Promise((r) => setTimeout(r, 200));
        await post(`/v1/calls/${id}/hangup`, {});
        await v.closed;
        const pause = events.find((e) => e.type === 'prompt_paused');
        const barge = events.find((e) => e.type === 'barge_in');
        const heard = events.find((e) => e.type === 'prompt_heard');
        const summary = events.find((e) => e.type === 'call_summary')!;
        return {
          file: l.file,
          pauseLatency: pause ? pause.t - l.speechOnsetMs! : null,
          commitLatency: barge ? barge.t - l.speechOnsetMs! : null,
          stopMs: (summary.bargeIns as { stopMs: number }[])[0]?.stopMs,
          clears: v.clears.length,
          framesAfterClear: v.clears.length ? v.frames.filter((f) => f.at > v.clears[0]).length : null,
          playedMs: barge?.playedMs,
          heardMs: heard?.heardMs,
        };
      }),
    );
    console.table(rows);
    for (const r of rows) {
      expect(r.pauseLatency, r.file).not.toBeNull();
      expect(r.pauseLatency!, r.file).toBeLessThanOrEqual(150);
      expect(r.clears, r.file).toBe(1);
      expect(r.framesAfterClear, r.file).toBe(0);
      expect(r.heardMs, r.file).toBeDefined();
      expect(r.heardMs as number).toBeLessThanOrEqual((r.playedMs as number) + 40);
    }
  }, 60_000);

  it('bad input ends only that call with a close code that says why; a concurrent call continues', async () => {
    const good = new FakeVonage();
    await good.connect('vonage-good');
    const goodCall = await waitCall('vonage-good');
    const goodStream = good.stream(new Int16Array(16000 * 3));

    const malformed = new FakeVonage();
    await malformed.connect('vonage-malformed');
    await waitCall('vonage-malformed');
    malformed.ws.send('{not json');
    expect(await malformed.closed).toMatchObject({ code: 4400, reason: 'malformed_json' });

    const odd = new FakeVonage();
    await odd.connect('vonage-odd');
    await waitCall('vonage-odd');
    odd.ws.send(Buffer.alloc(641));
    expect(await odd.closed).toMatchObject({ code: 4400, reason: 'odd_length' });

    const early = new FakeVonage();
    await early.open();
    early.ws.send(Buffer.alloc(640));
    expect((await early.closed).code).toBe(4400);

    const badFormat = new FakeVonage();
    await badFormat.open();
    badFormat.ws.send(JSON.stringify({ event: 'websocket:connected', 'content-type': 'audio/l16;rate=44100' }));
    expect((await badFormat.closed).code).toBe(4400);

    const noToken = new FakeVonage('wrong');
    await expect(noToken.open()).rejects.toThrow(/401/);

    await goodStream;
    expect(goodCall.isEnded).toBe(false);
    expect(goodCall.t).toBeGreaterThanOrEqual(2900);
    good.ws.close();
    await good.closed;
  }, 30_000);
});
