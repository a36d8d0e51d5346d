// gateway/audio/fft.ts: known transforms and the inverse round trip.
import { describe, expect, it } from 'vitest';
import { fft, ifftReal } from '../gateway/audio/fft.js';

function naiveDft(re: number[], im: number[]): { re: number[]; im: number[] } {
  const n = re.length;
  const R: number[] = [];
  const I: number[] = [];
  for (let k = 0; k < n; k++) {
    let a = 0;
    let b = 0;
    for (let t = 0; t < n; t++) {
      const w = (-2 * Math.PI * k * t) / n;
      a += re[t] * Math.cos(w) - im[t] * Math.sin(w);
      b += re[t] * Math.sin(w) + im[t] * Math.cos(w);
    }
    R.push(a);
    I.push(b);
  }
  return { re: R, im: I };
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, eps = 1e-9) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]), `index ${i}: ${a[i]} vs ${b[i]}`).toBeLessThan(eps);
};

describe('fft', () => {
  it('impulse → flat spectrum', () => {
    const re = new Float64Array(8);
    const im = new Float64Array(8);
    re[0] = 1;
    fft(re, im);
    close(re, new Array(8).fill(1));
    close(im, new Array(8).fill(0));
  });
  it('DC → all energy in bin 0', () => {
    const re = new Float64Array(16).fill(2);
    const im = new Float64Array(16);
    fft(re, im);
    close(re, [32, ...new Array(15).fill(0)]);
    close(im, new Array(16).fill(0));
  });
  it('cosine at bin 3 → N/2 at bins 3 and N-3; sine → ∓N/2 j (forward sign convention e^{-j…})', () => {
    const n = 32;
    const re = Float64Array.from({ length: n }, (_, t) => Math.cos((2 * Math.PI * 3 * t) / n));
    const im = new Float64Array(n);
    fft(re, im);
    for (let k = 0; k < n; k++) expect(Math.abs(re[k] - (k === 3 || k === n - 3 ? n / 2 : 0))).toBeLessThan(1e-9);
    close(im, new Array(n).fill(0));
    const sre = Float64Array.from({ length: n }, (_, t) => Math.sin((2 * Math.PI * 5 * t) / n));
    const sim = new Float64Array(n);
    fft(sre, sim);
    expect(sim[5]).toBeCloseTo(-n / 2, 9);
    expect(sim[n - 5]).toBeCloseTo(n / 2, 9);
  });
  it('shifted impulse → linear phase e^{-j2πk·d/N}', () => {
    const n = 16;
    const d = 3;
    const re = new Float64Array(n);
    const im = new Float64Array(n);
    re[d] = 1;
    fft(re, im);
    for (let k = 0; k < n; k++) {
      expect(re[k]).toBeCloseTo(Math.cos((-2 * Math.PI * k * d) / n), 9);
      expect(im[k]).toBeCloseTo(Math.sin((-2 * Math.PI * k * d) / n), 9);
    }
  });
  it('matches a naive DFT on random complex input, several sizes', () => {
    let seed = 1;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
    for (const n of [1, 2, 4, 8, 64, 256]) {
      const r = Array.from({ length: n }, rnd);
      const i = Array.from({ length: n }, rnd);
      const want = naiveDft(r, i);
      const re = Float64Array.from(r);
      const im = Float64Array.from(i);
      fft(re, im);
      close(re, want.re, 1e-8);
      close(im, want.im, 1e-8);
    }
  });
  it('inverse (unscaled) undoes forward after dividing by N', () => {
    const n = 1024;
    const r = Float64Array.from({ length: n }, (_, t) => Math.sin(t * 0.37) + 0.1 * ((t * 13) % 7));
    const i = Float64Array.from({ length: n }, (_, t) => Math.cos(t * 0.11));
    const re = r.slice();
    const im = i.slice();
    fft(re, im);
    fft(re, im, true);
    close(re.map((x) => x / n), r, 1e-9);
    close(im.map((x) => x / n), i, 1e-9);
  });
  it('Parseval: Σ|x|² = Σ|X|²/N', () => {
    const n = 128;
    const re = Float64Array.from({ length: n }, (_, t) => Math.sin(t) * Math.exp(-t / 50));
    const im = new Float64Array(n);
    const e1 = re.reduce((s, x) => s + x * x, 0);
    fft(re, im);
    let e2 = 0;
    for (let k = 0; k < n; k++) e2 += re[k] ** 2 + im[k] ** 2;
    expect(e2 / n).toBeCloseTo(e1, 9);
  });
  it('rejects sizes that are not a power of two', () => {
    expect(() => fft(new Float64Array(12), new Float64Array(12))).toThrow(/not a power of two/);
    expect(() => fft(new Float64Array(3), new Float64Array(3))).toThrow(/not a power of two/);
  });

  it('ifftReal: a real signal back from the half of its spectrum it reads, as the full complex inverse gives it', () => {
    for (const n of [2, 8, 64, 8192]) {
      const x = Float64Array.from({ length: n }, (_, t) => Math.sin(0.37 * t) + 0.5 * Math.cos(1.3 * t + 0.2) + ((t * 7919) % 13) / 13 - 0.5);
      const re = x.slice();
      const im = new Float64Array(n);
      fft(re, im);
      const full = { re: re.slice(), im: im.slice() };
      fft(full.re, full.im, true);
      // Only X[0 … n/2] may be read: poison the rest.
      for (let k = n / 2 + 1; k < n; k++) re[k] = im[k] = Number.NaN;
      const out = new Float64Array(n);
      ifftReal(re, im, out);
      close(out, full.re, 1e-9 * n);
      close(Array.from(out, (v) => v / n), x, 1e-9);
    }
    expect(() => ifftReal(new Float64Array(6), new Float64Array(6), new Float64Array(6))).toThrow(/not a power of two/);
  });
});

