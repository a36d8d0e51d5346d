// Small sample-level operations the concatenative voice needs; float32 in [-1, 1] throughout.

export function rms(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return x.length ? Math.sqrt(s / x.length) : 0;
}

/**
 * Cuts leading/trailing silence. The recordings have a noise floor only ~20 dB under the vowel, so the threshold is
 * relative to that floor (the 20th-percentile frame), not to the peak; a small margin keeps soft
 * onsets (s, f, h, sh) that start just above the floor.
 */
export function trimSilence(x: Float32Array, sampleRate: number, marginMs = 20): Float32Array {
  const frame = Math.round(sampleRate / 100);
  const n = Math.floor(x.length / frame);
  if (n < 3) return x;
  const e = new Float32Array(n);
  let peak = 0;
  for (let f = 0; f < n; f++) {
    e[f] = rms(x.subarray(f * frame, (f + 1) * frame));
    if (e[f] > peak) peak = e[f];
  }
  const sorted = [...e].sort((p, q) => p - q);
  const floor = sorted[Math.floor(n * 0.2)];
  // Halfway-ish between floor and peak in dB, but never less than 6 dB above the floor (some files, e.g. ni3,
  // peak only ~7 dB over their noise).
  const floorDb = 20 * Math.log10(floor + 1e-9);
  const peakDb = 20 * Math.log10(peak + 1e-9);
  const thr = 10 ** ((floorDb + Math.max(6, 0.25 * (peakDb - floorDb))) / 20);
  // The onset uses a much lower threshold than the end: fricative and affricate initials (s, sh, q, x, c) and
  // nasals (n, m) sit only a few dB above the floor, and cutting them turns 三 san into "an", 钱 qian into "yan".
  const lead = floor * 10 ** (3 / 20);
  let a = 0;
  while (a < n - 2 && !(e[a] >= lead && e[a + 1] >= lead && e[a + 2] >= lead)) a++;
  let b = n - 1;
  while (b > a && !(e[b] >= thr && e[b - 1] >= thr)) b--;
  const margin = Math.round((marginMs * sampleRate) / 1000);
  return x.slice(Math.max(0, a * frame - margin), Math.min(x.length, (b + 1) * frame + margin));
}

/** RMS of the voiced part (frames within 20 dB of the peak), so short and long syllables sound equally loud. */
export function activeRms(x: Float32Array, sampleRate: number): number {
  const frame = Math.round(sampleRate / 100);
  const es: number[] = [];
  for (let i = 0; i + frame <= x.length; i += frame) es.push(rms(x.subarray(i, i + frame)));
  const peak = Math.max(0, ...es);
  const act = es.filter((e) => e >= peak * 0.1);
  return act.length ? Math.sqrt(act.reduce((s, e) => s + e * e, 0) / act.length) : rms(x);
}

export function scaled(x: Float32Array, gain: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i] * gain;
  return y;
}

/** Short raised-cosine fades at both ends, so a unit never starts or stops with a click. */
export function fadeEdges(x: Float32Array, fadeIn: number, fadeOut: number): Float32Array {
  const y = x.slice();
  const fi = Math.min(fadeIn, y.length >> 1);
  const fo = Math.min(fadeOut, y.length >> 1);
  for (let i = 0; i < fi; i++) y[i] *= 0.5 - 0.5 * Math.cos((Math.PI * i) / fi);
  for (let i = 0; i < fo; i++) y[y.length - 1 - i] *= 0.5 - 0.5 * Math.cos((Math.PI * i) / fo);
  return y;
}
