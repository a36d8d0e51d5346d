// Real-input FFT of size M through `fft.js`'s radix-4 complex FFT of size M/2: a real signal read as interleaved
// complex pairs is the complex signal x[2n] + i·x[2n+1], so it needs no packing, and one O(M) pass splits the even
// and odd halves apart. About half the cost of a complex FFT of size M, which is what the echo filter runs most.
import FFT from 'fft.js';

export class RealFft {
  /** Bins of a spectrum: 0 … M/2. */
  readonly bins: number;
  private readonly h: number;
  private readonly fft: FFT;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly z: Float64Array;
  private readonly zz: Float64Array;

  constructor(readonly size: number) {
    if (size < 4 || size & (size - 1)) throw new Error(`real FFT size ${size} is not a power of two ≥ 4`);
    this.h = size / 2;
    this.bins = this.h + 1;
    this.fft = new FFT(this.h);
    this.cos = new Float64Array(this.bins);
    this.sin = new Float64Array(this.bins);
    for (let k = 0; k <= this.h; k++) {
      this.cos[k] = Math.cos((2 * Math.PI * k) / size);
      this.sin[k] = Math.sin((2 * Math.PI * k) / size);
    }
    this.z = new Float64Array(size);
    this.zz = new Float64Array(size);
  }

  /** re/im[0 … M/2] = unnormalised DFT of x[0 … M). */
  forward(x: Float64Array, re: Float64Array, im: Float64Array): void {
    const h = this.h;
    const Z = this.z;
    this.fft.transform(Z, x);
    const c = this.cos;
    const s = this.sin;
    for (let k = 0; k <= h; k++) {
      const a = k === h ? 0 : k;
      const b = k === 0 ? 0 : h - k;
      const zr = Z[2 * a];
      const zi = Z[2 * a + 1];
      const wr = Z[2 * b];
      const wi = -Z[2 * b + 1];
      // even part (Z[k] + conj Z[h−k]) / 2, odd part (Z[k] − conj Z[h−k]) / 2i, odd turned by e^(−2πik/M)
      const er = (zr + wr) / 2;
      const ei = (zi + wi) / 2;
      const or = (zi - wi) / 2;
      const oi = (wr - zr) / 2;
      re[k] = er + c[k] * or + s[k] * oi;
      im[k] = ei + c[k] * oi - s[k] * or;
    }
  }

  /** x[0 … M) = inverse DFT (normalised by 1/M) of the Hermitian spectrum re/im[0 … M/2]. */
  inverse(re: Float64Array, im: Float64Array, x: Float64Array): void {
    const h = this.h;
    const Z = this.zz;
    const c = this.cos;
    const s = this.sin;
    for (let k = 0; k < h; k++) {
      const xr = re[k];
      const xi = im[k];
      const yr = re[h - k];
      const yi = -im[h - k];
      const er = (xr + yr) / 2;
      const ei = (xi + yi) / 2;
      const dr = (xr - yr) / 2;
      const di = (xi - yi) / 2;
      // odd part: (X[k] − conj X[h−k]) / 2 turned by e^(+2πik/M)
      const or = dr * c[k] - di * s[k];
      const oi = dr * s[k] + di * c[k];
      Z[2 * k] = er - oi;
      Z[2 * k + 1] = ei + or;
    }
    this.fft.inverseTransform(x, Z);
  }
}
