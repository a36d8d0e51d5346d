// What a VAD backend does inside a listen worker: per-slot recurrent state, and one call that scores one
// 512-sample (32 ms at 16 kHz) frame for many slots at once. A new backend is one new file implementing this.
export const VAD_RATE = 16000;
export const VAD_FRAME = 512;
export const VAD_FRAME_MS = (VAD_FRAME / VAD_RATE) * 1000;

export interface VadModel {
  readonly name: string;
  /** How it runs, when there is a choice (shown in the start-up log). */
  readonly detail?: string;
  /** Set when it runs other than configured (e.g. a fallback), for a warning at start-up. */
  readonly warning?: string;
  open(slot: number): void;
  close(slot: number): void;
  reset(slot: number): void;
  /** frames: rows × VAD_FRAME samples, row r belongs to slots[r]. Returns one probability per row. */
  score(slots: Int32Array, frames: Float32Array): Promise<Float32Array>;
}
