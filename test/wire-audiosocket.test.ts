// Asterisk AudioSocket wire, end to end with a TCP client speaking AudioSocket framing (type, BE length, payload):
// UUID, slin 8 kHz (0x10) and 16 kHz (0x12) audio at real time, prompt played through the HTTP control API,
// events observed in-process with call.observe.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '../gateway/audio/codec.js';
import type { CallEvent, EventOf } from '../gateway/call/events.js';
import type { Gateway } from '../gateway/Gateway.js';
import { frame, uuidString } from '../gateway/wires/audiosocket.js';
import { wirePorts } from '../gateway/wires/index.js';
import { labels, wireAudio } from './helpers/corpus.js';
import { startGateway } from './helpers/gateway.js';

let gw: Gateway;
let http: string;
let port: number;

class AsClient {
  readonly sock: Socket;
  readonly uuid: string;
  readonly audio: { at: number; type: number; bytes: number }[] = [];
  readonly control: { type: number; payload: Buffer }[] = [];
  private buf = Buffer.alloc(0);
  private onFirst?: () => void;
  readonly closed: Promise<void>;

  constructor(readonly uuidBytes = Buffer.from(Array.from({ length: 16 }, () => Math.floor(Math.random() * 256)))) {
    this.uuid = uuidString(uuidBytes);
    this.sock = connect(port, '127.0.0.1');
    this.closed = new Promise((r) => this.sock.on('close', () => r()));
    this.sock.on('error', () => undefined);
    this.sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 3) {
        const type = this.buf[0];
        const len = this.buf.readUInt16BE(1);
        if (this.buf.length < 3 + len) break;
        const payload = this.buf.subarray(3, 3 + len);
        this.buf = this.buf.subarray(3 + len);
        if (type >= 0x10 && type <= 0x16) {
          this.audio.push({ at: performance.now(), type, bytes: len });
          if (this.audio.length === 1) this.onFirst?.();
        } else this.control.push({ type, payload: Buffer.from(payload) });
      }
    });
  }
  firstFrame(): Promise<void> {
    return this.audio.length ? Promise.resolve() : new Promise((r) => (this.onFirst = r));
  }
  send(type: number, payload: Uint8Array = new Uint8Array(0)): void {
    if (!this.sock.destroyed) this.sock.write(frame(type, payload));
  }
  hello(): void {
    this.send(0x01, this.uuidBytes);
  }
  async stream(samples: Int16Array, rate: number, type: number): Promise<void> {
    const n = rate / 50;
    const t0 = performance.now();
    for (let i = 0, k = 0; i < samples.length; i += n, k++) {
      if (this.sock.destroyed) return;
      this.send(type, encode('pcm16', samples.subarray(i, i + n)));
      const wait = t0 + (k + 1) * 20 - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
  }
}

async function waitCall(id: string): Promise<NonNullable<ReturnType<typeof gw.calls.get>>> {
  const until = Date.now() + 5000;
  while (!gw.calls.has(id)) {
    if (Date.now() > until) throw new Error(`call ${id} never started`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return gw.calls.get(id)!;
}

async function post(path: string, body: unknown): Promise<number> {
  const r = await fetch(`${http}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await r.text();
  return r.status;
}

beforeAll(async () => {
  ({ gw, http } = await startGateway({ asr: { model: '' }, wires: { audiosocketPort: 0, audiosocket: true } }));
  port = wirePorts(gw).audiosocket!;
  expect(port).toBeGreaterThan(0);
}, 60_000);

afterAll(async () => {
  await gw?.stop(0);
});

describe('audiosocket wire', () => {
  it('barge-in over AudioSocket (8 kHz 0x10 and 16 kHz 0x12): pause within 150 ms of onset, outbound stops', async () => {
    const cases = [
      { l: labels().find((x) => x.file === 'bargein/s01_caller.wav')!, rate: 8000 },
      { l: labels().find((x) => x.file === 'bargein/s06_caller.wav')!, rate: 8000 },
      { l: labels().find((x) => x.file === 'bargein/s06_caller.wav')!, rate: 16000 },
    ];
    const rows = await Promise.all(
      cases.map(async ({ l, rate }, i) => {
        await new Promise((r) => setTimeout(r, i * 40));
        const c = new AsClient();
        if (rate === 16000) expect(await post('/v1/audiosocket/calls', { uuid: c.uuid, callType: 'notification', sampleRate: 16000 })).toBe(201);
        else expect(await post('/v1/audiosocket/calls', { uuid: c.uuid, callType: 'notification' })).toBe(201);
        c.hello();
        const call = await waitCall(c.uuid);
        const events: (CallEvent & { at: number })[] = [];
        call.observe((e) => events.push({ ...e, at: performance.now() }));
        const prompt = wireAudio(rate === 8000 ? l.promptTwin8k! : l.promptFile!);
        const caller = wireAudio(rate === 8000 ? l.twin8k : l.file);
        expect(await post(`/v1/calls/${c.uuid}/play`, { promptId: 'p', audio: Buffer.from(encode('pcm16', prompt.samples)).toString('base64') })).toBe(202);
        await c.firstFrame();
        await c.stream(caller.samples, rate, rate === 8000 ? 0x10 : 0x12);
        await new Promise((r) => setTimeout(r, 200));
        c.send(0x00);
        await c.closed;
        const pause = events.find((e) => e.type === 'prompt_paused');
        const barge = events.find((e) => e.type === 'barge_in');
        const summary = events.find((e) => e.type === 'call_summary')!;
        const after = (at?: number) => (at === undefined ? NaN : c.audio.filter((f) => f.at > at).length * 20);
        return {
          file: l.file,
          rate,
          frameType: `0x${c.audio[0].type.toString(16)}`,
          pauseLatency: pause ? pause.t - l.speechOnsetMs! : null,
          commitLatency: barge ? barge.t - l.speechOnsetMs! : null,
          stopMs: (summary.bargeIns as { stopMs: number }[])[0]?.stopMs,
          audioAfterPauseMs: after(pause?.at),
          audioAfterCommitMs: after(barge?.at),
          hangupAck: c.control.some((x) => x.type === 0x00),
        };
      }),
    );
    console.table(rows);
    for (const r of rows) {
      expect(r.frameType).toBe(r.rate === 8000 ? '0x10' : '0x12');
      expect(r.pauseLatency, r.file).not.toBeNull();
      expect(r.pauseLatency!, r.file).toBeLessThanOrEqual(150);
      expect(r.commitLatency, r.file).not.toBeNull();
      expect(r.audioAfterPauseMs, r.file).toBeLessThanOrEqual(40);
      expect(r.audioAfterCommitMs, r.file).toBeLessThanOrEqual(40);
    }
  }, 60_000);

  it('bad frames end only that call with 0xff + hangup; abrupt close mid-prompt; a concurrent call continues', async () => {
    const good = new AsClient();
    await post('/v1/audiosocket/calls', { uuid: good.uuid, callType: 'notification' });
    good.hello();
    const goodCall = await waitCall(good.uuid);
    const goodStream = good.stream(new Int16Array(8000 * 3), 8000, 0x10);

    const expectError = async (c: AsClient) => {
      await c.closed;
      expect(c.control.map((x) => x.type)).toEqual([0xff, 0x00]);
      return c.control[0].payload[0];
    };

    const unknownType = new AsClient();
    await post('/v1/audiosocket/calls', { uuid: unknownType.uuid, callType: 'notification' });
    unknownType.hello();
    const u = await waitCall(unknownType.uuid);
    unknownType.send(0x42, Buffer.alloc(4));
    expect(await expectError(unknownType)).toBe(0x11);
    expect(u.isEnded).toBe(true);

    const odd = new AsClient();
    await post('/v1/audiosocket/calls', { uuid: odd.uuid, callType: 'notification' });
    odd.hello();
    await waitCall(odd.uuid);
    odd.send(0x10, Buffer.alloc(321));
    expect(await expectError(odd)).toBe(0x11);

    // A protocol error mid-call is reported as one (0x10), not as a bad frame.
    const twice = new AsClient();
    await post('/v1/audiosocket/calls', { uuid: twice.uuid, callType: 'notification' });
    twice.hello();
    await waitCall(twice.uuid);
    twice.hello();
    expect(await expectError(twice)).toBe(0x10);

    const shortUuid = new AsClient();
    shortUuid.send(0x01, Buffer.alloc(8));
    expect(await expectError(shortUuid)).toBe(0x11);

    const audioFirst = new AsClient();
    audioFirst.send(0x10, Buffer.alloc(320));
    expect(await expectError(audioFirst)).toBe(0x10);

    // Abrupt TCP close while a prompt plays.
    const abrupt = new AsClient();
    await post('/v1/audiosocket/calls', { uuid: abrupt.uuid, callType: 'notification' });
    abrupt.hello();
    const a = await waitCall(abrupt.uuid);
    const ended = new Promise<EventOf<'call_summary'>>((r) => a.observe((e) => e.type === 'call_summary' && r(e)));
    const abruptStream = abrupt.stream(new Int16Array(8000 * 2), 8000, 0x10);
    expect(await post(`/v1/calls/${abrupt.uuid}/play`, { promptId: 'p', audio: Buffer.alloc(16000 * 2).toString('base64') })).toBe(202);
    await abrupt.firstFrame();
    abrupt.sock.destroy();
    expect((await ended).reason).toBe('client_gone');
    await abruptStream;

    await goodStream;
    expect(goodCall.isEnded).toBe(false);
    expect(goodCall.t).toBeGreaterThanOrEqual(2900);
    good.send(0x00);
    await good.closed;
    expect(goodCall.isEnded).toBe(true);
  }, 30_000);
});
