// The barge-in classifiers' network: the standardisation folded into the first layer gives what the trainer's
// formula gives, and weights that do not fit the inputs are refused.
import { describe, expect, it } from 'vitest';
import { OneLayerNet, type OneLayerWeights } from '../gateway/listen/nearEnd/OneLayerNet.js';

const W: OneLayerWeights = { mean: [1, -2, 0.5], scale: [2, 0.5, 4], w1: [0.3, -0.7, 1.1, -0.2, 0.4, 0.9], b1: [0.1, -0.3], w2: [1.5, -2.5], b2: 0.2 };

/** The trainer's forward pass (bench/bargein/mlp.ts), standardising each input. */
function direct(w: OneLayerWeights, x: number[]): number {
  let out = w.b2;
  for (let j = 0; j < w.b1.length; j++) {
    let a = w.b1[j];
    for (let i = 0; i < x.length; i++) a += w.w1[j * x.length + i] * ((x[i] - w.mean[i]) / w.scale[i]);
    out += w.w2[j] * Math.tanh(a);
  }
  return 1 / (1 + Math.exp(-out));
}

describe('OneLayerNet', () => {
  it('scores as the trainer does, with the standardisation folded in', () => {
    const net = new OneLayerNet(W, 3, 'test');
    for (const x of [[0, 0, 0], [1, -2, 0.5], [3.5, 1, -7], [-4, 0.25, 12]]) expect(net.score(x)).toBeCloseTo(direct(W, x), 12);
  });

  it('refuses weights whose sizes do not fit the inputs, naming the model', () => {
    expect(() => new OneLayerNet(W, 4, 'near-end')).toThrow(/near-end weights: inconsistent layer sizes/);
    expect(() => new OneLayerNet({ ...W, w2: [1] }, 3, 'interruption')).toThrow(/interruption weights/);
  });
});
