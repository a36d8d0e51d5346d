// The network both barge-in frame classifiers are (NearEndModel, InterruptionModel; trained by bench/bargein/mlp.ts):
// inputs standardised, one hidden layer of tanh units, a logistic output. The standardisation is folded into the
// first layer once, so a frame costs hidden × inputs multiply-adds and nothing is allocated per frame.

/** The weights as written by the trainer. */
export interface OneLayerWeights {
  /** Per input: subtracted, then divided by. */
  mean: number[];
  scale: number[];
  /** hidden × inputs, row-major. */
  w1: number[];
  b1: number[];
  w2: number[];
  b2: number;
}

export class OneLayerNet {
  private readonly hidden: number;
  private readonly w1: Float64Array;
  private readonly b1: Float64Array;
  private readonly w2: Float64Array;
  private readonly b2: number;

  /** `what` names the model in the error for weights whose sizes do not fit `inputs`. */
  constructor(w: OneLayerWeights, private readonly inputs: number, what: string) {
    const H = (this.hidden = w.b1.length);
    const F = inputs;
    if (w.mean.length !== F || w.scale.length !== F || w.w1.length !== H * F || w.w2.length !== H) throw new Error(`${what} weights: inconsistent layer sizes`);
    // w'·x + b' = w·((x − mean) / scale) + b.
    this.w1 = new Float64Array(H * F);
    this.b1 = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      let b = w.b1[j];
      for (let i = 0; i < F; i++) {
        const a = w.w1[j * F + i] / w.scale[i];
        this.w1[j * F + i] = a;
        b -= a * w.mean[i];
      }
      this.b1[j] = b;
    }
    this.w2 = Float64Array.from(w.w2);
    this.b2 = w.b2;
  }

  /** The output probability for one row of inputs. */
  score(x: ArrayLike<number>): number {
    const F = this.inputs;
    const { w1, b1, w2 } = this;
    let out = this.b2;
    for (let j = 0; j < this.hidden; j++) {
      let a = b1[j];
      const row = j * F;
      for (let i = 0; i < F; i++) a += w1[row + i] * x[i];
      out += w2[j] * Math.tanh(a);
    }
    return 1 / (1 + Math.exp(-out));
  }
}
