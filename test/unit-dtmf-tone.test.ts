// gateway/listen/DtmfTone.ts: a 32 ms frame that is a touch-tone key counts as silence; speech, a single tone, a
// vowel's harmonics and noise do not.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readWav } from '../gateway/audio/wav.js';
import { Resampler } from '../gateway/audio/resampler.js';
import { decode, encode } from '../gateway/audio/codec.js';
import { afterKey, DTMF_HANG_FRAMES, DTMF_HIGH, DTMF_LOW, DTMF_TEST_PROB, DtmfRejector, isDtmfFrame, withoutDtmf } from '../gateway/listen/DtmfTone.js';

const SR = 16000;
const N = 512;

/** Deterministic noise in [−1, 1). */
function noise(n: number, seed = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** A key: low tone at `aLo`, high at `aHi`, starting at sample `from` and lasting `len` samples of an N-frame. */
function key(lo: number, hi: number, { aLo = 0.2, aHi = 0.25, from = 0, len = N, phase = 0.3 } = {}): Float32Array {
  const x = new Float32Array(N);
  for (let i = from; i < Math.min(N, from + len); i++) x[i] = aLo * Math.sin((2 * Math.PI * lo * i) / SR + phase) + aHi * Math.sin((2 * Math.PI * hi * i) / SR);
  return x;
}

const rms = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);

describe('isDtmfFrame', () => {
  it('every one of the 16 keys, at −20 dBFS with the high group 2 dB up (Q.23 pairs)', () => {
    for (const lo of DTMF_LOW) for (const hi of DTMF_HIGH) expect(isDtmfFrame(key(lo, hi, { aLo: 0.08, aHi: 0.1 }), SR), `${lo}+${hi}`).toBe(true);
  });
  it('a key over line noise 15 dB down, and a 40 ms key that fills only part of the frame', () => {
    const x = key(852, 1477);
    const n = noise(N);
    const g = (rms(x) / rms(n)) * 10 ** (-15 / 20);
    expect(isDtmfFrame(x.map((v, i) => v + g * n[i]), SR)).toBe(true);
    expect(isDtmfFrame(key(697, 1209, { from: 200, len: 312 }), SR)).toBe(true);
  });
  it('a key through the narrowband leg (8 kHz μ-law and back up to 16 kHz, as a narrowband call reaches the VAD)', () => {
    const n8 = 1024;
    const pcm = Int16Array.from({ length: n8 }, (_, i) => Math.round(8000 * (Math.sin((2 * Math.PI * 941 * i) / 8000) + Math.sin((2 * Math.PI * 1336 * i) / 8000))));
    const back = decode('mulaw', encode('mulaw', pcm));
    const up = new Resampler(8000, SR).processView(Float32Array.from(back, (v) => v / 32768)).slice();
    expect(isDtmfFrame(up.subarray(up.length - N), SR)).toBe(true);
  });
  it('not a key: one tone alone, two tones of one group, twist beyond 10 dB, a vowel-like harmonic series, noise', () => {
    expect(isDtmfFrame(key(697, 1209, { aHi: 0 }), SR)).toBe(false);
    expect(isDtmfFrame(key(697, 852), SR)).toBe(false);
    expect(isDtmfFrame(key(697, 1209, { aLo: 0.02, aHi: 0.25 }), SR)).toBe(false);
    // F0 232 Hz: its 3rd harmonic sits on 697 Hz, and the rest of the series carries most of the energy.
    const vowel = new Float32Array(N);
    for (let h = 1; h <= 15; h++) for (let i = 0; i < N; i++) vowel[i] += (0.1 / h) * Math.sin((2 * Math.PI * 232 * h * i) / SR + h);
    expect(isDtmfFrame(vowel, SR)).toBe(false);
    expect(isDtmfFrame(noise(N, 7).map((v) => 0.1 * v), SR)).toBe(false);
    expect(isDtmfFrame(new Float32Array(N), SR)).toBe(false);
  });
  it('real speech: no frame of the natural clips in ../shared/audio/natural (16 kHz) is taken for a key', () => {
    const dir = join(import.meta.dirname, '..', '..', 'shared', 'audio', 'natural');
    let frames = 0;
    let hits = 0;
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.wav')).slice(0, 60)) {
      const w = readWav(join(dir, f));
      if (w.sampleRate !== SR) continue;
      const x = Float32Array.from(w.samples, (v) => v / 32768);
      for (let i = 0; i + N <= x.length; i += N) {
        if (rms(x.subarray(i, i + N)) < 0.003) continue;
        frames++;
        if (isDtmfFrame(x.subarray(i, i + N), SR)) hits++;
      }
    }
    expect(frames).toBeGreaterThan(500);
    expect(hits).toBe(0);
  });
  it('withoutDtmf: a key the VAD took for speech becomes 0; frames under the test threshold and speech keep their score', () => {
    const k = key(770, 1336);
    expect(withoutDtmf(0.9, k, SR)).toBe(0);
    expect(withoutDtmf(DTMF_TEST_PROB / 2, k, SR)).toBe(DTMF_TEST_PROB / 2);
    expect(withoutDtmf(0.9, noise(N).map((v) => 0.1 * v), SR)).toBe(0.9);
  });
  it('DtmfRejector: a key and the frames of its hangover count as silence, the next frame and frames before it keep their score', () => {
    const r = new DtmfRejector();
    const k = key(770, 1336);
    const speechLike = noise(N).map((v) => 0.1 * v);
    expect(r.prob(0, 0.9, speechLike, SR)).toBe(0.9);
    expect(r.prob(1, 0.9, k, SR)).toBe(0);
    for (let h = 1; h <= DTMF_HANG_FRAMES; h++) expect(r.prob(1 + h, 0.9, speechLike, SR), `frame ${h} after the key`).toBe(0);
    expect(r.prob(2 + DTMF_HANG_FRAMES, 0.9, speechLike, SR)).toBe(0.9);
    // A key the VAD did not take for speech is never judged, so it starts no hangover.
    const q = new DtmfRejector();
    expect(q.prob(0, DTMF_TEST_PROB / 2, k, SR)).toBe(DTMF_TEST_PROB / 2);
    expect(q.prob(1, 0.9, speechLike, SR)).toBe(0.9);
  });
  it('afterKey on cached columns gives what DtmfRejector gives live, frame by frame', () => {
    let seed = 5;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const n = 400;
    const prob = Array.from({ length: n }, () => rnd());
    const tone = Array.from({ length: n }, () => (rnd() < 0.1 ? 1 : 0));
    const r = new DtmfRejector();
    let keys = 0;
    let hung = 0;
    for (let i = 0; i < n; i++) {
      const live = r.prob(i, prob[i], tone[i] === 1, SR);
      const offline = afterKey(i, prob, tone) ? 0 : withoutDtmf(prob[i], tone[i] === 1, SR);
      expect(offline, `frame ${i}`).toBe(live);
      if (tone[i] === 1 && prob[i] >= DTMF_TEST_PROB) keys++;
      else if (afterKey(i, prob, tone) && prob[i] > 0) hung++;
    }
    expect(keys).toBeGreaterThan(10);
    expect(hung).toBeGreaterThan(10);
  });
});
