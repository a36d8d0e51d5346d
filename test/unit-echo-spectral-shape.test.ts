// The canceller's shape figures (echo.shapeFigures, measurement only): the pure measures of echo/spectralShape.ts,
// that the figures cost nothing and stay 0 when off (the default), and that on a G.168 line they do tell a callee
// from residual echo (what the corpus's hard-gated frames did not show, README "Barge-in").
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../gateway/config.js';
import { BlockFilter, type BlockResult } from '../gateway/listen/echo/BlockFilter.js';
import { spectralFit, unexplainedShare } from '../gateway/listen/echo/spectralShape.js';
import { G168, dB, line, load, rms, run } from './unit-echo-lines.js';

describe('spectral shape measures', () => {
  it('a residual shaped like the echo estimate is explained by it, one of another shape is not', () => {
    const r = [1, 4, 0, 2, 0, 3];
    const y = r.map((v) => 0.3 * v); // a scaled copy
    const other = [0, 0, 5, 0, 4, 0]; // energy where the estimate has none
    const sums = (a: number[], b: number[]) => [a.reduce((s, v, k) => s + v * b[k], 0), a.reduce((s, v) => s + v * v, 0), b.reduce((s, v) => s + v * v, 0)] as const;
    expect(spectralFit(...sums(r, y))).toBeCloseTo(1, 12);
    expect(unexplainedShare(...sums(r, y))).toBeCloseTo(0, 12);
    expect(spectralFit(...sums(other, y))).toBe(0);
    expect(unexplainedShare(...sums(other, y))).toBe(1);
    const mixed = r.map((v, k) => v + other[k]);
    const u = unexplainedShare(...sums(mixed, y));
    expect(u).toBeGreaterThan(0.3);
    expect(u).toBeLessThan(0.9);
  });

  it('silent spectra and rounding stay inside 0…1', () => {
    expect(spectralFit(0, 0, 5)).toBe(0);
    expect(spectralFit(0, 5, 0)).toBe(0);
    expect(spectralFit(5.0000001, 5, 5)).toBe(1);
    expect(unexplainedShare(5.0000001, 5, 5)).toBe(0);
  });
});

describe('shape figures on a line', () => {
  const prompt = load('bargein/prompts/p02.wav');
  const callee = load('natural/025_audiocmn-YueTan_shen2_me0.wav');
  const l = line(prompt, [{ from: 0, model: G168.D3, delayMs: 120, erlDb: 6 }], { noiseDbfs: -70, talker: callee, talkerDbfs: -32, talkerAt: 40000 });
  const F = 512;
  const base = ConfigSchema.parse({}).echo;

  it('are off by default and then all 0, and change nothing the filter does', () => {
    expect(base.shapeFigures).toBe(false);
    // The filter itself (an InboundAudio's canceller spreads its search phase by instance, so two runs differ).
    const N = 256;
    const mk = (shapeFigures: boolean) => new BlockFilter({ block: N, partitions: 4, suppressFloor: 0, binMargin: 4, rate: 16000, shapeFigures });
    const off = mk(false);
    const on = mk(true);
    const lead = 1920 - N; // the window starts a block before the 120 ms path
    const x = new Float64Array(N);
    const outOff = new Float32Array(N);
    const outOn = new Float32Array(N);
    const blank = (): BlockResult => ({ mic: 0, residual: 0, echo: 0, expected: 0, noise: 0, excess: 0, ref: 0, bandRes: 0, bandEst: 0, bandCross: 0, overBins: 0, bandBins: 0, incoherent: 0, cohDe: 0, cross: 0, rawResidual: 0 });
    const rOff = blank();
    const rOn = blank();
    let figures = 0;
    for (let start = 0; start + N <= l.mic.length; start += N) {
      for (let i = 0; i < N; i++) x[i] = l.ref[start - lead + i] ?? 0;
      const mic = l.mic.subarray(start, start + N);
      off.process(mic, x, null, outOff, rOff);
      on.process(mic, x, null, outOn, rOn);
      expect(outOn).toEqual(outOff);
      expect([rOn.residual, rOn.expected, rOn.noise, rOn.excess, rOn.echo]).toEqual([rOff.residual, rOff.expected, rOff.noise, rOff.excess, rOff.echo]);
      expect(rOff.bandRes + rOff.bandEst + rOff.bandCross + rOff.overBins + rOff.bandBins + rOff.incoherent + rOff.cohDe).toBe(0);
      if (rOn.bandBins > 0 && rOn.incoherent > 0) figures++;
    }
    expect(figures).toBeGreaterThan(100);
  });

  it('a callee (−32 dBFS) over echo at ERL 6 dB stands out in bins and shape; echo alone does not', () => {
    const r = run(l, { ...base, shapeFigures: true });
    expect(r.lockAt).not.toBeNull();
    const echo: { over: number; unexplained: number }[] = [];
    const talk: typeof echo = [];
    for (const f of r.frames) {
      const a = f.index * F;
      if (a < r.lockAt! + 8000 || !f.info.bandBins || dB(rms(l.echo, a, a + F)) < -45) continue;
      const i = f.info;
      const x = { over: i.overBins / i.bandBins, unexplained: unexplainedShare(i.bandCross, i.bandRes, i.bandEst) };
      const t = dB(rms(l.talker, a, a + F));
      if (t < -70) echo.push(x);
      else if (t > -38) talk.push(x);
    }
    const med = (xs: typeof echo, k: 'over' | 'unexplained') => xs.map((x) => x[k]).sort((p, q) => p - q)[xs.length >> 1];
    expect(echo.length).toBeGreaterThan(50);
    expect(talk.length).toBeGreaterThan(8);
    // Measured: bins above the margin 0.075 (echo) vs 0.60 (callee); unexplained 0.46 vs 0.82.
    expect(med(talk, 'over')).toBeGreaterThan(4 * med(echo, 'over'));
    expect(med(talk, 'unexplained')).toBeGreaterThan(med(echo, 'unexplained') + 0.2);
  });
});
