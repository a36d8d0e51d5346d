// Where does the 8 kHz path lose answers: in what earshot does to narrowband audio (decoding, upsampling, gain), or
// in the model, which was trained on wideband speech? Each preparation changes one thing of the recogniser's input,
// so that the replay (bench/consent/replay.ts --prep) can score it against the call's own path:
//   ours     the call's path: the 16 kHz file, or the 8 kHz μ-law twin through the gateway's resampler (16 taps/phase)
//   hq       8 kHz twin upsampled by a 128-taps/phase filter (sharper band edge, flatter pass band): our filter's share
//   band     16 kHz file band-limited to 8 kHz sampling (down and up by the long filter), no μ-law: bandwidth alone
//   mulaw    16 kHz file μ-law quantised at 16 kHz, full band: the companding noise alone
//   hf<dB>   8 kHz twin (our resampler) plus white noise above 4 kHz at <dB> dBFS RMS: fills the empty upper mel
//            bands, which the model never saw silent in training
//   fold<dB> 8 kHz twin (our resampler) plus its own spectrum mirrored into 4–8 kHz at <dB> (x + g·(−1)^n·x, the
//            oldest bandwidth extension): upper bands that move with the speech instead of staying silent
//   gain<dB> 8 kHz twin (our resampler) scaled by <dB>: level
//   taps<n>  8 kHz twin through our resampler with n half-taps per phase (8 ships; fewer: a milder anti-imaging
//            filter, whose images fill the band just above 4 kHz with the speech's own 3–4 kHz)
//   pre<a>   8 kHz twin (our resampler) pre-emphasised, y = x − a·x[n−1], level kept: the upper telephone band
//            (where the fricatives' remaining energy is) weighed up, as the model's 4–8 kHz would have weighed it
//   bwe<dB>  8 kHz twin (our resampler) plus a bandwidth extension at <dB>: its 2–4 kHz band full-wave rectified
//            and high-passed above 4 kHz — noise above 4 kHz that comes and goes with the fricatives and bursts
//            (x, q, d, s), not with the vowels (unlike `fold`, which puts the voiced 0–1 kHz at 7–8 kHz)
import { decode, encode, floatToInt16, int16ToFloat } from '../../gateway/audio/codec.js';
import { extendBandwidth } from '../../gateway/audio/bandwidth.js';
import { Resampler } from '../../gateway/audio/resampler.js';

export type Prep = string;
export const PREPS_HELP = 'ours | hq | band | mulaw | hf<dB> | fold<dB> | gain<dB> | taps<n> | pre<a> | bwe<dB>';


/** Deterministic noise (a fixed LCG), so that every replay of a preparation hears the same input. */
function noise(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

function rms(x: Float32Array): number {
  let e = 0;
  for (const v of x) e += v * v;
  return Math.sqrt(e / Math.max(1, x.length));
}

/** White noise confined to 4–8 kHz at 16 kHz sampling: low-passed noise shifted up by (−1)^n. */
export function highBandNoise(n: number, dbfs: number, seed = 1): Float32Array {
  const low = new Resampler(8000, 16000, 64).process(new Resampler(16000, 8000, 64).process(noise(n, seed))).subarray(0, n);
  const out = new Float32Array(n);
  const g = 10 ** (dbfs / 20) / Math.max(1e-12, rms(low));
  for (let i = 0; i < low.length; i++) out[i] = (i % 2 ? -1 : 1) * low[i]! * g;
  return out;
}

/** The recogniser's 16 kHz input for one preparation, from the wideband file or the 8 kHz wire samples. */
export function prepare(prep: Prep, rate: '16k' | '8k', wire: Float32Array): Float32Array {
  if (rate === '16k') {
    if (prep === 'band') return new Resampler(8000, 16000, 64).process(new Resampler(16000, 8000, 64).process(wire));
    if (prep === 'mulaw') return int16ToFloat(decode('mulaw', encode('mulaw', floatToInt16(wire))));
    return wire;
  }
  if (prep === 'hq') return new Resampler(8000, 16000, 64).process(wire);
  const up = new Resampler(8000, 16000).process(wire);
  let m = /^hf(-?[\d.]+)$/.exec(prep);
  if (m) {
    const hf = highBandNoise(up.length, Number(m[1]));
    for (let i = 0; i < up.length; i++) up[i] += hf[i]!;
    return up;
  }
  m = /^fold(-?[\d.]+)$/.exec(prep);
  if (m) {
    const g = 10 ** (Number(m[1]) / 20);
    for (let i = 0; i < up.length; i++) up[i] = up[i]! * (1 + (i % 2 ? -g : g));
    return up;
  }
  m = /^taps(\d+)$/.exec(prep);
  if (m) return new Resampler(8000, 16000, Number(m[1])).process(wire);
  m = /^pre([\d.]+)$/.exec(prep);
  if (m) {
    const a = Number(m[1]);
    const out = new Float32Array(up.length);
    for (let i = 0; i < up.length; i++) out[i] = up[i]! - a * (i ? up[i - 1]! : 0);
    const g = rms(up) / Math.max(1e-12, rms(out));
    for (let i = 0; i < out.length; i++) out[i] = Math.max(-1, Math.min(1, out[i]! * g));
    return out;
  }
  m = /^bwe(-?[\d.]+)$/.exec(prep);
  if (m) return extendBandwidth(up, Number(m[1]));
  m = /^gain(-?[\d.]+)$/.exec(prep);
  if (m) {
    const g = 10 ** (Number(m[1]) / 20);
    for (let i = 0; i < up.length; i++) up[i] = Math.max(-1, Math.min(1, up[i]! * g));
    return up;
  }
  if (prep !== 'ours' && prep !== 'band' && prep !== 'mulaw') throw new Error(`unknown preparation ${prep} (${PREPS_HELP})`);
  return up;
}
