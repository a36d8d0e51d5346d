// What the interruption classifier (InterruptionModel.ts) sees of one 32 ms frame and the frames before it. Its
// question is not "is the callee speaking" (NearEndFeatures) but "is the callee interrupting": 1 on a barge-in's
// speech, 0 on echo, noise, a backchannel (嗯嗯, 对对对), a cough, a laugh, a click, a key, a TV. Energy figures alone
// cannot tell the callee from residual echo they are buried in, nor a backchannel from a refusal, so per frame it gets
// the spectrum too: the echo-cancelled residual's and the canceller's echo estimate's log energies in 16 mel bands over
// the telephone band (BandEnergies), the residual's bands against their own running floor per call (steady noise,
// hum, a TV's long-term level), and the near-end classifier's 20 figures (VAD, gate, levels). Causal context: the
// frame itself and the frames 1, 2, 4 and 6 back (~220 ms), and how much of the last 8 and 16 frames the VAD called
// speech. Per call and in order, like NearEndFeatures: one instance lives with each call's InboundAudio, and the
// training script (bench/bargein/train-interruption.ts) computes the same numbers from the same figures.
import { N_BANDS } from './BandEnergies.js';
import { N_FEATURES as N_NEAR, NearEndFeatures, type FrameFigures } from './NearEndFeatures.js';

/** Frames back stacked into the input (0 = this frame). */
export const LAGS = [0, 1, 2, 4, 6] as const;
/** Per frame: the near-end figures, the residual's bands, the estimate's bands, the residual over its floor. */
export const PER_FRAME = N_NEAR + 3 * N_BANDS;
export const N_INTERRUPTION_FEATURES = LAGS.length * PER_FRAME + 2;
const HIST = LAGS[LAGS.length - 1] + 1;
/** A band's floor follows its level down at once and up 0.1 dB a frame (~3 dB/s, as NearEndFeatures' floor). */
const FLOOR_RISE_DB = 0.1;
const DB_MIN = -100;

/** Names of the inputs, in order (the weights file records them). */
export function interruptionFeatureNames(): string[] {
  const per = [...Array.from({ length: N_NEAR }, (_, i) => `ne${i}`), ...Array.from({ length: N_BANDS }, (_, i) => `res${i}`), ...Array.from({ length: N_BANDS }, (_, i) => `est${i}`), ...Array.from({ length: N_BANDS }, (_, i) => `resOverFloor${i}`)];
  return [...LAGS.flatMap((l) => per.map((p) => `${p}@-${l}`)), 'vadShare8', 'vadShare16'];
}

export class InterruptionFeatures {
  private readonly near: NearEndFeatures;
  /** The last HIST frames' per-frame vectors, a ring. */
  private readonly hist: Float64Array;
  private head = -1;
  private seen = 0;
  private readonly floor = new Float64Array(N_BANDS).fill(NaN);
  private readonly probs = new Float64Array(16);
  private readonly nearX = new Float64Array(N_NEAR);

  /** `frameLen`: samples per frame at the canceller's rate (512 at 16 kHz, 256 for a narrowband call). */
  constructor(frameLen: number) {
    this.near = new NearEndFeatures(frameLen);
    this.hist = new Float64Array(HIST * PER_FRAME);
  }

  /**
   * This frame's inputs into `out` (N_INTERRUPTION_FEATURES numbers). `bandsDb`: the frame's band energies in dB
   * (10·log10 of BandEnergies' figures: the residual's N_BANDS, then the estimate's).
   */
  next(f: FrameFigures, bandsDb: ArrayLike<number>, out: Float32Array | Float64Array): void {
    this.near.next(f, this.nearX);
    this.head = (this.head + 1) % HIST;
    const base = this.head * PER_FRAME;
    const h = this.hist;
    for (let i = 0; i < N_NEAR; i++) h[base + i] = this.nearX[i];
    for (let b = 0; b < N_BANDS; b++) {
      const r = Math.max(DB_MIN, bandsDb[b]);
      const e = Math.max(DB_MIN, bandsDb[N_BANDS + b]);
      h[base + N_NEAR + b] = r;
      h[base + N_NEAR + N_BANDS + b] = e;
      const fl = Number.isNaN(this.floor[b]) ? r : this.floor[b];
      h[base + N_NEAR + 2 * N_BANDS + b] = r - fl;
      this.floor[b] = r < fl ? r : fl + FLOOR_RISE_DB;
    }
    // Before the call has HIST frames, the missing ones repeat the first.
    if (this.seen === 0) for (let k = 1; k < HIST; k++) h.copyWithin(((this.head - k + HIST) % HIST) * PER_FRAME, base, base + PER_FRAME);
    this.probs[this.seen % 16] = f.prob;
    this.seen++;
    let o = 0;
    for (const lag of LAGS) {
      const src = ((this.head - lag + HIST) % HIST) * PER_FRAME;
      for (let i = 0; i < PER_FRAME; i++) out[o++] = h[src + i];
    }
    let s8 = 0;
    let s16 = 0;
    for (let k = 0; k < 16; k++) {
      const p = this.probs[(this.seen - 1 - k + 16) % 16] >= 0.5 ? 1 : 0;
      if (k < 8) s8 += p;
      s16 += p;
    }
    out[o++] = s8 / 8;
    out[o++] = s16 / 16;
  }
}
