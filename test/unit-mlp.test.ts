// The barge-in classifiers' trainer (bench/bargein/mlp.ts): it learns a separable problem, the same seed gives the
// same weights, and validation rows stop it and keep the best epoch.
import { describe, expect, it } from 'vitest';
import { rng, trainNet, type NetWeights } from '../bench/bargein/mlp.js';

/** Two inputs, label = x0 + x1 > 1 (with a third, useless input), n rows. */
function problem(n: number, seed: number) {
  const r = rng(seed);
  const X = new Float32Array(n * 3);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    X[i * 3] = r();
    X[i * 3 + 1] = r();
    X[i * 3 + 2] = r();
    y[i] = X[i * 3] + X[i * 3 + 1] > 1 ? 1 : 0;
  }
  return { X, y };
}

function predict(w: NetWeights, x: ArrayLike<number>): number {
  const H = w.b1.length;
  const D = w.mean.length;
  let out = w.b2;
  for (let j = 0; j < H; j++) {
    let a = w.b1[j];
    for (let f = 0; f < D; f++) a += w.w1[j * D + f] * ((x[f] - w.mean[f]) / w.scale[f]);
    out += w.w2[j] * Math.tanh(a);
  }
  return 1 / (1 + Math.exp(-out));
}

const rows = (from: number, to: number) => Int32Array.from({ length: to - from }, (_, i) => from + i);
const O = { hidden: 4, epochs: 30, lr: 0.01, seed: 3, l2: 1e-4, patience: 3, batch: 64 };

describe('mlp trainer', () => {
  it('learns a separable problem: held-out rows right ≥ 95 %', () => {
    const { X, y } = problem(3000, 1);
    const t = trainNet(X, 3, y, rows(0, 2000), new Int32Array(0), O);
    let right = 0;
    for (let i = 2000; i < 3000; i++) right += (predict(t.net, X.subarray(i * 3, i * 3 + 3)) > 0.5 ? 1 : 0) === y[i] ? 1 : 0;
    expect(right / 1000).toBeGreaterThanOrEqual(0.95);
    expect(t.bestEpoch).toBe(O.epochs);
  });

  it('is deterministic for a seed, and another seed gives other weights', () => {
    const { X, y } = problem(500, 2);
    const a = trainNet(X, 3, y, rows(0, 500), new Int32Array(0), { ...O, epochs: 3 });
    const b = trainNet(X, 3, y, rows(0, 500), new Int32Array(0), { ...O, epochs: 3 });
    const c = trainNet(X, 3, y, rows(0, 500), new Int32Array(0), { ...O, epochs: 3, seed: 4 });
    expect(a.net).toEqual(b.net);
    expect(a.net.w1).not.toEqual(c.net.w1);
  });

  it('with validation rows keeps the best epoch and stops `patience` epochs after it', () => {
    const { X, y } = problem(2000, 5);
    const seen: number[] = [];
    const t = trainNet(X, 3, y, rows(0, 1500), rows(1500, 2000), { ...O, epochs: 200 }, (ep, l) => seen.push(l));
    expect(seen.length).toBeLessThan(200);
    expect(seen.length).toBe(t.bestEpoch + O.patience);
    expect(t.valLoss).toBe(Math.min(...seen));
  });
});
