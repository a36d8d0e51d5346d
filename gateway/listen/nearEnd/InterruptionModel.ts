// The interruption classifier: the probability that a frame is the callee interrupting the prompt (a barge-in's
// speech) rather than echo, noise, a backchannel, a cough, a laugh, a click, a key or a TV. One hidden layer (tanh)
// and a logistic output over InterruptionFeatures, weights from a JSON file written by
// bench/bargein/train-interruption.ts (tuning half of the barge-in corpus only; the file records data and settings).
// ~5k multiply-adds a frame, and only for calls with an interruptible prompt playing.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { interruptionFeatureNames, N_INTERRUPTION_FEATURES } from './InterruptionFeatures.js';
import { OneLayerNet, type OneLayerWeights } from './OneLayerNet.js';

/** The weights shipped with the gateway (`bargeIn.interruption` with `weights` empty). */
export const BUILTIN_INTERRUPTION_WEIGHTS = fileURLToPath(new URL('./interruption.v1.json', import.meta.url));

export interface InterruptionWeights extends OneLayerWeights {
  kind: 'interruption';
  features: readonly string[];
  trainedOn?: unknown;
}

export class InterruptionModel {
  private readonly net: OneLayerNet;

  constructor(readonly w: InterruptionWeights) {
    const names = interruptionFeatureNames();
    if (w.kind !== 'interruption' || w.features.length !== N_INTERRUPTION_FEATURES || w.features.some((f, i) => f !== names[i])) {
      throw new Error('interruption weights: not for these features (InterruptionFeatures changed since they were trained)');
    }
    this.net = new OneLayerNet(w, N_INTERRUPTION_FEATURES, 'interruption');
  }

  static load(path: string): InterruptionModel {
    return new InterruptionModel(JSON.parse(readFileSync(path, 'utf8')) as InterruptionWeights);
  }

  /** P(the callee is interrupting) for one frame's inputs. */
  score(x: ArrayLike<number>): number {
    return this.net.score(x);
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
