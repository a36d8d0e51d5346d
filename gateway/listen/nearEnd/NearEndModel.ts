// A small trained classifier over NearEndFeatures: the probability that a frame is the callee speaking rather than
// our own echo's residue, line noise, an event or background speech. One hidden layer (tanh) and a logistic output,
// weights from a JSON file written by bench/bargein/train-near-end.ts (trained on the barge-in corpus's tuning half
// only; the file records the data and settings it came from). A few hundred multiply-adds per frame.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FEATURE_NAMES, N_FEATURES } from './NearEndFeatures.js';
import { OneLayerNet, type OneLayerWeights } from './OneLayerNet.js';

/** The weights shipped with the gateway (bargeIn.nearEnd.weights empty). */
export const BUILTIN_NEAR_END_WEIGHTS = fileURLToPath(new URL('./near-end.v1.json', import.meta.url));

export interface NearEndWeights extends OneLayerWeights {
  features: readonly string[];
  /** Where the weights came from (data split, settings, scores): documentation only. */
  trainedOn?: unknown;
}

export class NearEndModel {
  private readonly net: OneLayerNet;

  constructor(readonly w: NearEndWeights) {
    if (w.features.length !== N_FEATURES || w.features.some((f, i) => f !== FEATURE_NAMES[i])) {
      throw new Error(`near-end weights are for features [${w.features.join(', ')}], not [${FEATURE_NAMES.join(', ')}]`);
    }
    this.net = new OneLayerNet(w, N_FEATURES, 'near-end');
  }

  static load(path: string): NearEndModel {
    return new NearEndModel(JSON.parse(readFileSync(path, 'utf8')) as NearEndWeights);
  }

  /** P(callee speech) for one frame's features. */
  score(x: ArrayLike<number>): number {
    return this.net.score(x);
  }
}
