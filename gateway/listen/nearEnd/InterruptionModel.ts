// The interruption classifier: the probability that a frame is the callee interrupting the prompt (a barge-in's
// speech) rather than echo, noise, a backchannel, a cough, a laugh, a click, a key or a TV. One hidden layer (tanh)
// and a logistic output over InterruptionFeatures, weights from a JSON file written by
// bench/bargein/train-interruption.ts (tuning half of the barge-in corpus only; the file records data and settings).
// ~5k multiply-adds a frame, and only for calls with an interruptible prompt playing.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { interruptionFeatureNames, N_INTERRUPTION_FEATURES } from './InterruptionFeatures.js';

/** The weights shipped with the gateway (`bargeIn.nearEnd.mode: interrupt` with `weights` empty). */
export const BUILTIN_INTERRUPTION_WEIGHTS = fileURLToPath(new URL('./interruption.v1.json', import.meta.url));

export interface InterruptionWeights {
  kind: 'interruption';
  features: readonly string[];
  mean: number[];
  scale: number[];
  /** hidden × features, row-major. */
  w1: number[];
  b1: number[];
  w2: number[];
  b2: number;
  trainedOn?: unknown;
}

export class InterruptionModel {
  private readonly hidden: number;
  private readonly w1: Float64Array;
  private readonly b1: Float64Array;
  private readonly w2: Float64Array;
  private readonly z: Float64Array;

  constructor(readonly w: InterruptionWeights) {
    const names = interruptionFeatureNames();
    if (w.kind !== 'interruption' || w.features.length !== N_INTERRUPTION_FEATURES || w.features.some((f, i) => f !== names[i])) {
      throw new Error('interruption weights: not for these features (InterruptionFeatures changed since they were trained)');
    }
    this.hidden = w.b1.length;
    const F = N_INTERRUPTION_FEATURES;
    if (w.w1.length !== this.hidden * F || w.w2.length !== this.hidden) throw new Error('interruption weights: inconsistent layer sizes');
    // Standardisation folded into the first layer: w'·x + b' = w·((x − mean) / scale) + b.
    this.w1 = new Float64Array(this.hidden * F);
    this.b1 = new Float64Array(this.hidden);
    for (let j = 0; j < this.hidden; j++) {
      let b = w.b1[j];
      for (let i = 0; i < F; i++) {
        const a = w.w1[j * F + i] / w.scale[i];
        this.w1[j * F + i] = a;
        b -= a * w.mean[i];
      }
      this.b1[j] = b;
    }
    this.w2 = Float64Array.from(w.w2);
    this.z = new Float64Array(F);
  }

  static load(path: string): InterruptionModel {
    return new InterruptionModel(JSON.parse(readFileSync(path, 'utf8')) as InterruptionWeights);
  }

  /** P(the callee is interrupting) for one frame's inputs. */
  score(x: ArrayLike<number>): number {
    const F = N_INTERRUPTION_FEATURES;
    const { w1, b1, w2 } = this;
    let out = this.w.b2;
    for (let j = 0; j < this.hidden; j++) {
      let a = b1[j];
      const row = j * F;
      for (let i = 0; i < F; i++) a += w1[row + i] * x[i];
      out += w2[j] * Math.tanh(a);
    }
    return 1 / (1 + Math.exp(-out));
  }
}

/**
 * The classifier's probability moved onto the VAD's scale, so that the call's one BargeInPolicy (whose thresholds
 * also cut speech events and consent answers from the VAD when no prompt plays) takes the classifier's decisions on
 * the classifier's own thresholds: monotone and piecewise linear, `own.pauseThreshold` → `vad.pauseThreshold`,
 * `own.silenceThreshold` → `vad.silenceThreshold`, so p ≥ own pause ⇔ mapped ≥ VAD pause, p < own silence ⇔
 * mapped < VAD silence.
 */
export function onVadScale(p: number, own: { pauseThreshold: number; silenceThreshold: number }, vad: { pauseThreshold: number; silenceThreshold: number }): number {
  const s = own.silenceThreshold;
  const q = Math.max(s, own.pauseThreshold);
  const s0 = vad.silenceThreshold;
  const q0 = Math.max(s0, vad.pauseThreshold);
  if (p < s) return s > 0 ? (p / s) * s0 : 0;
  if (p < q) return s0 + ((p - s) / (q - s)) * (q0 - s0);
  return q < 1 ? q0 + ((p - q) / (1 - q)) * (1 - q0) : 1;
}
