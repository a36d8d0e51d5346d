// Lines for the echo canceller's G.168-style tests: real speech as the prompt (the bot's reference) and as the
// callee, an echo path from ITU-T G.168 Annex D (hybrid impulse responses of 8–16 ms, given there at 8 kHz and
// interpolated to 16 kHz here) behind a bulk delay and an echo return loss, noise, and the reference placed on the
// inbound timeline ahead of its echo as a call places it. Deterministic: every random draw comes from a seed.
import { join } from 'node:path';
import { int16ToFloat } from '../gateway/audio/codec.js';
import { resampleAll } from '../gateway/audio/resampler.js';
import { readWav } from '../gateway/audio/wav.js';
import { InboundAudio, type PendingFrame } from '../gateway/listen/InboundAudio.js';
import type { EchoConfig } from '../gateway/config.js';
import { AUDIO_DIR } from './helpers/corpus.js';

/** G.168 (04/2015) Annex D echo path models, 8 kHz taps (D.2: 8 ms, D.3: 12 ms, D.5: 16 ms, D.8: 12 ms). */
export const G168: Record<string, number[]> = {
  D2: [-436, -829, -2797, -4208, -17968, -11215, 46150, 34480, -10427, 9049, -1309, -6320, 390, -8191, -1751, -6051, -3796, -4055, -3948, -2557, -3372, -1808, -2259, -1300, -1098, -618, -340, -61, 323, 419, 745, 716, 946, 880, 1014, 976, 1033, 1091, 1053, 1042, 794, 831, 899, 716, 390, 313, 304, 304, 73, -119, -109, -176, -359, -407, -512, -580, -704, -618, -685, -791, -772, -820, -839, -724],
  D3: [-381, 658, 1730, -51, -3511, -1418, 7660, 8861, -8106, -21370, -5307, 23064, 24020, 1020, -12374, -16296, -19524, -7480, 13509, 17115, 13952, 13952, 97, -9326, -9046, -15208, -9853, -3858, -1979, 6029, 5616, 7214, 6820, 3935, 3919, 921, 1316, -693, -759, -1517, -2176, -2028, -2654, -1814, -2077, -1468, -1221, -842, -463, -298, -68, 64, 493, 723, 789, 954, 756, 839, 872, 1020, 789, 822, 558, 658, 476, 377, 377, 262, 97, -68, -183, -232, -331, -347, -430, -314, -430, -463, -463, -414, -381, -479, -479, -512, -479, -397, -430, -397, -298, -265, -249, -216, -249, -265, -166, -232],
  D5: [160, 312, -241, -415, 897, 908, -1326, -1499, 2405, 3347, -3624, -7733, 4041, 14484, -1477, -21739, -4470, 25356, 11458, -19696, -11800, 5766, 789, 6633, 14624, -6975, -17156, -187, 149, 1515, 14907, 4345, -7128, -2757, -10185, -7083, 6850, 3944, 6969, 8694, -4068, -3852, -5793, -9371, 453, 1060, 3965, 9463, 2393, 2784, -892, -7366, -3376, -5847, -2399, 3011, 1537, 6623, 4205, 1602, 1592, -4752, -3646, -5207, -5577, -501, -1174, 4041, 5647, 4628, 7252, 2123, 2654, -881, -4113, -3244, -7289, -3830, -4600, -2508, 431, -144, 4184, 2372, 4617, 3576, 2382, 2839, -404, 539, -1803, -1401, -1705, -2269, -783, -1608, -220, -306, 257, 615, 225, 561, 8, 344, 127, -57, 182, 41, 203, -111, 95, -79, 30, 84, -13, -68, -241, -68, -24, 19, -57, -24, 30, -68, 84, -155, -68, 19],
  D8: [258, -111, 337, -319, 347, -434, 192, -450, -108, -343, -596, -177, -1187, -52, -1781, -147, -1959, -326, -1601, -1389, -13620, -720, 33818, -10683, -6742, 12489, -9862, 8950, -1574, 758, 3526, -3118, 2421, -8966, -4901, 11385, 18072, -14410, -7473, 19836, -16854, -3115, 9483, -17799, 7399, -4342, -7415, 7929, -10726, 6239, -2526, -1317, 5345, -4565, 6868, -2195, 3425, 1969, -109, 3963, -1275, 3087, -892, 1239, 2, -427, 596, -1184, 551, -1244, 141, -743, -415, -372, -769, -183, -785, -270, -659, -377, -523, -325, -245, -255, -60, 35, 218, 149, 340, 233, 365, 303, 251, 230, 209, 179],
};

const RATE = 16000;

export function load(rel: string): Float32Array {
  const w = readWav(join(AUDIO_DIR, rel));
  const f = int16ToFloat(w.samples);
  return w.sampleRate === RATE ? f : resampleAll(f, w.sampleRate, RATE);
}

/** A G.168 model at 16 kHz. */
export function path16(model: number[]): Float64Array {
  const x = new Float32Array(model.length + 16);
  model.forEach((v, i) => (x[i] = v));
  return Float64Array.from(resampleAll(x, 8000, RATE));
}

export function rms(x: Float32Array, a = 0, b = x.length): number {
  let e = 0;
  for (let i = a; i < b; i++) e += x[i] * x[i];
  return Math.sqrt(e / Math.max(1, b - a));
}

export const dB = (x: number) => 20 * Math.log10(x + 1e-12);

/** Speech level: RMS over the 20 ms pieces louder than −50 dBFS (pauses between words do not count). */
export function activeRms(x: Float32Array): number {
  let e = 0;
  let n = 0;
  for (let i = 0; i + 320 <= x.length; i += 320) {
    const r = rms(x, i, i + 320);
    if (r > 10 ** (-50 / 20)) {
      e += r * r;
      n++;
    }
  }
  return Math.sqrt(e / Math.max(1, n));
}

export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
}

export interface Segment {
  /** Echo path from this sample on. */
  from: number;
  model: number[];
  delayMs: number;
  erlDb: number;
}

export interface Line {
  ref: Float32Array;
  mic: Float32Array;
  echo: Float32Array;
  talker: Float32Array;
}

/**
 * The microphone of a line: `ref` through each segment's echo path (scaled so that the echo's speech level is `erlDb`
 * under the reference's), plus white noise at `noiseDbfs`, plus `talker` scaled to `talkerDbfs` (speech level) from
 * sample `talkerAt`.
 */
export function line(ref: Float32Array, segs: Segment[], opts: { noiseDbfs?: number; brown?: boolean; talker?: Float32Array; talkerDbfs?: number; talkerAt?: number; seed?: number; extra?: number } = {}): Line {
  const len = ref.length + (opts.extra ?? 16000);
  const echo = new Float32Array(len);
  const refLevel = activeRms(ref);
  segs.forEach((s, i) => {
    const to = i + 1 < segs.length ? segs[i + 1].from : len;
    const h = path16(s.model);
    const d = Math.round((s.delayMs * RATE) / 1000);
    // Whole-signal convolution for the gain, then the segment's share.
    const y = new Float32Array(len);
    for (let n = 0; n < len; n++) {
      let acc = 0;
      for (let k = 0; k < h.length; k++) {
        const j = n - d - k;
        if (j >= 0 && j < ref.length) acc += h[k] * ref[j];
      }
      y[n] = acc;
    }
    const g = (refLevel / activeRms(y)) * 10 ** (-s.erlDb / 20);
    for (let n = s.from; n < to; n++) echo[n] = y[n] * g;
  });
  const mic = Float32Array.from(echo);
  const rnd = seeded(opts.seed ?? 7);
  if (opts.noiseDbfs !== undefined) {
    const a = 10 ** (opts.noiseDbfs / 20);
    let b = 0;
    const noise = new Float32Array(len);
    for (let n = 0; n < len; n++) {
      const w = rnd() * Math.sqrt(12);
      b = 0.98 * b + 0.2 * w;
      noise[n] = opts.brown ? b : w;
    }
    const g = a / rms(noise);
    for (let n = 0; n < len; n++) mic[n] += noise[n] * g;
  }
  const talker = new Float32Array(len);
  if (opts.talker) {
    const g = 10 ** ((opts.talkerDbfs ?? -30) / 20) / activeRms(opts.talker);
    const at = opts.talkerAt ?? 0;
    for (let i = 0; i < opts.talker.length && at + i < len; i++) {
      talker[at + i] = opts.talker[i] * g;
      mic[at + i] += talker[at + i];
    }
  }
  return { ref, mic, echo, talker };
}

export interface Run {
  residual: Float32Array;
  frames: PendingFrame[];
  a: InboundAudio;
  lockAt: number | null;
}

/** Streams a line through InboundAudio in 20 ms pieces, each 20 ms of prompt placed 40 ms ahead of its playout. */
export function run(l: Line, cfg: EchoConfig, trace = false): Run {
  const a = new InboundAudio(cfg, true, trace);
  const residual = new Float32Array(l.mic.length);
  const frames: PendingFrame[] = [];
  let lockAt: number | null = null;
  for (let i = 0; i < l.mic.length; i += 320) {
    const ahead = i + 640;
    if (ahead < l.ref.length) a.addReference(ahead, l.ref.slice(ahead, ahead + 320), 0);
    if (i === 0) a.addReference(0, l.ref.slice(0, 640), 0);
    a.push(l.mic.subarray(i, i + 320));
    frames.push(...a.takeFrames().map((f) => ({ ...f, samples: f.samples.slice() })));
    for (const r of a.takeResidual()) residual.set(r.samples, r.start);
    for (const e of a.takeEvents()) if (e.type === 'lock' && lockAt === null) lockAt = e.at;
  }
  return { residual, frames, a, lockAt };
}

/** Echo return loss enhancement over [a, b): echo in the microphone against echo left in the residual. */
export function erle(l: Line, r: Run, a: number, b: number): number {
  const left = new Float32Array(b - a);
  for (let i = a; i < b; i++) left[i - a] = r.residual[i] - l.talker[i];
  return dB(rms(l.echo, a, b)) - dB(rms(left));
}
