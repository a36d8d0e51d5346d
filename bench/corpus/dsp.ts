// Signal building blocks of the scenario generator, float32 at 16 kHz in [-1, 1]: filters (coefficients from
// `fili`, run here as plain biquad loops: fili's own per-sample objects cost ~30 ms per 8 s clip), FFT convolution
// (gateway/audio/fft), the echo paths, noises and non-speech events, and the G.711 leg with packet loss.
import Fili from 'fili';
import { fft, ifftReal } from '../../gateway/audio/fft.js';
import { decode, encode } from '../../gateway/audio/codec.js';
import { resampleAll } from '../../gateway/audio/resampler.js';
import type { Rng } from './rng.js';

export const SR = 16000;
export const ms = (x: number, rate = SR) => Math.round((x * rate) / 1000);
export const db = (x: number) => 20 * Math.log10(Math.max(x, 1e-12));
export const fromDb = (d: number) => 10 ** (d / 20);

interface Stage { k: number; a1: number; a2: number; b0: number; b1: number; b2: number }
type FiliStage = { a: number[]; b: number[]; k: number };

const cascades = new Fili.CalcCascades();
const stageCache = new Map<string, Stage[]>();

/** Butterworth low/high-pass of `order` at `fc` Hz (coefficients cached per design). */
function design(kind: 'lowpass' | 'highpass', order: number, fcHz: number, fs: number): Stage[] {
  // Designed at whole hertz: the cache then holds exactly what the key says, so a scenario's output never depends
  // on which scenarios the same process rendered before it.
  const fc = Math.min(Math.round(fcHz), Math.floor(fs * 0.45));
  const key = `${kind}/${order}/${fc}/${fs}`;
  let s = stageCache.get(key);
  if (!s) {
    const raw: FiliStage[] = cascades[kind]({ order, characteristic: 'butterworth', Fs: fs, Fc: fc });
    s = raw.map((c) => ({ k: c.k, a1: c.a[0], a2: c.a[1], b0: c.b[0], b1: c.b[1], b2: c.b[2] }));
    stageCache.set(key, s);
  }
  return s;
}

/** Runs a Butterworth filter over `x` (new array); `order` counts biquad stages, as fili does. */
export function filter(x: Float32Array, kind: 'lowpass' | 'highpass', fc: number, order = 2, fs = SR): Float32Array {
  const y = Float32Array.from(x);
  for (const s of design(kind, order, fc, fs)) {
    let z0 = 0, z1 = 0;
    for (let i = 0; i < y.length; i++) {
      const w = y[i] * s.k - s.a1 * z0 - s.a2 * z1;
      y[i] = s.b0 * w + s.b1 * z0 + s.b2 * z1;
      z1 = z0;
      z0 = w;
    }
  }
  return y;
}

export const bandpass = (x: Float32Array, lo: number, hi: number, order = 2) => filter(filter(x, 'highpass', lo, order), 'lowpass', hi, order);

/** Linear convolution through one FFT of the padded length; `out` length = x.length (the tail is cut). */
export function convolve(x: Float32Array, h: Float32Array): Float32Array {
  const n = 1 << Math.ceil(Math.log2(x.length + h.length));
  const xr = new Float64Array(n), xi = new Float64Array(n), hr = new Float64Array(n), hi = new Float64Array(n);
  xr.set(x);
  hr.set(h);
  fft(xr, xi);
  fft(hr, hi);
  for (let k = 0; k <= n / 2; k++) {
    const r = xr[k] * hr[k] - xi[k] * hi[k];
    xi[k] = xr[k] * hi[k] + xi[k] * hr[k];
    xr[k] = r;
  }
  const out = new Float64Array(n);
  ifftReal(xr, xi, out);
  const y = new Float32Array(x.length);
  for (let i = 0; i < y.length; i++) y[i] = out[i] / n;
  return y;
}

export function rms(x: Float32Array, from = 0, to = x.length): number {
  let s = 0;
  const a = Math.max(0, from), b = Math.min(x.length, to);
  for (let i = a; i < b; i++) s += x[i] * x[i];
  return b > a ? Math.sqrt(s / (b - a)) : 0;
}

/** RMS over several [start, end) sample ranges together (the speech segments of a clip). */
export function rmsOver(x: Float32Array, ranges: readonly (readonly [number, number])[]): number {
  let s = 0, n = 0;
  for (const [a0, b0] of ranges) {
    const a = Math.max(0, a0), b = Math.min(x.length, b0);
    for (let i = a; i < b; i++) s += x[i] * x[i];
    n += Math.max(0, b - a);
  }
  return n ? Math.sqrt(s / n) : 0;
}

export function peak(x: Float32Array): number {
  let p = 0;
  for (let i = 0; i < x.length; i++) p = Math.max(p, Math.abs(x[i]));
  return p;
}

export function scale(x: Float32Array, g: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i] * g;
  return y;
}

/** Adds `src` into `dst` starting at sample `at` (parts outside dst are dropped). */
export function addAt(dst: Float32Array, src: Float32Array, at: number, gain = 1): void {
  const a = Math.max(0, at), b = Math.min(dst.length, at + src.length);
  for (let i = a; i < b; i++) dst[i] += src[i - at] * gain;
}

/** Raised-cosine fade-in/out over `n` samples at each end (in place). */
export function fade(x: Float32Array, nIn: number, nOut = nIn): Float32Array {
  for (let i = 0; i < Math.min(nIn, x.length); i++) x[i] *= 0.5 - 0.5 * Math.cos((Math.PI * i) / nIn);
  for (let i = 0; i < Math.min(nOut, x.length); i++) x[x.length - 1 - i] *= 0.5 - 0.5 * Math.cos((Math.PI * i) / nOut);
  return x;
}

export function white(rng: Rng, n: number): Float32Array {
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = rng.gauss();
  return y;
}

/** Brown (1/f²) noise: leaky-integrated white noise, high-passed at 20 Hz so it does not drift. */
export function brown(rng: Rng, n: number): Float32Array {
  const y = new Float32Array(n);
  let v = 0;
  for (let i = 0; i < n; i++) {
    v = 0.998 * v + rng.gauss() * 0.05;
    y[i] = v;
  }
  return filter(y, 'highpass', 20, 1);
}

/** Car cabin: brown rumble low-passed at 300–900 Hz plus engine harmonics whose pitch drifts slowly. */
export function carNoise(rng: Rng, n: number): Float32Array {
  const rumble = filter(brown(rng, n), 'lowpass', rng.uniform(300, 900), 2);
  const r = rms(rumble);
  const y = scale(rumble, 1 / (r || 1));
  const f0 = rng.uniform(25, 45), drift = rng.uniform(0.05, 0.2);
  let ph = 0;
  for (let i = 0; i < n; i++) {
    const f = f0 * (1 + 0.15 * Math.sin((2 * Math.PI * drift * i) / SR));
    ph += (2 * Math.PI * f) / SR;
    y[i] += 0.5 * Math.sin(ph) + 0.3 * Math.sin(2 * ph + 1) + 0.15 * Math.sin(3 * ph + 2);
  }
  return y;
}

/** Mains hum: 50 or 60 Hz with odd and even harmonics to ~1 kHz (a ground loop, not a pure tone), plus a little hiss. */
export function hum(rng: Rng, n: number, mainsHz: 50 | 60): Float32Array {
  // The waveform repeats every 1/10 s at either mains frequency (5 or 6 cycles): compute one such stretch, tile it.
  const cycle = new Float32Array(SR / 10);
  for (let h = 1; h * mainsHz <= 1000; h++) {
    const a = (h % 2 ? 1 : 0.4) / h ** 0.8, p = rng.uniform(0, 2 * Math.PI);
    for (let i = 0; i < cycle.length; i++) cycle[i] += a * Math.sin((2 * Math.PI * h * mainsHz * i) / SR + p);
  }
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = cycle[i % cycle.length] + 0.01 * rng.gauss();
  return y;
}

/** Line hiss: white noise, optionally tilted towards the highs. */
export function hiss(rng: Rng, n: number): Float32Array {
  const w = white(rng, n);
  return rng.next() < 0.5 ? w : filter(w, 'highpass', rng.uniform(800, 2000), 1);
}

/** A room's impulse response: exponentially decaying noise reaching −60 dB at `rt60` s, with a direct path. */
export function roomIr(rng: Rng, rt60: number): Float32Array {
  const n = Math.round(rt60 * SR);
  const h = new Float32Array(n);
  const tau = rt60 / 6.9; // e^(−t/τ) is −60 dB at t = rt60
  for (let i = 0; i < n; i++) h[i] = rng.gauss() * Math.exp(-i / SR / tau) * 0.15;
  h[0] = 1;
  return h;
}

/**
 * A hybrid-like echo path in the spirit of ITU-T G.168's models: a bulk delay (added by the caller) and a dispersive
 * response `dispersionMs` long — a few damped resonances and decaying noise, band-limited like a telephone channel
 * (high-pass for the transformer, low-pass for the line). Normalised to unit energy: the echo return loss is set
 * on the echo signal itself.
 */
export function hybridIr(rng: Rng, dispersionMs: number): Float32Array {
  const n = ms(dispersionMs);
  const h = new Float32Array(n + ms(4));
  const tau = n / rng.uniform(3, 5);
  const res = Array.from({ length: rng.int(2, 3) }, () => [rng.uniform(300, 2800), rng.uniform(0, 2 * Math.PI), rng.uniform(0.4, 1)]);
  const noise = rng.uniform(0.2, 0.6);
  const lead = rng.int(0, ms(1));
  for (let i = lead; i < n; i++) {
    const t = i - lead;
    let v = noise * rng.gauss();
    for (const [f, p, a] of res) v += a * Math.sin((2 * Math.PI * f * t) / SR + p);
    h[i] = v * Math.exp(-t / tau);
  }
  // The first strong peak of a real hybrid response, of either sign.
  h[lead] += rng.next() < 0.5 ? -2 : 2;
  let y = filter(h, 'highpass', rng.uniform(150, 300), 1);
  y = filter(y, 'lowpass', rng.uniform(3400, 6500), 2);
  const e = Math.sqrt(y.reduce((s, v) => s + v * v, 0));
  return scale(y, 1 / (e || 1));
}

/** Index of the largest |h| (where the echo path's energy peaks, relative to its bulk delay). */
export function peakIndex(h: Float32Array): number {
  let k = 0;
  for (let i = 1; i < h.length; i++) if (Math.abs(h[i]) > Math.abs(h[k])) k = i;
  return k;
}

const DTMF_ROWS = [697, 770, 852, 941];
const DTMF_COLS = [1209, 1336, 1477, 1633];
const DTMF_KEYS = '123A456B789C*0#D';

/** Touch-tone digits (ITU-T Q.23 pairs): tones of 50–120 ms with 50–120 ms gaps, high group 2 dB above the low. */
export function dtmf(rng: Rng, digits: string): { audio: Float32Array; bursts: [number, number][] } {
  const parts: Float32Array[] = [];
  const bursts: [number, number][] = [];
  let at = 0;
  for (const d of digits) {
    const k = DTMF_KEYS.indexOf(d);
    const lo = DTMF_ROWS[Math.floor(k / 4)], hi = DTMF_COLS[k % 4];
    const len = ms(rng.uniform(50, 120));
    const tone = new Float32Array(len);
    for (let i = 0; i < len; i++) tone[i] = 0.8 * Math.sin((2 * Math.PI * lo * i) / SR) + Math.sin((2 * Math.PI * hi * i) / SR);
    fade(tone, ms(3));
    parts.push(tone);
    bursts.push([at, at + len]);
    const gap = ms(rng.uniform(50, 120));
    parts.push(new Float32Array(gap));
    at += len + gap;
  }
  const out = new Float32Array(at);
  let o = 0;
  for (const p of parts) out.set(p, o), (o += p.length);
  return { audio: out, bursts };
}

/** A cough: one to three bursts of band-passed noise with a sharp attack, a voiced-ish body and an exponential decay. */
export function cough(rng: Rng): { audio: Float32Array; bursts: [number, number][] } {
  const count = rng.int(1, 3);
  const bursts: [number, number][] = [];
  const pieces: { at: number; x: Float32Array }[] = [];
  let at = 0;
  for (let c = 0; c < count; c++) {
    const len = ms(rng.uniform(120, 300));
    const nz = white(rng, len);
    const body = bandpass(nz, rng.uniform(200, 500), rng.uniform(2500, 5000), 2);
    const f0 = rng.uniform(120, 300);
    const decay = rng.uniform(0.04, 0.1) * SR;
    for (let i = 0; i < len; i++) {
      const env = Math.min(1, i / ms(8)) * Math.exp(-i / decay);
      body[i] = env * (body[i] + 0.3 * Math.sin((2 * Math.PI * f0 * i) / SR) * Math.exp(-i / (decay / 2)));
    }
    pieces.push({ at, x: body });
    bursts.push([at, at + len]);
    at += len + ms(rng.uniform(80, 250));
  }
  const out = new Float32Array(bursts[bursts.length - 1][1]);
  for (const p of pieces) addAt(out, p.x, p.at);
  return { audio: out, bursts };
}

/** Handling clicks: 1–8 sharp transients (hook switch, a tap on the handset), some as a quick train. */
export function clicks(rng: Rng): { audio: Float32Array; bursts: [number, number][] } {
  const count = rng.int(1, 8);
  const len = count === 1 ? ms(20) : ms(rng.uniform(60, 400));
  const out = new Float32Array(len);
  for (let c = 0; c < count; c++) {
    const at = count === 1 ? 0 : rng.int(0, len - ms(10));
    const f = rng.uniform(800, 5000), d = rng.uniform(0.5, 3);
    for (let i = 0; i < ms(10) && at + i < len; i++) out[at + i] += (rng.next() < 0.5 ? -1 : 1) * Math.exp(-i / ms(d)) * Math.cos((2 * Math.PI * f * i) / SR);
  }
  return { audio: out, bursts: [[0, len]] };
}

/**
 * A laugh: 3–8 breathy "ha" pulses at 4–6 per second, each an aspirated glottal pulse train through two formants
 * of an open vowel with a falling pitch. Not speech (no words), but as voiced as speech, which is the hard part.
 */
export function laugh(rng: Rng): { audio: Float32Array; bursts: [number, number][] } {
  const count = rng.int(3, 8);
  const rate = rng.uniform(4, 6);
  const f0a = rng.uniform(160, 320);
  const period = Math.round(SR / rate);
  const len = period * count + ms(100);
  const src = new Float32Array(len);
  for (let c = 0; c < count; c++) {
    const start = c * period;
    const dur = Math.round(period * rng.uniform(0.5, 0.75));
    const f0 = f0a * (1 - 0.04 * c);
    let ph = 0;
    for (let i = 0; i < dur; i++) {
      ph += f0 / SR;
      const env = Math.sin((Math.PI * i) / dur) ** 1.5 * (1 - 0.08 * c);
      const pulse = ph % 1 < 0.08 ? 1 : 0;
      src[start + i] += env * (pulse + 0.25 * rng.gauss());
    }
  }
  const f1 = rng.uniform(700, 900), f2 = rng.uniform(1100, 1400);
  const y = bandpass(src, f1 * 0.8, f1 * 1.25, 1);
  const z = bandpass(src, f2 * 0.85, f2 * 1.2, 1);
  for (let i = 0; i < y.length; i++) y[i] += 0.6 * z[i];
  return { audio: y, bursts: [[0, period * (count - 1) + Math.round(period * 0.75)]] };
}

/**
 * The G.711 leg of a call: 16 kHz → 8 kHz, μ-law, 20 ms packets lost at `lossPct` (in bursts of 1–3 packets, as
 * lost packets cluster), then either zeros (no concealment) or concealment in the manner of G.711 Appendix I: the
 * last pitch period repeated, fading out over 60 ms. Returns the 8 kHz samples as received and the lost packets.
 */
export function g711Leg(rng: Rng, x16: Float32Array, lossPct: number, conceal: boolean): { pcm8: Int16Array; lost: number[] } {
  const x8 = resampleAll(x16, 16000, 8000);
  const ints = new Int16Array(x8.length);
  for (let i = 0; i < x8.length; i++) ints[i] = Math.max(-32768, Math.min(32767, Math.round(x8[i] * 32768)));
  const y = decode('mulaw', encode('mulaw', ints));
  const pkt = 160;
  const packets = Math.ceil(y.length / pkt);
  const lost: number[] = [];
  const target = Math.max(1, Math.round((packets * lossPct) / 100));
  while (lost.length < target) {
    const start = rng.int(1, packets - 1);
    const burst = rng.pick([1, 1, 1, 2, 3]);
    for (let b = 0; b < burst && lost.length < target; b++) if (start + b < packets && !lost.includes(start + b)) lost.push(start + b);
  }
  lost.sort((a, b) => a - b);
  let run = 0; // packets already concealed in this burst
  for (let j = 0; j < lost.length; j++) {
    const p = lost[j];
    run = j > 0 && lost[j - 1] === p - 1 ? run + 1 : 0;
    const a = p * pkt, b = Math.min(y.length, a + pkt);
    if (!conceal) {
      y.fill(0, a, b);
      continue;
    }
    // Pitch period from the 40 ms before the gap (autocorrelation over 2.5–15 ms lags).
    const hist = y.subarray(Math.max(0, a - 320), a);
    let best = 40, bestC = -Infinity;
    for (let lag = 20; lag <= 120 && lag < hist.length; lag++) {
      let c = 0;
      for (let i = lag; i < hist.length; i++) c += hist[i] * hist[i - lag];
      if (c > bestC) (bestC = c), (best = lag);
    }
    for (let i = a; i < b; i++) {
      const src = a - best + ((i - a) % best);
      const gain = Math.max(0, 1 - (run * pkt + (i - a)) / 480);
      y[i] = Math.round((src >= 0 ? y[src] : 0) * gain);
    }
  }
  return { pcm8: y, lost };
}
