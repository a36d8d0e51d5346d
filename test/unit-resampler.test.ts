// gateway/audio/resampler.ts: accuracy (SNR after delay compensation), streaming state, reset, lengths.
import { describe, expect, it } from 'vitest';
import { Resampler, resampleAll } from '../gateway/audio/resampler.js';

const sine = (n: number, rate: number, f: number, amp = 0.5, phase = 0) =>
  Float32Array.from({ length: n }, (_, i) => amp * Math.sin(2 * Math.PI * f * (i / rate) + phase));

/** SNR of y against the ideal sine delayed by the filter's group delay, skipping edges. */
function snrDb(y: Float32Array, outRate: number, f: number, delaySec: number, amp = 0.5, skip = 200): number {
  let s = 0;
  let e = 0;
  for (let j = skip; j < y.length - skip; j++) {
    const ref = amp * Math.sin(2 * Math.PI * f * (j / outRate - delaySec));
    s += ref * ref;
    e += (y[j] - ref) ** 2;
  }
  return 10 * Math.log10(s / e);
}

function chunked(r: Resampler, x: Float32Array, size: number): Float32Array {
  const parts: Float32Array[] = [];
  for (let i = 0; i < x.length; i += size) parts.push(r.process(x.subarray(i, i + size)));
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('Resampler accuracy', () => {
  for (const [inRate, outRate] of [
    [8000, 16000],
    [16000, 8000],
  ] as const) {
    for (const f of [300, 1000]) {
      it(`${inRate}→${outRate}, ${f} Hz sine: SNR > 60 dB after delay compensation`, () => {
        const r = new Resampler(inRate, outRate);
        const y = r.process(sine(inRate, inRate, f));
        expect(y.length).toBe(outRate);
        expect(snrDb(y, outRate, f, r.delayInputSamples / inRate)).toBeGreaterThan(60);
      });
    }
  }
  it('the delay is really the group delay: a wrong delay (±1 output sample) gives a much worse SNR', () => {
    const r = new Resampler(8000, 16000);
    const y = r.process(sine(8000, 8000, 1000));
    const d = r.delayInputSamples / 8000;
    expect(snrDb(y, 16000, 1000, d + 1 / 16000)).toBeLessThan(30);
    expect(snrDb(y, 16000, 1000, d - 1 / 16000)).toBeLessThan(30);
  });
  it('16k→8k removes content above the new Nyquist (6 kHz tone attenuated > 40 dB)', () => {
    const r = new Resampler(16000, 8000);
    const y = r.process(sine(16000, 16000, 6000));
    const rms = Math.sqrt(y.slice(100).reduce((s, v) => s + v * v, 0) / (y.length - 100));
    expect(20 * Math.log10(rms / (0.5 / Math.SQRT2))).toBeLessThan(-40);
  });
  it('equal rates pass through (a copy, not the same buffer)', () => {
    const r = new Resampler(16000, 16000);
    const x = sine(320, 16000, 440);
    const y = r.process(x);
    expect(y).toEqual(x);
    expect(y).not.toBe(x);
    expect(r.delayInputSamples).toBe(0);
  });
});

describe('Resampler streaming state', () => {
  for (const [inRate, outRate] of [
    [8000, 16000],
    [16000, 8000],
    [44100, 16000],
    [24000, 8000],
  ] as const) {
    it(`${inRate}→${outRate}: 20 ms frames give exactly the whole-buffer output`, () => {
      const x = sine(inRate / 2, inRate, 700, 0.4);
      for (let i = 0; i < x.length; i++) x[i] += 0.1 * Math.sin(i * 0.013);
      const whole = new Resampler(inRate, outRate).process(x);
      const frames = chunked(new Resampler(inRate, outRate), x, (inRate * 20) / 1000);
      expect(frames.length).toBe(whole.length);
      let maxErr = 0;
      for (let i = 0; i < whole.length; i++) maxErr = Math.max(maxErr, Math.abs(frames[i] - whole[i]));
      expect(maxErr).toBeLessThan(1e-6);
    });
  }
  it('odd chunk sizes (1, 7, 33 samples) also match the whole-buffer output', () => {
    const x = sine(4410, 44100, 1000);
    const whole = new Resampler(44100, 16000).process(x);
    for (const size of [1, 7, 33]) {
      const c = chunked(new Resampler(44100, 16000), x, size);
      expect(c.length).toBe(whole.length);
      for (let i = 0; i < whole.length; i += 97) expect(Math.abs(c[i] - whole[i])).toBeLessThan(1e-6);
    }
  });
  it('8k→16k: each 20 ms frame (160 samples) yields 320 samples', () => {
    const r = new Resampler(8000, 16000);
    for (let k = 0; k < 10; k++) expect(r.process(sine(160, 8000, 500)).length).toBe(320);
  });
  it('reset() clears history: after reset the output equals a fresh resampler', () => {
    const x = sine(160, 8000, 1000);
    const used = new Resampler(8000, 16000);
    used.process(sine(800, 8000, 2000, 0.9));
    const withoutReset = used.process(x);
    used.reset();
    const afterReset = used.process(x);
    const fresh = new Resampler(8000, 16000).process(x);
    expect(afterReset).toEqual(fresh);
    // and the history really mattered before the reset
    expect(Math.max(...withoutReset.slice(0, 16).map((v, i) => Math.abs(v - fresh[i])))).toBeGreaterThan(0.01);
  });
  it('silence after a reset is exactly silence (no stale audio re-emitted)', () => {
    const r = new Resampler(16000, 8000);
    r.process(sine(320, 16000, 1000, 0.9));
    r.reset();
    const y = r.process(new Float32Array(320));
    expect(y.every((v) => v === 0)).toBe(true);
  });
});

describe('lengths and resampleAll', () => {
  it('44.1k→16k: one second in, 16000 out (streaming and one-shot)', () => {
    const x = sine(44100, 44100, 1000);
    expect(new Resampler(44100, 16000).process(x).length).toBe(16000);
    expect(resampleAll(x, 44100, 16000).length).toBe(16000);
    expect(resampleAll(sine(441, 44100, 1000), 44100, 16000).length).toBe(160);
  });
  it('resampleAll is delay-compensated to the nearest output sample (44.1k→16k: residual −0.195 sample)', () => {
    // Group delay 16 input samples = 5.805 output samples; resampleAll skips round(5.805) = 6, so the output leads
    // the ideal by 0.195 output samples (12 µs). Within that, the signal is exact.
    const y = resampleAll(sine(44100, 44100, 1000), 44100, 16000);
    const residual = ((16 * 16000) / 44100 - 6) / 16000;
    expect(snrDb(y, 16000, 1000, residual, 0.5, 400)).toBeGreaterThan(60);
    expect(snrDb(y, 16000, 1000, 0, 0.5, 400)).toBeLessThan(30);
  });
  it('resampleAll 8k→16k (integer delay) lines up exactly with the ideal sine', () => {
    const y = resampleAll(sine(8000, 8000, 1000), 8000, 16000);
    expect(y.length).toBe(16000);
    expect(snrDb(y, 16000, 1000, 0, 0.5, 400)).toBeGreaterThan(60);
  });
  it('resampleAll 8k→16k→8k returns the original (band-limited) signal', () => {
    const x = sine(8000, 8000, 440);
    const back = resampleAll(resampleAll(x, 8000, 16000), 16000, 8000);
    expect(back.length).toBe(x.length);
    let s = 0;
    let e = 0;
    for (let i = 300; i < x.length - 300; i++) {
      s += x[i] ** 2;
      e += (back[i] - x[i]) ** 2;
    }
    expect(10 * Math.log10(s / e)).toBeGreaterThan(60);
  });
});

describe('processInt16 (the per-frame path of a call)', () => {
  it('gives exactly what process(int16ToFloat(x)) gives, frame after frame, in views of reused buffers', async () => {
    const { int16ToFloat } = await import('../gateway/audio/codec.js');
    for (const [from, to] of [[8000, 16000], [16000, 8000], [16000, 16000]] as const) {
      const a = new Resampler(from, to);
      const b = new Resampler(from, to);
      const x = Int16Array.from({ length: from }, (_, i) => Math.round(12000 * Math.sin(i / 7) + 3000 * Math.sin(i / 2.3)));
      const frame = from / 50;
      let firstBuffer: ArrayBufferLike | null = null;
      for (let off = 0; off < x.length; off += frame) {
        const pcm = x.subarray(off, off + frame);
        const want = a.process(int16ToFloat(pcm));
        const got = b.processInt16(pcm);
        expect(Array.from(got)).toEqual(Array.from(want));
        firstBuffer ??= got.buffer;
        expect(got.buffer).toBe(firstBuffer); // no typed array per frame
      }
    }
  });

  it('processView (float frames, in a listen worker) gives exactly what processInt16 gives', async () => {
    const { int16ToFloat } = await import('../gateway/audio/codec.js');
    const a = new Resampler(8000, 16000);
    const b = new Resampler(8000, 16000);
    const x = Int16Array.from({ length: 8000 }, (_, i) => Math.round(9000 * Math.sin(i / 5) - 2000 * Math.sin(i / 1.9)));
    for (let off = 0; off < x.length; off += 160) {
      const pcm = x.subarray(off, off + 160);
      const want = Array.from(a.processInt16(pcm));
      expect(want).toHaveLength(320);
      expect(Array.from(b.processView(int16ToFloat(pcm)))).toEqual(want);
    }
  });
});

describe('promptReference (a prompt converted once for every call playing it)', () => {
  it("a frame from it equals the call's own streaming resampler for a prompt played from its start", async () => {
    const { promptReference } = await import('../gateway/call/PromptReference.js');
    const prompt = Int16Array.from({ length: 8000 }, (_, i) => Math.round(9000 * Math.sin(i / 4) + 4000 * Math.sin(i / 1.7)));
    const own = new Resampler(8000, 16000);
    let buffer: ArrayBufferLike | null = null;
    for (let at = 0; at < prompt.length; at += 160) {
      const frame = prompt.subarray(at, at + 160);
      const want = Array.from(own.processInt16(frame));
      const got = promptReference(prompt, 8000, 16000, at, at + 160);
      expect(Array.from(got)).toEqual(want);
      buffer ??= got.buffer;
      expect(got.buffer).toBe(buffer); // one conversion, views of it
    }
    // Another prompt with the same samples is its own entry, not a stale one.
    const other = prompt.map((v) => -v);
    expect(promptReference(other, 8000, 16000, 0, 160)[5]).toBeCloseTo(-promptReference(prompt, 8000, 16000, 0, 160)[5], 6);
  });
});
