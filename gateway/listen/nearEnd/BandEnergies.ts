// Per 32 ms frame, the log energy of two signals in mel-spaced bands over the telephone band (300–3400 Hz): the
// echo-cancelled residual and the canceller's echo estimate (microphone − residual: what the filter took for our own
// voice). The interruption classifier (InterruptionFeatures.ts) reads them to learn what residual echo looks like
// next to its estimate, and what a callee's voice looks like over it. Computed at the call's wire rate from its own
// samples (Hann window, one real FFT per signal), so a 16 kHz call and its 8 kHz twin give the same numbers for the
// same sound: the bins are 31.25 Hz apart at both rates (512 or 256 samples a frame), and powers are divided by the
// frame length squared (a band-limited signal of a given mean square puts the same power per bin at either rate).
// Only while the interruption classifier is on (InboundAudio's `bands`); nothing is computed otherwise.
import { RealFft } from '../echo/RealFft.js';

export const N_BANDS = 16;
const LO_HZ = 300;
const HI_HZ = 3400;

const mel = (hz: number) => 2595 * Math.log10(1 + hz / 700);
const hzOfMel = (m: number) => 700 * (10 ** (m / 2595) - 1);

/** Band of each bin (−1: outside 300–3400 Hz) for a frame of `len` samples at `rate`. */
export function bandMap(len: number, rate: number): Int8Array {
  const K = len / 2 + 1;
  const out = new Int8Array(K).fill(-1);
  const edges = Array.from({ length: N_BANDS + 1 }, (_, b) => hzOfMel(mel(LO_HZ) + ((mel(HI_HZ) - mel(LO_HZ)) * b) / N_BANDS));
  for (let k = 0; k < K; k++) {
    const hz = (k * rate) / len;
    if (hz < LO_HZ || hz >= HI_HZ) continue;
    let b = 0;
    while (b < N_BANDS - 1 && hz >= edges[b + 1]) b++;
    out[k] = b;
  }
  return out;
}

export class BandEnergies {
  private readonly fft: RealFft;
  private readonly win: Float64Array;
  private readonly x: Float64Array;
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  private readonly band: Int8Array;
  private readonly norm: number;

  /** `len`: samples per frame at the wire rate (512 at 16 kHz, 256 at 8 kHz). */
  constructor(
    readonly len: number,
    rate: number,
  ) {
    this.fft = new RealFft(len);
    this.win = Float64Array.from({ length: len }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / len));
    this.x = new Float64Array(len);
    this.re = new Float64Array(len / 2 + 1);
    this.im = new Float64Array(len / 2 + 1);
    this.band = bandMap(len, rate);
    this.norm = 1 / (len * len);
  }

  /**
   * Band energies (linear, per frame) of `a` (or of `a − b` when `minus`) into out[off … off + N_BANDS).
   * `a`, `b`: `len` samples each.
   */
  bands(a: Float32Array, b: Float32Array | null, out: Float32Array | Float64Array, off: number): void {
    const { x, win, re, im, band, len } = this;
    for (let i = 0; i < len; i++) x[i] = (b ? a[i] - b[i] : a[i]) * win[i];
    this.fft.forward(x, re, im);
    for (let j = 0; j < N_BANDS; j++) out[off + j] = 0;
    for (let k = 0; k < band.length; k++) {
      const j = band[k];
      if (j >= 0) out[off + j] += (re[k] * re[k] + im[k] * im[k]) * this.norm;
    }
  }
}
