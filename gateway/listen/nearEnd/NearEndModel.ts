// A small trained classifier over NearEndFeatures: the probability that a frame is the callee speaking rather than
// our own echo's residue, line noise, an event or background speech. One hidden layer (tanh) and a logistic output,
// weights from a JSON file written by bench/bargein/train-near-end.ts (trained on the barge-in corpus's tuning half
// only; the file records the data and settings it came from). A few hundred multiply-adds per frame.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FEATURE_NAMES, N_FEATURES } from './NearEndFeatures.js';

/** The weights shipped with the gateway (bargeIn.nearEnd.weights empty). */
export const BUILTIN_NEAR_END_WEIGHTS = fileURLToPath(new URL('./near-end.v1.json', import.meta.url));

export interface NearEndWeights {
  features: readonly string[];
  /** Per feature: subtracted, then divided by. */
  mean: number[];
  scale: number[];
  /** hidden × features, row-major. */
  w1: number[];
  b1: number[];
  w2: number[];
  b2: number;
  /** Where the weights came from (data split, settings, scores): documentation only. */
  trainedOn?: unknown;
}

export class NearEndModel {
  private readonly hidden: number;
  private readonly h: Float64Array;

  constructor(readonly w: NearEndWeights) {
    if (w.features.length !== N_FEATURES || w.features.some((f, i) => f !== FEATURE_NAMES[i])) {
      throw new Error(`near-end weights are for features [${w.features.join(', ')}], not [${FEATURE_NAMES.join(', ')}]`);
    }
    this.hidden = w.b1.length;
    if (w.w1.length !== this.hidden * N_FEATURES || w.w2.length !== this.hidden) throw new Error('near-end weights: inconsistent layer sizes');
    this.h = new Float64Array(this.hidden);
  }

  static load(path: string): NearEndModel {
    return new NearEndModel(JSON.parse(readFileSync(path, 'utf8')) as NearEndWeights);
  }

  /** P(callee speech) for one frame's features. */
  score(x: ArrayLike<number>): number {
    const { mean, scale, w1, b1, w2, b2 } = this.w;
    let z = b2;
    for (let j = 0; j < this.hidden; j++) {
      let a = b1[j];
      const row = j * N_FEATURES;
      for (let i = 0; i < N_FEATURES; i++) a += w1[row + i] * ((x[i] - mean[i]) / scale[i]);
      const t = Math.tanh(a);
      this.h[j] = t;
      z += w2[j] * t;
    }
    return 1 / (1 + Math.exp(-z));
  }
}
