// The one-hidden-layer network both barge-in classifiers use (gateway/listen/nearEnd/: NearEndModel,
// InterruptionModel), trained here: tanh hidden units, a logistic output, Adam on class-balanced cross-entropy with L2
// on the first layer, inputs standardised on the training rows. Deterministic for a seed. Pure TS, so a trainer runs
// where the gateway runs, with no framework to install.
import type { OneLayerWeights } from '../../gateway/listen/nearEnd/OneLayerNet.js';

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TrainOptions {
  hidden: number;
  epochs: number;
  lr: number;
  seed: number;
  l2: number;
  /** Stop after this many epochs without a better validation loss (only with validation rows). */
  patience: number;
  /** Rows per Adam step. */
  batch: number;
}

/** The weights as the models read them (OneLayerNet: standardisation, then the two layers), rounded to 5 decimals. */
export type NetWeights = OneLayerWeights;

/** A trained network and the epoch early stopping kept (the last when there were no validation rows). */
export interface Trained {
  net: NetWeights;
  bestEpoch: number;
  valLoss: number;
}

/**
 * Trains on `trainRows` of X (rows of D inputs, labels y); `valRows` picks the epoch kept and stops after `patience`
 * epochs without a better loss (all `epochs` when empty). `log` hears each epoch's validation loss.
 */
export function trainNet(X: Float32Array, D: number, y: Uint8Array, trainRows: Int32Array, valRows: Int32Array, o: TrainOptions, log?: (epoch: number, valLoss: number) => void): Trained {
  const H = o.hidden;
  const n = trainRows.length;
  const mean = new Float64Array(D);
  const scale = new Float64Array(D);
  for (const i of trainRows) for (let f = 0; f < D; f++) mean[f] += X[i * D + f] / n;
  for (const i of trainRows) for (let f = 0; f < D; f++) scale[f] += (X[i * D + f] - mean[f]) ** 2 / n;
  for (let f = 0; f < D; f++) scale[f] = Math.sqrt(scale[f]) > 1e-6 ? Math.sqrt(scale[f]) : 1;
  const z = new Float64Array(D);
  const norm = (i: number) => {
    for (let f = 0; f < D; f++) z[f] = (X[i * D + f] - mean[f]) / scale[f];
    return z;
  };
  let pos = 0;
  for (const i of trainRows) pos += y[i];
  const wPos = n / (2 * Math.max(1, pos));
  const wNeg = n / (2 * Math.max(1, n - pos));
  const r = rng(o.seed);
  const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  // Parameters in one array: w1 (H×D), b1 (H), w2 (H), b2 (1).
  const P = H * D + H + H + 1;
  const th = new Float64Array(P);
  for (let k = 0; k < H * D; k++) th[k] = gauss() / Math.sqrt(D);
  for (let k = 0; k < H; k++) th[H * D + H + k] = gauss() / Math.sqrt(H);
  const m = new Float64Array(P);
  const v = new Float64Array(P);
  const g = new Float64Array(P);
  const h = new Float64Array(H);
  const order = Int32Array.from(trainRows);
  let step = 0;
  const forward = (x: Float64Array) => {
    let out = th[P - 1];
    for (let j = 0; j < H; j++) {
      let a = th[H * D + j];
      const row = j * D;
      for (let f = 0; f < D; f++) a += th[row + f] * x[f];
      h[j] = Math.tanh(a);
      out += th[H * D + H + j] * h[j];
    }
    return 1 / (1 + Math.exp(-out));
  };
  const valLoss = () => {
    let l = 0;
    let ws = 0;
    for (const i of valRows) {
      const p = Math.min(1 - 1e-7, Math.max(1e-7, forward(norm(i))));
      const w = y[i] ? wPos : wNeg;
      l += -w * (y[i] ? Math.log(p) : Math.log(1 - p));
      ws += w;
    }
    return l / (ws || 1);
  };
  let best = { loss: Infinity, epoch: 0, th: th.slice() };
  for (let ep = 1; ep <= o.epochs; ep++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    for (let s = 0; s < n; s += o.batch) {
      g.fill(0);
      const end = Math.min(n, s + o.batch);
      let wsum = 0;
      for (let q = s; q < end; q++) {
        const i = order[q];
        const x = norm(i);
        const p = forward(x);
        const w = y[i] ? wPos : wNeg;
        wsum += w;
        const dz = w * (p - y[i]);
        g[P - 1] += dz;
        for (let j = 0; j < H; j++) {
          g[H * D + H + j] += dz * h[j];
          const da = dz * th[H * D + H + j] * (1 - h[j] * h[j]);
          if (da === 0) continue;
          g[H * D + j] += da;
          const row = j * D;
          for (let f = 0; f < D; f++) g[row + f] += da * x[f];
        }
      }
      step++;
      const c1 = 1 - 0.9 ** step;
      const c2 = 1 - 0.999 ** step;
      for (let k = 0; k < P; k++) {
        const gk = g[k] / wsum + (k < H * D ? o.l2 * th[k] : 0);
        m[k] = 0.9 * m[k] + 0.1 * gk;
        v[k] = 0.999 * v[k] + 0.001 * gk * gk;
        th[k] -= (o.lr * (m[k] / c1)) / (Math.sqrt(v[k] / c2) + 1e-8);
      }
    }
    if (!valRows.length) {
      best = { loss: NaN, epoch: ep, th: th.slice() };
      continue;
    }
    const l = valLoss();
    log?.(ep, l);
    if (l < best.loss) best = { loss: l, epoch: ep, th: th.slice() };
    else if (ep - best.epoch >= o.patience) break;
  }
  const t = best.th;
  const round = (x: number) => Math.round(x * 1e5) / 1e5;
  return {
    bestEpoch: best.epoch,
    valLoss: best.loss,
    net: {
      mean: Array.from(mean, round),
      scale: Array.from(scale, round),
      w1: Array.from(t.subarray(0, H * D), round),
      b1: Array.from(t.subarray(H * D, H * D + H), round),
      w2: Array.from(t.subarray(H * D + H, H * D + 2 * H), round),
      b2: round(t[P - 1]),
    },
  };
}
