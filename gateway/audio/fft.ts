// In-place iterative radix-2 complex FFT, used for echo-delay search (GCC-PHAT). Small and allocation-free per
// call: the twiddle and bit-reversal tables are cached per size.
interface Table {
  /** Twiddles of the stage with half-size h at [h, 2h): cos(2πk/2h) and −sin(2πk/2h) (the forward sign). */
  cos: Float64Array;
  sin: Float64Array;
  /** The same for the inverse (+sin), so the butterflies need no sign multiply. */
  sinInv: Float64Array;
  /** Index pairs (i, rev(i)) with i < rev(i): the swaps of the bit-reversal permutation, and nothing else. */
  swaps: Uint32Array;
}

const tables = new Map<number, Table>();

function table(n: number): Table {
  let t = tables.get(n);
  if (!t) {
    // The values are exactly those of one size-n table indexed k·(n/2h), so results do not depend on the layout.
    const c = new Float64Array(n / 2);
    const s = new Float64Array(n / 2);
    for (let i = 0; i < n / 2; i++) {
      c[i] = Math.cos((2 * Math.PI * i) / n);
      s[i] = -Math.sin((2 * Math.PI * i) / n);
    }
    const cos = new Float64Array(Math.max(n, 1));
    const sin = new Float64Array(Math.max(n, 1));
    const sinInv = new Float64Array(Math.max(n, 1));
    for (let h = 1; h < n; h <<= 1) {
      const step = n / (2 * h);
      for (let k = 0; k < h; k++) {
        cos[h + k] = c[k * step];
        sin[h + k] = s[k * step];
        sinInv[h + k] = -s[k * step];
      }
    }
    const bits = Math.log2(n);
    const pairs: number[] = [];
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      if (r > i) pairs.push(i, r);
    }
    t = { cos, sin, sinInv, swaps: Uint32Array.from(pairs) };
    tables.set(n, t);
  }
  return t;
}

/** Forward FFT (inverse when `inverse`, unscaled) of re/im, length a power of two. */
export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if (n & (n - 1)) throw new Error(`fft size ${n} is not a power of two`);
  const { cos, sin: fwd, sinInv, swaps } = table(n);
  const sin = inverse ? sinInv : fwd;
  for (let p = 0; p < swaps.length; p += 2) {
    const i = swaps[p];
    const j = swaps[p + 1];
    let t = re[i];
    re[i] = re[j];
    re[j] = t;
    t = im[i];
    im[i] = im[j];
    im[j] = t;
  }
  // Stages are taken two at a time over groups of four points (radix-2²): the same butterflies with the same
  // twiddles as one stage at a time, so results are bit-identical, but each point is loaded and stored half as often.
  let half = 1;
  for (; 2 * half < n; half <<= 2) {
    const h = half;
    const h2 = 2 * h;
    for (let i = 0; i < n; i += 4 * h) {
      for (let k = 0; k < h; k++) {
        const wr = cos[h + k];
        const wi = sin[h + k];
        const ur = cos[h2 + k];
        const ui = sin[h2 + k];
        const vr = cos[h2 + h + k];
        const vi = sin[h2 + h + k];
        const a0 = i + k;
        const a1 = a0 + h;
        const a2 = a1 + h;
        const a3 = a2 + h;
        let r0 = re[a0];
        let i0 = im[a0];
        let r1 = re[a1];
        let i1 = im[a1];
        let r2 = re[a2];
        let i2 = im[a2];
        let r3 = re[a3];
        let i3 = im[a3];
        // Stage h: (a0, a1) and (a2, a3).
        let xr = r1 * wr - i1 * wi;
        let xi = r1 * wi + i1 * wr;
        r1 = r0 - xr;
        i1 = i0 - xi;
        r0 += xr;
        i0 += xi;
        xr = r3 * wr - i3 * wi;
        xi = r3 * wi + i3 * wr;
        r3 = r2 - xr;
        i3 = i2 - xi;
        r2 += xr;
        i2 += xi;
        // Stage 2h: (a0, a2) and (a1, a3).
        xr = r2 * ur - i2 * ui;
        xi = r2 * ui + i2 * ur;
        re[a2] = r0 - xr;
        im[a2] = i0 - xi;
        re[a0] = r0 + xr;
        im[a0] = i0 + xi;
        xr = r3 * vr - i3 * vi;
        xi = r3 * vi + i3 * vr;
        re[a3] = r1 - xr;
        im[a3] = i1 - xi;
        re[a1] = r1 + xr;
        im[a1] = i1 + xi;
      }
    }
  }
  if (half < n) {
    // An odd number of stages leaves the last one (half = n/2) on its own.
    for (let k = 0; k < half; k++) {
      const wr = cos[half + k];
      const wi = sin[half + k];
      const a = k;
      const b = a + half;
      const xr = re[b] * wr - im[b] * wi;
      const xi = re[b] * wi + im[b] * wr;
      re[b] = re[a] - xr;
      im[b] = im[a] - xi;
      re[a] += xr;
      im[a] += xi;
    }
  }
}

const halfScratch = new Map<number, { re: Float64Array; im: Float64Array }>();

/**
 * Unscaled inverse transform of a real signal's spectrum, which is conjugate-symmetric: only X[0 … n/2] is read from
 * re/im (the rest is implied), and the real signal goes to out[0, n). About half the work of `fft(re, im, true)`: one
 * complex transform of size n/2 carries the even samples in its real part and the odd ones in its imaginary part.
 */
export function ifftReal(re: Float64Array, im: Float64Array, out: Float64Array): void {
  const n = out.length;
  if (n < 2 || n & (n - 1)) throw new Error(`fft size ${n} is not a power of two ≥ 2`);
  const h = n / 2;
  let s = halfScratch.get(h);
  if (!s) {
    s = { re: new Float64Array(h), im: new Float64Array(h) };
    halfScratch.set(h, s);
  }
  // e^{+2πik/n}: the last stage's twiddles of the size-n table.
  const { cos, sinInv } = table(n);
  const zr = s.re;
  const zi = s.im;
  for (let k = 0; k < h; k++) {
    // X[k + h] = conj X[h − k].
    const ar = re[k];
    const ai = im[k];
    const br = re[h - k];
    const bi = -im[h - k];
    const dr = ar - br;
    const di = ai - bi;
    const wr = cos[h + k];
    const wi = sinInv[h + k];
    // Z[k] = (X[k] + X[k+h]) + i·(X[k] − X[k+h])·e^{2πik/n}: the even samples' spectrum plus i × the odd ones'.
    const or = dr * wr - di * wi;
    const oi = dr * wi + di * wr;
    zr[k] = ar + br - oi;
    zi[k] = ai + bi + or;
  }
  fft(zr, zi, true);
  for (let m = 0; m < h; m++) {
    out[2 * m] = zr[m];
    out[2 * m + 1] = zi[m];
  }
}
