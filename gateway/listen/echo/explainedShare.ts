// How much of the microphone signal any linear echo path from the reference could explain: the magnitude-squared
// coherence, summed over the telephone band and weighted by the microphone's power, i.e.
//   Σ_k |S_xd(k)|² / S_xx(k)  ÷  Σ_k S_dd(k)
// from Welch averages over Hann-windowed segments. Unlike the energy one tap explains, it does not fall when the
// path is dispersive (its taps spread the echo's energy) or when the reference carries power the line never passes
// (a recording's rumble); unlike a correlation peak, chance agreement between the prompt and a caller's speech stays
// near 1/(segments) rather than producing a believable peak. Near 1/(segments) only while the powers are steady: a
// caller's syllables put the microphone's power into a few segments, and the coherence of a few segments is high by
// chance (0.3–0.7 for one syllable repeated over a prompt, with 1 s of history). So what chance alone would give is
// taken off: for signals unrelated to each other, E|Σ_s conj(X_s)·D_s|² = Σ_s |X_s|²·|D_s|², whatever each
// segment's power — the explained share is measured above that.
import { RealFft } from './RealFft.js';

const SEG = 1024;
const HOP = SEG / 2;
const LO_HZ = 300;
const HI_HZ = 3400;
/** A bin whose power sits in so few segments that chance alone gives this coherence tells nothing: left out. */
const MAX_CHANCE = 0.9;

interface Work {
  fft: RealFft;
  win: Float64Array;
  x: Float64Array;
  d: Float64Array;
  xr: Float64Array;
  xi: Float64Array;
  dr: Float64Array;
  di: Float64Array;
  sxx: Float64Array;
  sdd: Float64Array;
  sxr: Float64Array;
  sxi: Float64Array;
  /** Σ_s |X_s|²·|D_s|²: what |S_xd|² comes to by chance. */
  sab: Float64Array;
}
let work: Work | null = null;

function scratch(): Work {
  if (work) return work;
  const K = SEG / 2 + 1;
  const f = () => new Float64Array(K);
  const win = new Float64Array(SEG);
  for (let i = 0; i < SEG; i++) win[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / SEG);
  work = { fft: new RealFft(SEG), win, x: new Float64Array(SEG), d: new Float64Array(SEG), xr: f(), xi: f(), dr: f(), di: f(), sxx: f(), sdd: f(), sxr: f(), sxi: f(), sab: f() };
  return work;
}

/**
 * Share (0…1) of `mic`'s power in the telephone band that `ref` explains linearly, both sampled at `rate` and of the
 * same length, `ref` aligned so that the echo of ref[i] arrives at mic[i + j] for small j ≥ 0 (a path must fit well
 * within a 64 ms segment). Segments whose reference is silent still count: their microphone power is unexplained.
 */
export function explainedShare(mic: ArrayLike<number>, ref: ArrayLike<number>, rate: number): number {
  const w = scratch();
  const K = SEG / 2 + 1;
  const lo = Math.max(1, Math.round((LO_HZ / rate) * SEG));
  const hi = Math.min(K - 1, Math.round((HI_HZ / rate) * SEG));
  w.sxx.fill(0);
  w.sdd.fill(0);
  w.sxr.fill(0);
  w.sxi.fill(0);
  w.sab.fill(0);
  const n = Math.min(mic.length, ref.length);
  let segments = 0;
  for (let s = 0; s + SEG <= n; s += HOP) {
    for (let i = 0; i < SEG; i++) {
      w.x[i] = ref[s + i] * w.win[i];
      w.d[i] = mic[s + i] * w.win[i];
    }
    w.fft.forward(w.x, w.xr, w.xi);
    w.fft.forward(w.d, w.dr, w.di);
    for (let k = lo; k <= hi; k++) {
      const xr = w.xr[k];
      const xi = w.xi[k];
      const dr = w.dr[k];
      const di = w.di[k];
      const a = xr * xr + xi * xi;
      const b = dr * dr + di * di;
      w.sxx[k] += a;
      w.sdd[k] += b;
      w.sab[k] += a * b;
      // conj(X)·D
      w.sxr[k] += xr * dr + xi * di;
      w.sxi[k] += xr * di - xi * dr;
    }
    segments++;
  }
  if (!segments) return 0;
  let explained = 0;
  let total = 0;
  for (let k = lo; k <= hi; k++) {
    total += w.sdd[k];
    if (!(w.sxx[k] > 0 && w.sdd[k] > 0)) continue;
    // Coherence above chance, rescaled so that a fully coherent bin still counts whole: (γ² − γ0²) / (1 − γ0²).
    const chance = w.sab[k] / (w.sxx[k] * w.sdd[k]);
    if (chance < MAX_CHANCE) explained += (w.sxr[k] * w.sxr[k] + w.sxi[k] * w.sxi[k] - w.sab[k]) / w.sxx[k] / (1 - chance);
  }
  return total > 0 && explained > 0 ? explained / total : 0;
}
