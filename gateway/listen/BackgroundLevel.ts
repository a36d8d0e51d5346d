// How far a frame stands above the speech-like background of its call. A TV in the room or the babble of a busy
// office is speech to the VAD, frame after frame, and the echo gate lets it through (it is not our prompt). What
// tells it from the callee is level: the background goes on at its own level for seconds, and a callee on the
// handset speaks well above it. So per call we keep the residual's level (after echo cancellation) over the last
// three seconds and report a frame's level over its median; BargeInPolicy lets only frames at least
// `bargeIn.backgroundMarginDb` above it start a barge-in. Where the VAD heard (almost) nothing in those seconds —
// hum, hiss, car noise, a quiet line — there is no speech-like background, and the frame is not compared at all:
// a callee under steady noise at a few dB SNR is still heard (the VAD is reliable there, level is not).
// Chosen on the generated corpus's tuning half (bench/corpus/README.md), README "Barge-in".

/** Frames of history: 3 s of 32 ms frames. */
export const BACKGROUND_FRAMES = 94;
/** The background counts as speech-like when the VAD called at least this share of the history speech… */
export const SPEECHY_SHARE = 0.1;
/** …at this probability (the default pause threshold), echo frames included: residual echo is background too. */
export const SPEECHY_PROB = 0.3;
/** Until this many frames are heard the background is unknown, and taken as speech-like (no pause on the first
 *  frames of a call that opens on a TV; a callee is not yet expected to be talking over a prompt then). */
export const SPEECHY_MIN_FRAMES = 32;

const db = (x: number) => 10 * Math.log10(x + 1e-10);

export class BackgroundLevel {
  /** Levels of the last BACKGROUND_FRAMES frames, in arrival order (ring) and sorted. */
  private readonly ring = new Float64Array(BACKGROUND_FRAMES);
  private readonly sorted: number[] = [];
  private readonly speechy = new Uint8Array(BACKGROUND_FRAMES);
  private n = 0;
  private speechyCount = 0;

  /** `frameLen`: samples per frame at the canceller's rate (the residual energy is summed over them). */
  constructor(private readonly frameLen: number) {}

  /**
   * This frame's level over the call's speech-like background, dB (+Infinity when the background is not
   * speech-like); then the frame joins the history. Called once per frame, in order.
   */
  next(residualEnergy: number, prob: number): number {
    const level = db(residualEnergy / this.frameLen);
    const heard = Math.min(this.n, BACKGROUND_FRAMES);
    let over = Infinity;
    if (heard < SPEECHY_MIN_FRAMES || this.speechyCount >= SPEECHY_SHARE * heard) {
      over = heard ? level - this.sorted[(heard - 1) >> 1] : 0;
    }
    const k = this.n % BACKGROUND_FRAMES;
    if (this.n >= BACKGROUND_FRAMES) {
      this.sorted.splice(this.search(this.ring[k]), 1);
      this.speechyCount -= this.speechy[k];
    }
    this.ring[k] = level;
    this.sorted.splice(this.search(level), 0, level);
    this.speechy[k] = prob >= SPEECHY_PROB ? 1 : 0;
    this.speechyCount += this.speechy[k];
    this.n++;
    return over;
  }

  /** First index in `sorted` whose value is ≥ x. */
  private search(x: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
