// gateway/listen/nearEnd/: the near-end frame classifier's features and model, and the offline barge-in replay
// (bench/bargein/offline.ts) it is tuned with.
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, N_FEATURES, NearEndFeatures, type FrameFigures } from '../gateway/listen/nearEnd/NearEndFeatures.js';
import { BUILTIN_NEAR_END_WEIGHTS, NearEndModel, type NearEndWeights } from '../gateway/listen/nearEnd/NearEndModel.js';
import { replay, type FramePolicy, type ScenarioFrames } from '../bench/bargein/offline.js';

const L = 512;
/** A frame's figures: energies given as per-sample dBFS-like levels (10·log10 of the mean square). */
function fig(o: Partial<{ prob: number; res: number; mic: number; exp: number; noise: number; excess: number; locked: boolean; verdict: FrameFigures['verdict']; echo: boolean }>): FrameFigures {
  const e = (db: number) => 10 ** (db / 10) * L;
  return {
    prob: o.prob ?? 0,
    res: e(o.res ?? -60),
    mic: e(o.mic ?? o.res ?? -60),
    exp: e(o.exp ?? -90),
    noise: e(o.noise ?? -90),
    excess: e(o.excess ?? -100),
    est: 0,
    ref: 0,
    locked: o.locked ?? false,
    verdict: o.verdict ?? 'clear',
    echo: o.echo ?? false,
  };
}
const idx = (name: (typeof FEATURE_NAMES)[number]) => FEATURE_NAMES.indexOf(name);

describe('NearEndFeatures', () => {
  it('measures a frame against the call floor: steady noise sits at it, a voice on top stands out', () => {
    const fx = new NearEndFeatures(L);
    const x = new Float64Array(N_FEATURES);
    for (let i = 0; i < 50; i++) fx.next(fig({ res: -50 }), x);
    expect(x[idx('overFloor')]).toBeCloseTo(0, 1);
    fx.next(fig({ res: -30, prob: 0.9 }), x);
    expect(x[idx('overFloor')] * 10).toBeCloseTo(20, 0);
    expect(x[idx('rise')] * 10).toBeCloseTo(20, 0);
  });

  it('lets the floor rise slowly, so babble that starts loud becomes the floor within seconds, not frames', () => {
    const fx = new NearEndFeatures(L);
    const x = new Float64Array(N_FEATURES);
    for (let i = 0; i < 20; i++) fx.next(fig({ res: -60 }), x);
    fx.next(fig({ res: -40 }), x);
    const first = x[idx('overFloor')] * 10;
    for (let i = 0; i < 400; i++) fx.next(fig({ res: -40 }), x);
    expect(first).toBeGreaterThan(19);
    expect(x[idx('overFloor')] * 10).toBeLessThan(0.5);
  });

  it('carries the VAD history of the last frames (causal: only past frames)', () => {
    const fx = new NearEndFeatures(L);
    const x = new Float64Array(N_FEATURES);
    fx.next(fig({ prob: 0.8 }), x);
    fx.next(fig({ prob: 0.1 }), x);
    expect(x[idx('prob')]).toBeCloseTo(0.1);
    expect(x[idx('probPrev')]).toBeCloseTo(0.8);
    expect(x[idx('probMax3')]).toBeCloseTo(0.8);
  });

  it('gives the same features for a narrowband call at half the samples per frame', () => {
    const wide = new NearEndFeatures(512);
    const narrow = new NearEndFeatures(256);
    const a = new Float64Array(N_FEATURES);
    const b = new Float64Array(N_FEATURES);
    const f = fig({ res: -40, prob: 0.5, locked: true, exp: -55, noise: -65, excess: -45 });
    wide.next(f, a);
    narrow.next({ ...f, res: f.res / 2, mic: f.mic / 2, exp: f.exp / 2, noise: f.noise / 2, excess: f.excess / 2 }, b);
    for (let i = 0; i < N_FEATURES; i++) expect(b[i]).toBeCloseTo(a[i], 5);
  });
});

describe('NearEndModel', () => {
  const tiny = (): NearEndWeights => ({
    features: [...FEATURE_NAMES],
    mean: new Array(N_FEATURES).fill(0),
    scale: new Array(N_FEATURES).fill(1),
    w1: Array.from({ length: N_FEATURES }, (_, i) => (i === 0 ? 4 : 0)),
    b1: [-2],
    w2: [3],
    b2: 0,
  });

  it('scores through one tanh layer and a logistic output', () => {
    const m = new NearEndModel(tiny());
    const x = new Float64Array(N_FEATURES);
    x[0] = 1;
    const want = 1 / (1 + Math.exp(-3 * Math.tanh(2)));
    expect(m.score(x)).toBeCloseTo(want, 10);
    x[0] = 0;
    expect(m.score(x)).toBeCloseTo(1 / (1 + Math.exp(-3 * Math.tanh(-2))), 10);
  });

  it('refuses weights made for other features or with inconsistent layers', () => {
    expect(() => new NearEndModel({ ...tiny(), features: ['prob'] })).toThrow(/features/);
    expect(() => new NearEndModel({ ...tiny(), w2: [1, 2] })).toThrow(/inconsistent/);
  });

  it('ships trained weights that tell a voice standing out from a quiet line from echo the gate called hard', () => {
    const m = NearEndModel.load(BUILTIN_NEAR_END_WEIGHTS);
    const run = (frames: FrameFigures[]) => {
      const fx = new NearEndFeatures(L);
      const x = new Float64Array(N_FEATURES);
      let q = 0;
      for (const f of frames) {
        fx.next(f, x);
        q = m.score(x);
      }
      return q;
    };
    const quiet = Array.from({ length: 40 }, () => fig({ res: -62, locked: true, exp: -75, noise: -64 }));
    const voice = run([...quiet, ...Array.from({ length: 4 }, () => fig({ res: -32, mic: -31, prob: 0.97, locked: true, exp: -75, noise: -64, excess: -33 }))]);
    const echo = run([...quiet, ...Array.from({ length: 4 }, () => fig({ res: -50, mic: -25, prob: 0.6, locked: true, exp: -50, noise: -64, excess: -70, verdict: 'hard', echo: true }))]);
    expect(voice).toBeGreaterThan(0.5);
    expect(echo).toBeLessThan(0.5);
  });
});

describe('offline replay', () => {
  const frames = (n: number): ScenarioFrames => ({ id: 'x', rate: 16000, n, cols: {} as ScenarioFrames['cols'] });
  /** A policy that acts on fixed frame indices. */
  const scripted = (acts: Record<number, 'pause' | 'resume' | 'commit'>): FramePolicy => ({
    frame: (_s, i) => {
      const a = acts[i];
      const t = (i + 1) * 32;
      if (a === 'pause') return [{ type: 'pause', t, onsetT: t - 32 }];
      if (a === 'resume') return [{ type: 'resume', t }];
      if (a === 'commit') return [{ type: 'commit', t, onsetT: t - 64, voicedMs: 320, reason: 'duration' }];
      return [];
    },
  });

  it('records pause, resume and commit as a client sees them, at the deciding frame', () => {
    const rec = replay(frames(100), 5000, scripted({ 10: 'pause', 15: 'resume', 30: 'pause', 40: 'commit' }));
    expect(rec.events.map((e) => `${e.type}@${e.t}`)).toEqual(['prompt_paused@352', 'prompt_resumed@512', 'prompt_paused@992', 'barge_in@1312', 'call_summary@3200']);
  });

  it('ignores decisions once the prompt has finished, counting paused time as not played', () => {
    // 10 frames of prompt (320 ms); paused for 5 frames, so it plays until frame 14.
    const rec = replay(frames(40), 320, scripted({ 2: 'pause', 7: 'resume', 13: 'pause', 14: 'commit', 20: 'pause' }));
    expect(rec.events.map((e) => e.type)).toEqual(['prompt_paused', 'prompt_resumed', 'prompt_paused', 'barge_in', 'call_summary']);
    const late = replay(frames(40), 320, scripted({ 20: 'pause', 25: 'commit' }));
    expect(late.events.map((e) => e.type)).toEqual(['call_summary']);
  });
});
