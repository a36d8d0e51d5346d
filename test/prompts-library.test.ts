// Recorded prompts: uploaded once over HTTP, played by id on calls (`play` without audio), immutable, kept across
// restarts. Real corpus prompts, decoded by ffmpeg: with loudness "off" a call hears exactly the recording.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode } from '../gateway/audio/codec.js';
import { createGateway } from '../gateway/app.js';
import type { Gateway } from '../gateway/Gateway.js';
import { TestCall } from './helpers/client.js';
import { AUDIO_DIR, wireAudio } from './helpers/corpus.js';
import { CALLING_HOURS, startGateway } from './helpers/gateway.js';

let gw: Gateway;
let url: string;
let http: string;
let dataDir: string;

const file = (rel: string) => readFileSync(join(AUDIO_DIR, rel));
const put = (id: string, body: Buffer, query = '') => fetch(`${http}/v1/prompts/${encodeURIComponent(id)}${query}`, { method: 'PUT', body: new Uint8Array(body) });

beforeAll(async () => {
  ({ gw, url, http, dataDir } = await startGateway({ asr: { model: '' } }));
});

afterAll(async () => {
  await gw?.stop(0);
});

/** Plays `promptId` by id on a new call and returns every prompt byte the call received. */
async function playById(callId: string, promptId: string, encoding: 'pcm16' | 'mulaw', sampleRate: number, base = url): Promise<Buffer> {
  const c = new TestCall(base);
  const chunks: Buffer[] = [];
  c.ws.on('message', (d, bin) => bin && chunks.push(Buffer.from(d as Buffer)));
  expect((await c.start({ callId, encoding, sampleRate })).type).toBe('ready');
  c.send({ type: 'play', promptId });
  const done = await c.waitFor('prompt_finished');
  expect(done).toMatchObject({ promptId, interrupted: false, reason: 'completed' });
  await c.hangup();
  return Buffer.concat(chunks);
}

describe('recorded prompt library', () => {
  it('an upload is played by id, sample for sample, at 16 kHz pcm16 and 8 kHz μ-law', async () => {
    const r16 = await put('p01', file('bargein/prompts/p01.wav'), '?loudness=off');
    expect(r16.status).toBe(201);
    const info = await r16.json();
    expect(info).toMatchObject({ promptId: 'p01', loudnessLufs: null });
    expect(info.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Math.abs(info.durationMs - 4940)).toBeLessThanOrEqual(20);
    expect((await put('p01-8k', file('bargein/prompts/8k/p01.wav'), '?loudness=off')).status).toBe(201);

    // Both rates play side by side: each is a 5 s prompt at real time.
    const [raw16, raw8] = await Promise.all([playById('lib-16k', 'p01', 'pcm16', 16000), playById('lib-8k', 'p01-8k', 'mulaw', 8000)]);
    // 16 kHz: the frames are the WAV's samples (the last frame padded to 20 ms).
    const want16 = wireAudio('bargein/prompts/p01.wav').samples;
    const got16 = new Int16Array(raw16.buffer.slice(raw16.byteOffset, raw16.byteOffset + raw16.byteLength));
    expect(got16.length).toBe(Math.ceil(want16.length / 320) * 320);
    expect(Array.from(got16.subarray(0, want16.length))).toEqual(Array.from(want16));

    // 8 kHz μ-law: the μ-law twin uploaded as is comes back byte for byte.
    const twin = wireAudio('bargein/prompts/8k/p01.wav').samples;
    const got8 = decode('mulaw', raw8);
    expect(Array.from(got8.subarray(0, twin.length))).toEqual(Array.from(twin));
  });

  it('is immutable: the same bytes again are a no-op, other audio under that id is refused', async () => {
    const a = file('bargein/prompts/p02.wav');
    expect((await put('p02', a, '?loudness=off')).status).toBe(201);
    expect((await put('p02', a, '?loudness=off')).status).toBe(200);
    const clash = await put('p02', file('bargein/prompts/p03.wav'), '?loudness=off');
    expect(clash.status).toBe(409);
    expect((await clash.json()).error ?? '').toBeTruthy();
    const list = await (await fetch(`${http}/v1/prompts`)).json();
    expect(list.prompts.map((p: { promptId: string }) => p.promptId)).toEqual(expect.arrayContaining(['p01', 'p01-8k', 'p02']));
    expect((await fetch(`${http}/v1/prompts/nope`)).status).toBe(404);
  });

  it('normalises loudness by default and refuses what is not audio', async () => {
    const r = await put('p03-norm', file('bargein/prompts/p03.wav'));
    expect(r.status).toBe(201);
    expect((await r.json()).loudnessLufs).toBe(-20);
    const bad = await put('junk', Buffer.from('this is not a recording'.repeat(50)));
    expect(bad.status).toBe(415);
    expect((await bad.json()).error).toBe('unsupported_format');
    // A WAV header on garbage gets past the container check and fails in the decoder.
    const fake = await put('junk-wav', Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVEfmt '), Buffer.alloc(400, 7)]));
    expect(fake.status).toBe(400);
    expect((await fake.json()).error).toBe('bad_audio');
    expect((await put('bad id!', file('bargein/prompts/p03.wav'))).status).toBe(400);
  });

  it('an unknown prompt id is an error on that call only; the HTTP control API plays by id too', async () => {
    const c = new TestCall(url);
    await c.start({ callId: 'lib-unknown', encoding: 'pcm16', sampleRate: 16000 });
    c.send({ type: 'play', promptId: 'never-uploaded' });
    expect((await c.waitFor('error')).code).toBe('unknown_prompt');
    const httpPlay = (promptId: string) => fetch(`${http}/v1/calls/lib-unknown/play`, { method: 'POST', body: JSON.stringify({ promptId }), headers: { 'content-type': 'application/json' } });
    const missing = await httpPlay('never-uploaded');
    expect(missing.status).toBe(404);
    expect((await missing.json()).error).toBe('unknown_prompt');
    // Its own prompt (not one an earlier test left behind): created here, or the same bytes again if it exists.
    expect([200, 201]).toContain((await put('lib-http', file('bargein/prompts/p02.wav'), '?loudness=off')).status);
    expect((await httpPlay('lib-http')).status).toBe(202);
    expect(await c.waitFor('prompt_started')).toMatchObject({ promptId: 'lib-http' });
    await c.hangup();
  });

  it('survives a restart: a second gateway on the same data dir plays the same prompt', async () => {
    expect([200, 201]).toContain((await put('p01', file('bargein/prompts/p01.wav'), '?loudness=off')).status);
    // The policy clock of every test gateway: a call without a callee is refused at night.
    const gw2 = await createGateway({ port: 0, host: '127.0.0.1', dataDir, asr: { model: '' }, policy: { clock: CALLING_HOURS } }, {});
    const { port } = await gw2.start();
    try {
      const got = new Int16Array((await playById('lib-restart', 'p01', 'pcm16', 16000, `ws://127.0.0.1:${port}/v1/stream`)).buffer.slice(0));
      const want = wireAudio('bargein/prompts/p01.wav').samples;
      expect(Array.from(got.subarray(0, want.length))).toEqual(Array.from(want));
    } finally {
      await gw2.stop(0);
    }
  });
});
