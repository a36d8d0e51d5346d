// Bandwidth extension of narrowband speech upsampled to 16 kHz: what the recogniser (trained on wideband speech)
// never saw is a 4–8 kHz band that stays empty. This puts noise there that comes and goes with the fricatives and
// bursts of the telephone band — its 2–4 kHz band full-wave rectified (a rectified band-pass signal carries its
// envelope and spreads energy over the whole spectrum) and high-passed above 4.2 kHz — instead of white noise at a
// fixed level (which masks onsets) or the whole spectrum mirrored (which puts the vowels' 0–1 kHz at 7–8 kHz).
// Used for a second hearing of 8 kHz answers (consent.rehear.narrowband `extended`, applied in the ASR worker,
// gateway/listen/asr/transform.ts): the model hears such an answer differently,
// not better on average (alone it loses as many yeses as it finds; README "Measured", consent).

const RATE = 16000;

/** Linear-phase windowed-sinc FIR (Hann window), pass band [lo, hi] Hz at 16 kHz (lo 0: low pass; hi 8000: high pass). */
export function firBand(lo: number, hi: number, taps = 63): Float32Array {
  if (taps % 2 !== 1) throw new Error('firBand: an odd tap count keeps the delay a whole sample');
  const h = new Float32Array(taps);
  const mid = (taps - 1) / 2;
  // Ideal low pass of cut-off fc, sample t from the centre.
  const lp = (fc: number, t: number) => (fc <= 0 ? 0 : fc >= RATE / 2 ? (t === 0 ? 1 : 0) : t === 0 ? (2 * fc) / RATE : Math.sin((2 * Math.PI * fc * t) / RATE) / (Math.PI * t));
  for (let i = 0; i < taps; i++) {
    const t = i - mid;
    h[i] = (lp(hi, t) - lp(lo, t)) * (0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / taps));
  }
  return h;
}

/** x through a linear-phase FIR, its delay taken out: same length, same alignment (zeros beyond the ends). */
export function filterAligned(x: Float32Array, h: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  const mid = (h.length - 1) / 2;
  for (let n = 0; n < x.length; n++) {
    let acc = 0;
    const k0 = Math.max(0, n + mid - (x.length - 1));
    const k1 = Math.min(h.length - 1, n + mid);
    for (let k = k0; k <= k1; k++) acc += h[k]! * x[n + mid - k]!;
    out[n] = acc;
  }
  return out;
}

const BAND = firBand(2000, 4000);
const HIGH = firBand(4200, 8000);

/**
 * A narrowband segment (16 kHz samples whose content ends at 4 kHz) with a 4–8 kHz band added, `db` relative to the
 * rectified 2–4 kHz band's level (0: that level). The 0–4 kHz content is unchanged (the added band starts at 4.2 kHz).
 */
export function extendBandwidth(x: Float32Array, db = 0): Float32Array {
  const band = filterAligned(x, BAND);
  for (let i = 0; i < band.length; i++) band[i] = Math.abs(band[i]!);
  const out = filterAligned(band, HIGH);
  const g = 10 ** (db / 20);
  for (let i = 0; i < out.length; i++) out[i] = x[i]! + g * out[i]!;
  return out;
}
