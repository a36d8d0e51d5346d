// What one 32 ms frame says about whether the callee is speaking, as numbers for the near-end classifier: the VAD's
// probability, the echo canceller's figures (residual, expected residual echo, noise floor, what stands out above
// both, how much it removed), and the frame's level against this call's own running floor — so a quiet caller on a
// quiet line counts, and steady babble or a TV does not just because it is speech. Causal and per call: one of these
// lives with each call's InboundAudio, and the training script (bench/bargein/train-near-end.ts) computes exactly the
// same numbers from the same figures.

/** The canceller's figures over one frame (energies summed over the frame at the canceller's rate). */
export interface FrameFigures {
  prob: number;
  res: number;
  exp: number;
  noise: number;
  excess: number;
  mic: number;
  est: number;
  ref: number;
  locked: boolean;
  verdict: 'hard' | 'soft' | 'clear';
  /** The worker's echo flag for this frame (settling after a lock, hard, or soft and unsure). */
  echo: boolean;
}

export const FEATURE_NAMES = [
  'prob',
  'probPrev',
  'probMax3',
  'lres',
  'lmic',
  'lexp',
  'lref',
  'gate',
  'removed',
  'overFloor',
  'overFloorMic',
  'rise',
  'locked',
  'hard',
  'soft',
  'echo',
  'probXgate',
  'probXfloor',
  'estOverMic',
  'resOverEst',
] as const;
export const N_FEATURES = FEATURE_NAMES.length;

const db = (x: number) => 10 * Math.log10(x + 1e-10);
const clamp = (x: number, lo: number, hi: number) => (x < lo ? lo : x > hi ? hi : x);

/**
 * The running floor follows a frame's level down at once and up slowly (3 dB a second), the minimum-statistics idea
 * in its simplest form: speech is bursty, steady noise (babble, TV, car) is where the level keeps coming back to.
 */
const FLOOR_RISE_DB = 0.1;

export class NearEndFeatures {
  private floorRes = NaN;
  private floorMic = NaN;
  private p1 = 0;
  private p2 = 0;
  private lastRes = NaN;

  /** `frameLen`: samples per frame at the canceller's rate (512 at 16 kHz, 256 for a narrowband call). */
  constructor(private readonly frameLen: number) {}

  /** This frame's features into `out` (N_FEATURES numbers); updates the call's state. */
  next(f: FrameFigures, out: Float32Array | Float64Array): void {
    const L = this.frameLen;
    const lres = db(f.res / L);
    const lmic = db(f.mic / L);
    const lexp = db(f.exp / L);
    const lref = db(f.ref / L);
    // What stands out above the expected echo and the noise (locked), or the residual against the echo there could be.
    const gate = f.locked ? db(f.excess / L) - db((f.exp + f.noise) / L) : lres - lexp;
    const removed = f.locked ? lmic - lres : 0;
    if (Number.isNaN(this.floorRes)) {
      this.floorRes = lres;
      this.floorMic = lmic;
      this.lastRes = lres;
    }
    const overFloor = lres - this.floorRes;
    const overFloorMic = lmic - this.floorMic;
    const rise = lres - this.lastRes;
    const probMax3 = Math.max(f.prob, this.p1, this.p2);
    out[0] = f.prob;
    out[1] = this.p1;
    out[2] = probMax3;
    out[3] = clamp((lres + 50) / 20, -3, 3);
    out[4] = clamp((lmic + 50) / 20, -3, 3);
    out[5] = clamp((lexp + 50) / 20, -3, 3);
    out[6] = clamp((lref + 50) / 20, -3, 3);
    out[7] = clamp(gate / 10, -4, 4);
    out[8] = clamp(removed / 10, -2, 4);
    out[9] = clamp(overFloor / 10, -2, 6);
    out[10] = clamp(overFloorMic / 10, -2, 6);
    out[11] = clamp(rise / 10, -4, 4);
    out[12] = f.locked ? 1 : 0;
    out[13] = f.verdict === 'hard' ? 1 : 0;
    out[14] = f.verdict === 'soft' ? 1 : 0;
    out[15] = f.echo ? 1 : 0;
    out[16] = f.prob * out[7];
    out[17] = f.prob * out[9];
    // A lost packet (silence where echo should be) leaves the filter's estimate in the residual, louder than the mic.
    const lest = db(f.est / L);
    out[18] = f.locked ? clamp((lest - lmic) / 10, -4, 4) : -4;
    out[19] = f.locked ? clamp((lres - lest) / 10, -4, 4) : 4;
    this.p2 = this.p1;
    this.p1 = f.prob;
    this.lastRes = lres;
    this.floorRes = lres < this.floorRes ? lres : this.floorRes + FLOOR_RISE_DB;
    this.floorMic = lmic < this.floorMic ? lmic : this.floorMic + FLOOR_RISE_DB;
  }
}
