// Touch-tone keys (DTMF, ITU-T Q.23) are not speech, but Silero scores a run of them as speech often enough that a
// callee pressing keys during a prompt paused it in 8 of 10 generated scenarios and committed a barge-in in half
// (README "Measured"). A key is two pure tones, one of the low group (697–941 Hz) and one of the high group
// (1209–1633 Hz), that carry nearly all of the frame's energy; speech spreads its energy over many harmonics and
// formants, and no two 31 Hz-wide bins at those frequencies hold most of it. So per 32 ms frame, the power at the
// eight frequencies by the Goertzel recurrence, against the frame's energy, in the spirit of Q.24's receiver
// conditions (one tone per group standing well above the others of its group, a bounded twist between the two).
// Only frames the VAD already calls speech are tested, so silence costs nothing.

export const DTMF_LOW = [697, 770, 852, 941] as const;
export const DTMF_HIGH = [1209, 1336, 1477, 1633] as const;
/** The strongest low and high tone together carry at least this share of the frame's energy. */
export const DTMF_MIN_SHARE = 0.7;
/** A half frame (16 ms: bins twice as wide, so speech fits them more easily) must be purer still. */
export const HALF_SHARE = 0.85;
/** Halves are looked at only when the whole frame's two strongest tones carry this share of its energy. */
const HALF_PRECHECK = 0.25;
/**
 * Frames after a key that count as silence too, whatever the VAD said: the one a key ends in holds a few ms of it
 * (too little for any test), and Silero's state still remembers the key a frame later — on the generated corpus
 * these two frames, scored 0.6–0.9 and 15–25 dB over the background, were where keys paused the prompt.
 */
export const DTMF_HANG_FRAMES = 2;
/** Each group's strongest tone stands this many times (power) above the group's second: ~8 dB. */
export const DTMF_GROUP_DOMINANCE = 6;
/** Twist: the two tones' powers within this ratio of each other (Q.24 accepts up to 8 dB either way; ~10 dB). */
export const DTMF_MAX_TWIST = 10;
/** Only frames the VAD scores at least this are tested (below the silence threshold a frame is silence anyway). */
export const DTMF_TEST_PROB = 0.2;
/** Frames quieter than this mean square (−60 dBFS) are not judged. */
const MIN_ENERGY = 1e-6;

const coefs = new Map<number, Float64Array>();
function coefficients(rate: number): Float64Array {
  let c = coefs.get(rate);
  if (!c) {
    c = Float64Array.from([...DTMF_LOW, ...DTMF_HIGH], (f) => 2 * Math.cos((2 * Math.PI * f) / rate));
    coefs.set(rate, c);
  }
  return c;
}

const power = new Float64Array(8);

/**
 * Whether a frame (samples in [−1, 1] at `rate`) is a DTMF key: two tones, one per group, carrying most of its
 * energy. A key that starts or ends inside the frame fills only part of it (its share of the whole frame's power at
 * the two frequencies is then about the part it fills), so each half is judged too: a half that is a key and
 * carries most of the frame's energy makes the frame one. ~16 multiply-adds per sample (eight Goertzel
 * recurrences over the frame, then over its halves only when the whole was not a key).
 */
export function isDtmfFrame(x: Float32Array, rate: number): boolean {
  const n = x.length;
  let e = 0;
  for (let i = 0; i < n; i++) e += x[i] * x[i];
  if (e < MIN_ENERGY * n) return false;
  goertzel(x, rate);
  if (keyIn(e, DTMF_MIN_SHARE)) return true;
  // A key filling a half carries about half the frame's power at its frequencies: below that, no half can be one
  // (most speech frames stop here, so they cost one pass).
  if (power[lowest] + power[highest] < HALF_PRECHECK * e) return false;
  const h = n >> 1;
  for (const half of [x.subarray(0, h), x.subarray(h)]) {
    let eh = 0;
    for (let i = 0; i < half.length; i++) eh += half[i] * half[i];
    if (eh < DTMF_MIN_SHARE * e) continue;
    goertzel(half, rate);
    if (keyIn(eh, HALF_SHARE)) return true;
  }
  return false;
}

let lowest = 0;
let highest = 4;

/** `power` := the energy x carries at each of the eight frequencies (Goertzel), all in one pass. */
function goertzel(x: Float32Array, rate: number): void {
  const c = coefficients(rate);
  const [k0, k1, k2, k3, k4, k5, k6, k7] = c;
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
  let b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0, b7 = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    let t = v + k0 * a0 - b0; b0 = a0; a0 = t;
    t = v + k1 * a1 - b1; b1 = a1; a1 = t;
    t = v + k2 * a2 - b2; b2 = a2; a2 = t;
    t = v + k3 * a3 - b3; b3 = a3; a3 = t;
    t = v + k4 * a4 - b4; b4 = a4; a4 = t;
    t = v + k5 * a5 - b5; b5 = a5; a5 = t;
    t = v + k6 * a6 - b6; b6 = a6; a6 = t;
    t = v + k7 * a7 - b7; b7 = a7; a7 = t;
  }
  // |X(f)|² = s1² + s2² − k·s1·s2; a sinusoid of amplitude A gives (A·n/2)² against an energy of A²·n/2, so
  // 2|X|²/n is the energy the tone carries.
  const g = 2 / x.length;
  power[0] = g * (a0 * a0 + b0 * b0 - k0 * a0 * b0);
  power[1] = g * (a1 * a1 + b1 * b1 - k1 * a1 * b1);
  power[2] = g * (a2 * a2 + b2 * b2 - k2 * a2 * b2);
  power[3] = g * (a3 * a3 + b3 * b3 - k3 * a3 * b3);
  power[4] = g * (a4 * a4 + b4 * b4 - k4 * a4 * b4);
  power[5] = g * (a5 * a5 + b5 * b5 - k5 * a5 * b5);
  power[6] = g * (a6 * a6 + b6 * b6 - k6 * a6 * b6);
  power[7] = g * (a7 * a7 + b7 * b7 - k7 * a7 * b7);
}

/** On `power` (of audio of energy e): the strongest tone of each group together carry `share` of it, each dominates
 *  its group, and they are within the twist of each other. */
function keyIn(e: number, share: number): boolean {
  top2(0);
  const lo = first;
  const lo2 = second;
  lowest = at;
  top2(4);
  const hi = first;
  const hi2 = second;
  highest = at;
  if (lo + hi < share * e) return false;
  if (lo < DTMF_GROUP_DOMINANCE * lo2 || hi < DTMF_GROUP_DOMINANCE * hi2) return false;
  return lo < DTMF_MAX_TWIST * hi && hi < DTMF_MAX_TWIST * lo;
}

// top2's answer, in module state like `power`: it runs in the listen worker for every frame the VAD calls speech,
// where a tuple per call would be garbage per frame.
let first = 0;
let second = 0;
let at = 0;

/** Largest (`first`, at index `at`) and second largest (`second`) of power[from..from+3]. */
function top2(from: number): void {
  first = 0;
  second = 0;
  at = from;
  for (let j = from; j < from + 4; j++) {
    const v = power[j];
    if (v > first) {
      second = first;
      first = v;
      at = j;
    } else if (v > second) second = v;
  }
}

/**
 * The speech probability a frame is given: 0 for a DTMF key the VAD took for speech, else the VAD's. `key` is the
 * frame's samples (the listen worker: judged only when the VAD's score calls for it) or an earlier verdict on them
 * (the offline replay's cached `tone` column), so the worker and the replay apply one rule.
 */
export function withoutDtmf(prob: number, key: Float32Array | boolean, rate: number): number {
  return isJudgedKey(prob, key, rate) ? 0 : prob;
}

/** Whether a frame the VAD scored `prob` is taken for a key (judged only from `DTMF_TEST_PROB` up). */
function isJudgedKey(prob: number, key: Float32Array | boolean, rate: number): boolean {
  if (prob < DTMF_TEST_PROB) return false;
  return typeof key === 'boolean' ? key : isDtmfFrame(key, rate);
}

/**
 * One call's frames, in order, with keys and the `DTMF_HANG_FRAMES` after each counting as silence. `withoutDtmf`
 * with a memory: the listen worker keeps one per call (and one for its 8 kHz VAD); the offline replay asks
 * `afterKey` of its cached columns, so both apply one rule.
 */
export class DtmfRejector {
  private lastKey = -Infinity;

  /** The probability frame `index` is given (frames of one call, in order). */
  prob(index: number, prob: number, key: Float32Array | boolean, rate: number): number {
    if (isJudgedKey(prob, key, rate)) {
      this.lastKey = index;
      return 0;
    }
    return index - this.lastKey <= DTMF_HANG_FRAMES ? 0 : prob;
  }
}

/** Whether frame i falls in the hangover of a key among the frames before it (`prob`, `key` per frame, cached). */
export function afterKey(i: number, prob: ArrayLike<number>, key: ArrayLike<number> | undefined): boolean {
  if (!key) return false;
  for (let j = Math.max(0, i - DTMF_HANG_FRAMES); j < i; j++) if (key[j] === 1 && prob[j] >= DTMF_TEST_PROB) return true;
  return false;
}
