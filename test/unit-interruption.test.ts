// gateway/listen/nearEnd/{BandEnergies,InterruptionFeatures,InterruptionModel}.ts: the interruption classifier's
// band energies, its causal inputs, its model and the mapping of its thresholds onto the VAD's; and that the band
// energies change nothing in the listen worker's frames when they are off (the default).
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BandEnergies, bandMap, N_BANDS } from '../gateway/listen/nearEnd/BandEnergies.js';
import { InterruptionFeatures, interruptionFeatureNames, N_INTERRUPTION_FEATURES, PER_FRAME } from '../gateway/listen/nearEnd/InterruptionFeatures.js';
import { BUILTIN_INTERRUPTION_WEIGHTS, InterruptionModel, onVadScale, type InterruptionWeights } from '../gateway/listen/nearEnd/InterruptionModel.js';
import type { FrameFigures } from '../gateway/listen/nearEnd/NearEndFeatures.js';
import { InboundAudio } from '../gateway/listen/InboundAudio.js';
import { loadConfig } from '../gateway/config.js';

const tone = (hz: number, rate: number, n: number, amp = 0.1) => Float32Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / rate));
const db = (x: number) => 10 * Math.log10(x + 1e-10);

describe('BandEnergies', () => {
  it('puts a tone in its own mel band, and nothing outside 300–3400 Hz', () => {
    const be = new BandEnergies(512, 16000);
    const out = new Float64Array(N_BANDS);
    be.bands(tone(1000, 16000, 512), null, out, 0);
    const map = bandMap(512, 16000);
    const band = map[Math.round((1000 / 16000) * 512)];
    const top = out.indexOf(Math.max(...out));
    expect(top).toBe(band);
    be.bands(tone(5000, 16000, 512), null, out, 0);
    expect(Math.max(...out)).toBeLessThan(1e-6);
  });

  it('gives the same figures for the same sound at 16 kHz and 8 kHz (rate-free inputs)', () => {
    const a = new Float64Array(N_BANDS);
    const b = new Float64Array(N_BANDS);
    new BandEnergies(512, 16000).bands(tone(700, 16000, 512), null, a, 0);
    new BandEnergies(256, 8000).bands(tone(700, 8000, 256), null, b, 0);
    for (let k = 0; k < N_BANDS; k++) if (a[k] > 1e-6) expect(Math.abs(db(a[k]) - db(b[k]))).toBeLessThan(0.5);
  });

  it('measures a − b when given both (the echo estimate as microphone − residual)', () => {
    const be = new BandEnergies(256, 8000);
    const out = new Float64Array(N_BANDS);
    const x = tone(1500, 8000, 256);
    be.bands(x, x, out, 0);
    expect(Math.max(...out)).toBe(0);
  });
});

function fig(prob: number, resDb = -60): FrameFigures {
  const e = 10 ** (resDb / 10) * 512;
  return { prob, res: e, mic: e, exp: 1e-9, noise: 1e-9, excess: 0, est: 0, ref: 0, locked: false, verdict: 'clear', echo: false };
}
const bandsDb = (r: number, e = -100) => [...Array(N_BANDS).fill(r), ...Array(N_BANDS).fill(e)];

describe('InterruptionFeatures', () => {
  it('has as many named inputs as it writes', () => {
    expect(interruptionFeatureNames()).toHaveLength(N_INTERRUPTION_FEATURES);
  });

  it('is causal: a later frame never changes what an earlier one gave', () => {
    const run = (last: number) => {
      const fx = new InterruptionFeatures(512);
      const x = new Float64Array(N_INTERRUPTION_FEATURES);
      const outs: number[][] = [];
      for (let i = 0; i < 12; i++) {
        fx.next(fig(i === 11 ? last : 0.1 * (i % 3)), bandsDb(i === 11 ? -20 : -60 + i), x);
        outs.push([...x]);
      }
      return outs;
    };
    const a = run(0.9);
    const b = run(0.0);
    for (let i = 0; i < 11; i++) expect(a[i]).toEqual(b[i]);
    expect(a[11]).not.toEqual(b[11]);
  });

  it('stacks the frames before it: the residual band of one frame back is last frame\'s', () => {
    const fx = new InterruptionFeatures(512);
    const x = new Float64Array(N_INTERRUPTION_FEATURES);
    fx.next(fig(0.2), bandsDb(-50), x);
    fx.next(fig(0.2), bandsDb(-30), x);
    const resBand0 = 20; // after the 20 near-end figures
    expect(x[resBand0]).toBeCloseTo(-30);
    expect(x[PER_FRAME + resBand0]).toBeCloseTo(-50);
    // …and the band against its running floor: 20 dB over it.
    expect(x[resBand0 + 2 * N_BANDS]).toBeCloseTo(20, 0);
  });
});

describe('InterruptionModel', () => {
  it('folds the standardisation into the first layer (the same as scoring standardised inputs)', () => {
    const F = N_INTERRUPTION_FEATURES;
    const H = 3;
    let s = 1;
    const r = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
    const w: InterruptionWeights = {
      kind: 'interruption',
      features: interruptionFeatureNames(),
      mean: Array.from({ length: F }, r),
      scale: Array.from({ length: F }, () => 1 + Math.abs(r())),
      w1: Array.from({ length: H * F }, () => r() * 0.1),
      b1: [0.1, -0.2, 0.3],
      w2: [1, -1, 0.5],
      b2: 0.2,
    };
    const m = new InterruptionModel(w);
    const x = Array.from({ length: F }, r);
    let z = w.b2;
    for (let j = 0; j < H; j++) {
      let a = w.b1[j];
      for (let i = 0; i < F; i++) a += w.w1[j * F + i] * ((x[i] - w.mean[i]) / w.scale[i]);
      z += w.w2[j] * Math.tanh(a);
    }
    expect(m.score(x)).toBeCloseTo(1 / (1 + Math.exp(-z)), 9);
  });

  it('refuses weights trained for other inputs', () => {
    expect(() => new InterruptionModel({ kind: 'interruption', features: ['a'], mean: [0], scale: [1], w1: [1], b1: [0], w2: [1], b2: 0 })).toThrow(/features/);
  });

  it.runIf(existsSync(BUILTIN_INTERRUPTION_WEIGHTS))('ships weights that record their data and settings', () => {
    const m = InterruptionModel.load(BUILTIN_INTERRUPTION_WEIGHTS);
    const t = m.w.trainedOn as Record<string, unknown>;
    expect(String(t.corpus)).toMatch(/tune half only/);
    expect(t.thresholds).toBeTruthy();
    const p = m.score(new Float64Array(N_INTERRUPTION_FEATURES));
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThanOrEqual(1);
  });
});

describe('onVadScale', () => {
  const own = { pauseThreshold: 0.6, silenceThreshold: 0.2 };
  const vad = { pauseThreshold: 0.3, silenceThreshold: 0.25 };
  it('keeps the classifier\'s decisions on the VAD\'s thresholds', () => {
    for (let p = 0; p <= 1.0001; p += 0.01) {
      const m = onVadScale(p, own, vad);
      expect(m >= vad.pauseThreshold).toBe(p >= own.pauseThreshold);
      expect(m < vad.silenceThreshold).toBe(p < own.silenceThreshold);
    }
  });
  it('is monotone and maps 0 → 0, 1 → 1', () => {
    let last = -1;
    for (let p = 0; p <= 1.0001; p += 0.01) {
      const m = onVadScale(Math.min(1, p), own, vad);
      expect(m).toBeGreaterThanOrEqual(last);
      last = m;
    }
    expect(onVadScale(0, own, vad)).toBe(0);
    expect(onVadScale(1, own, vad)).toBeCloseTo(1);
  });
});

describe('InboundAudio band energies', () => {
  it('are off by default, and on they change none of the frame\'s figures', () => {
    const echo = loadConfig({}, { port: 0 }).echo;
    // Without a reference: each canceller's search phase differs by instance (EchoCanceller spreads them), so two
    // cancellers on one line do not give the same residual to compare; the band energies only read the frame.
    const off = new InboundAudio(echo, false, false, 8000);
    const on = new InboundAudio(echo, false, false, 8000, null, true);
    const mic = Float32Array.from({ length: 8000 }, (_, i) => 0.05 * Math.sin(i / 3) + (i > 4000 ? 0.1 * Math.sin(i / 7) : 0));
    off.pushNarrow(mic);
    on.pushNarrow(mic);
    const a = off.takeFrames().map((f) => ({ s: [...f.samples], info: f.info, v: f.verdict, b: f.bands }));
    const b = on.takeFrames().map((f) => ({ s: [...f.samples], info: f.info, v: f.verdict, b: f.bands }));
    expect(a.length).toBe(b.length);
    expect(a.length).toBeGreaterThan(5);
    for (let i = 0; i < a.length; i++) {
      expect(a[i].b).toBeUndefined();
      expect(b[i].b).toHaveLength(2 * N_BANDS);
      expect(b[i].s).toEqual(a[i].s);
      expect(b[i].info).toEqual(a[i].info);
      expect(b[i].v).toBe(a[i].v);
    }
  });
});
