// gateway/audio/bandwidth.ts: the filters' bands, and that the added 4–8 kHz band follows the 2–4 kHz band (a
// fricative) and not the vowels, without touching what the telephone band carried.
import { describe, expect, it } from 'vitest';
import { extendBandwidth, filterAligned, firBand } from '../gateway/audio/bandwidth.js';
import { transformAudio } from '../gateway/listen/asr/transform.js';
import type { AudioTransform } from '../gateway/listen/asr/types.js';

const RATE = 16000;
const sine = (n: number, f: number, amp = 0.5) => Float32Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * f * i) / RATE));
const energy = (x: Float32Array, from = 200, to = x.length - 200) => {
  let e = 0;
  for (let i = from; i < to; i++) e += x[i]! * x[i]!;
  return e / (to - from);
};
const db = (a: number, b: number) => 10 * Math.log10(a / b);

/** Deterministic noise confined to 2.5–3.5 kHz: the part of a fricative a telephone line still carries. */
function bandNoise(n: number, seed = 7): Float32Array {
  let s = seed;
  const w = Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
  return filterAligned(w, firBand(2500, 3500, 127));
}

describe('firBand / filterAligned', () => {
  it('passes its band and stops the rest, without delay', () => {
    const h = firBand(2000, 4000);
    expect(db(energy(filterAligned(sine(8000, 3000), h)), energy(sine(8000, 3000)))).toBeGreaterThan(-1);
    expect(db(energy(filterAligned(sine(8000, 500), h)), energy(sine(8000, 500)))).toBeLessThan(-30);
    expect(db(energy(filterAligned(sine(8000, 6500), h)), energy(sine(8000, 6500)))).toBeLessThan(-30);
    const hp = firBand(4200, 8000);
    expect(db(energy(filterAligned(sine(8000, 6000), hp)), energy(sine(8000, 6000)))).toBeGreaterThan(-1);
    expect(db(energy(filterAligned(sine(8000, 3000), hp)), energy(sine(8000, 3000)))).toBeLessThan(-30);
    // Linear phase with the delay taken out: an in-band sine comes out where it went in.
    const x = sine(4000, 3000);
    const y = filterAligned(x, h);
    let err = 0;
    for (let i = 200; i < 3800; i++) err += (y[i]! - x[i]!) ** 2;
    expect(db(err / 3600, energy(x))).toBeLessThan(-20);
  });

  it('refuses an even tap count', () => {
    expect(() => firBand(0, 4000, 64)).toThrow();
  });
});

describe('extendBandwidth', () => {
  it('adds a 4–8 kHz band to a fricative-like band at about the level asked, and leaves 0–4 kHz as it was', () => {
    const x = bandNoise(16000);
    const y = extendBandwidth(x, 0);
    expect(y.length).toBe(x.length);
    const added = y.map((v, i) => v - x[i]!);
    const addedHigh = energy(filterAligned(added, firBand(4200, 8000, 127)));
    const addedLow = energy(filterAligned(added, firBand(0, 3800, 127)));
    expect(db(addedHigh, energy(x))).toBeGreaterThan(-20);
    expect(db(addedLow, addedHigh)).toBeLessThan(-25);
    // -6 dB halves the added band's amplitude.
    const half = extendBandwidth(x, -6).map((v, i) => v - x[i]!);
    expect(db(energy(half), energy(added))).toBeCloseTo(-6, 0);
  });

  it('adds next to nothing to a vowel-like low tone, whose 2–4 kHz band is empty', () => {
    const vowel = sine(16000, 400);
    const fricative = bandNoise(16000);
    const addedV = energy(extendBandwidth(vowel).map((v, i) => v - vowel[i]!));
    const addedF = energy(extendBandwidth(fricative).map((v, i) => v - fricative[i]!));
    // Relative to each input's own level: the vowel gets at least 30 dB less of a high band than the fricative.
    expect(db(addedF, energy(fricative)) - db(addedV, energy(vowel))).toBeGreaterThan(30);
  });

  it('keeps silence silent', () => {
    expect(energy(extendBandwidth(new Float32Array(4000)))).toBe(0);
  });
});

describe('transformAudio (what an ASR stream asks of its worker)', () => {
  it('applies extendBandwidth at the level asked, leaving its input as it was, and refuses a transform it does not know', () => {
    const x = new Float32Array(1600).map((_, i) => Math.sin(i * 0.9) * (i % 97 < 10 ? 1 : 0.05));
    const before = x.slice();
    expect(transformAudio(x, { kind: 'extendBandwidth', db: -5 })).toEqual(extendBandwidth(x, -5));
    expect(x).toEqual(before);
    expect(() => transformAudio(x, { kind: 'reverse' } as unknown as AudioTransform)).toThrow(/unknown audio transform/);
  });
});
