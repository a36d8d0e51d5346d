// Scores the frames a listen-worker tick collected from many calls in as few model runs as the recurrent state
// allows: step k runs every call's k-th frame in one batch, so a call's frames are scored in order and the batch is
// as wide as the number of calls. One instance per model (and frame size): the 16 kHz VAD of every call, and the
// 8 kHz VAD of calls in a consent window (consent.narrowbandVad) share this loop rather than each having one.
import type { VadModel } from './VadModel.js';

/** One call's frames of this tick; `base`: where their probabilities start in the returned array. */
export interface ScoreWork<F extends { resetBefore: boolean } = { resetBefore: boolean }> {
  slot: number;
  frames: readonly F[];
  base: number;
}

export class BatchScorer {
  /** Working buffers, grown as needed and reused (a fresh typed array costs an off-heap allocation). */
  private probs = new Float32Array(256);
  private slots = new Int32Array(256);
  private batch: Float32Array;
  /** Model runs of the last `score`. */
  runs = 0;

  constructor(private readonly frameLen: number) {
    this.batch = new Float32Array(256 * frameLen);
  }

  /**
   * Probabilities of every frame of `work` (`total` of them), at each call's `base`. The returned array is reused by
   * the next call. `samples` picks a frame's samples (`frameLen` of them).
   */
  async score<F extends { resetBefore: boolean }>(model: VadModel, work: readonly ScoreWork<F>[], total: number, samples: (f: F) => Float32Array): Promise<Float32Array> {
    this.ensure(total);
    const L = this.frameLen;
    let depth = 0;
    for (const w of work) if (w.frames.length > depth) depth = w.frames.length;
    const rows: number[] = [];
    this.runs = 0;
    for (let step = 0; step < depth; step++) {
      rows.length = 0;
      for (let i = 0; i < work.length; i++) if (work[i].frames.length > step) rows.push(i);
      const slots = this.slots.subarray(0, rows.length);
      const batch = this.batch.subarray(0, rows.length * L);
      for (let r = 0; r < rows.length; r++) {
        const w = work[rows[r]];
        const f = w.frames[step];
        // The echo path locked while this frame filled: pre-lock echo must not linger in the state.
        if (f.resetBefore) model.reset(w.slot);
        slots[r] = w.slot;
        batch.set(samples(f), r * L);
      }
      const p = await model.score(slots, batch);
      for (let r = 0; r < rows.length; r++) this.probs[work[rows[r]].base + step] = p[r];
      this.runs++;
    }
    return this.probs;
  }

  private ensure(n: number): void {
    if (this.probs.length >= n) return;
    const size = Math.max(n, this.probs.length * 2);
    this.probs = new Float32Array(size);
    this.slots = new Int32Array(size);
    this.batch = new Float32Array(size * this.frameLen);
  }
}
