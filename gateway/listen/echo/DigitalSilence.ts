// Stretches of the microphone signal that carry nothing at all: a lost packet that the far end's jitter buffer filled
// with zeros (G.711 without concealment), or a carrier's own echo suppressor muting the line. A real line never
// holds exact digital silence for milliseconds — its noise floor alone (−65 dBFS ≈ 18 LSB) moves every sample — so
// a run of samples within ±1 LSB longer than `minRun` is no signal, not a quiet one.
//
// Why the canceller must know: there the residual d − ŷ is −ŷ, the echo estimate itself — the prompt's speech at the
// echo's level, which the echo gate takes for a callee (nothing of it is "expected residual echo") and the VAD for
// speech. A lost packet over the prompt's echo was a pause. Masked, the residual is silence like what came in, the
// filter does not learn from it, and the noise floor does not fall to it.

/** Largest |sample| (full scale 1) still taken for digital silence: ±1 LSB of 16-bit audio. */
const ZERO = 1.5 / 32768;

export class DigitalSilence {
  private run = 0;
  private after = 0;

  /** Every step-th sample is looked at first: a run of minRun holds at least two of them. */
  private readonly step: number;

  /**
   * @param minRun samples of silence before a run counts (2 ms: shorter runs of zeros occur in a decoded signal
   *   only at its edges).
   * @param pad samples marked on either side of a run within reach: a resampled gap's edges ring for ~1 ms.
   */
  constructor(private readonly minRun: number, private readonly pad: number) {
    this.step = Math.max(1, Math.floor(minRun / 2));
  }

  /** 2 ms of silence, 1 ms either side (a resampled gap rings about that long). */
  static forRate(rate: number): DigitalSilence {
    return new DigitalSilence(Math.round(rate / 500), Math.round(rate / 1000));
  }

  /**
   * Marks (1) in `mask` the samples of `x` that belong to digital silence, given the blocks before it (a run
   * carries over; its samples in earlier blocks stay as they were). Returns how many were marked; when none,
   * `mask` may be left as it was.
   */
  mark(x: Float32Array, mask: Uint8Array): number {
    const { minRun, pad } = this;
    // Nearly every block of a live line: no run carried in, and none in it — a run of minRun holds at least two of
    // every (minRun / 2)-th sample, so those are all that need a look. (A run's first few samples at the very end of
    // a block can go unseen; the rest of it is marked in the next.) `mask` is only read when something was marked.
    if (this.run === 0 && this.after === 0) {
      const step = this.step;
      let i = step - 1;
      while (i < x.length && (x[i] >= ZERO || x[i] <= -ZERO)) i += step;
      if (i >= x.length) return 0;
    }
    let marked = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (v < ZERO && v > -ZERO) {
        this.run++;
        if (this.run === minRun) {
          // The run just became long enough: mark it back to its start (and the pad before it) in this block.
          for (let j = Math.max(0, i - minRun + 1 - pad); j < i; j++) if (!mask[j]) (mask[j] = 1), marked++;
        }
        if (this.run >= minRun) {
          mask[i] = 1;
          marked++;
          continue;
        }
      } else {
        if (this.run >= minRun) this.after = pad;
        this.run = 0;
      }
      if (this.after > 0) {
        this.after--;
        mask[i] = 1;
        marked++;
      } else mask[i] = 0;
    }
    return marked;
  }

  reset(): void {
    this.run = 0;
    this.after = 0;
  }
}
