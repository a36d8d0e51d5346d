// The adaptive part of the echo canceller: a partitioned-block frequency-domain adaptive filter (PBFDAF, the "MDF"
// structure of SpeexDSP and WebRTC AEC3) over a window of the echo path that the delay search placed. Blocks of N
// samples, FFTs of 2N (overlap-save), P partitions of N taps each, so P·N taps for the cost of a few FFTs per block
// whatever the length. Written for this gateway rather than bound from a C library: SpeexDSP's MDF (Debian's
// libspeexdsp through koffi) measured 2.2 ms of CPU per call-second for a 1024-tap filter, several times what the
// listen workers can spend per call; here the filter covers only the placed window and skips what is silent.
//
// How it keeps its footing:
// - Learning rate per frequency bin from the share of the residual that is still echo (Valin, "On adjusting the
//   learning rate in frequency domain echo cancellation with double-talk", 2007 — what SpeexDSP does): the leakage
//   η̂ is the regression of the residual's power on the echo estimate's power across bins and time. The callee's
//   voice is not correlated with our prompt, so during double talk |E|² grows while η̂|Y|² does not and the step
//   shrinks; after a change of the echo path the residual follows the prompt again, η̂ rises and it re-learns.
// - The gradient constraint (taps beyond N zeroed) is applied to one partition per block, in turn (as AEC3 does).
// - A block whose residual is far louder than its microphone signal resets the filter (divergence guard).
// - Residual echo expected after cancellation, per bin: R(k) = min(2η̂, 1)·|Y(k)|² (SpeexDSP's estimate), plus a
//   per-bin noise floor tracked from the residual's minimum; both feed the echo gate and the optional residual
//   echo suppressor.
import { RealFft } from './RealFft.js';

const FIXED_MU = Number(process.env.ECHO_FIXED_MU ?? 0);
const DELTA = Number(process.env.ECHO_DELTA ?? 0.05);
const MU = Number(process.env.ECHO_MU ?? 0.6);
const DT_RATIO = Number(process.env.ECHO_DT_RATIO ?? 0.5);
const DT_SCALE = Number(process.env.ECHO_DT_SCALE ?? 0.05);
const BANDS = 8;
const LEAK_K = Number(process.env.ECHO_LEAK_K ?? 4);
const GEIGEL = Number(process.env.ECHO_GEIGEL ?? 2);
const NO_GUARD = process.env.ECHO_NO_GUARD === '1';

export interface BlockFilterOptions {
  /** Block (hop) in samples; the FFT is twice this. */
  block: number;
  partitions: number;
  /** Spectral gain floor of the residual echo suppressor (0 = off: the residual is passed through unchanged). */
  suppressFloor: number;
  /** A bin counts as evidence of the callee when its residual beats m·(expected echo + noise); this is m. */
  binMargin: number;
  rate: number;
}

/** Per-block results, in time-domain energy units (sums of squares over the block). */
export interface BlockResult {
  /** Energy of the microphone block. */
  mic: number;
  /** Energy of the residual block (after suppression, if on). */
  residual: number;
  /** Energy of the linear echo estimate. */
  echo: number;
  /** Residual echo expected to remain. */
  expected: number;
  /** Noise floor in the block. */
  noise: number;
  /** Residual energy above the margin over expected echo + noise, summed over bins: the callee's evidence. */
  excess: number;
  /** Reference energy in the filter's window (both paths). */
  ref: number;
}

/** Scratch shared by every filter of a thread (blocks run one at a time). */
interface Scratch {
  t: Float64Array;
  t2: Float64Array;
  yp: Float64Array;
  er: Float64Array;
  ei: Float64Array;
  yr: Float64Array;
  yi: Float64Array;
  cr: Float64Array;
  ci: Float64Array;
  s: Float64Array;
  sxx: Float64Array;
  step: Float64Array;
}
const scratch = new Map<number, Scratch>();

function scratchFor(n: number) {
  let s = scratch.get(n);
  if (!s) {
    const K = n + 1;
    const f = () => new Float64Array(K);
    s = { t: new Float64Array(2 * n), t2: new Float64Array(2 * n), yp: f(), er: f(), ei: f(), yr: f(), yi: f(), cr: f(), ci: f(), s: f(), sxx: f(), step: f() };
    scratch.set(n, s);
  }
  return s;
}

const ffts = new Map<number, RealFft>();
function fftFor(m: number): RealFft {
  let f = ffts.get(m);
  if (!f) ffts.set(m, (f = new RealFft(m)));
  return f;
}

export class BlockFilter {
  readonly N: number;
  readonly P: number;
  private readonly K: number;
  private readonly M: number;
  private readonly fft: RealFft;
  /** Weights per path, [P][K] flattened, partition p = lags [pN, (p+1)N) of the window. */
  private readonly wr: Float64Array[];
  private readonly wi: Float64Array[];
  /** Reference spectra per path: a ring of the last P blocks' 2N windows, slot `head` newest. */
  private readonly xr: Float64Array[];
  private readonly xi: Float64Array[];
  /** The last 2N reference samples per path (time domain window of the newest spectrum). */
  private readonly xwin: Float64Array[];
  /** Blocks since each path last had reference in its window (> P: the path is silent, skip it). */
  private readonly idle = [Infinity, Infinity];
  private head = 0;
  private blocks = 0;
  /** Per-bin smoothed residual and echo-estimate power (means for the leakage regression). */
  private readonly eh: Float64Array;
  private readonly yh: Float64Array;
  private pey = 1;
  private pyy = 1;
  /** The same regression per band (the filter converges unevenly across frequency): band of each bin, sums, η̂. */
  private readonly bandOf: Uint8Array;
  private readonly peyB = new Float64Array(BANDS).fill(1);
  private readonly pyyB = new Float64Array(BANDS).fill(1);
  private readonly accEy = new Float64Array(BANDS);
  private readonly accYy = new Float64Array(BANDS);
  readonly leakB = new Float64Array(BANDS).fill(1);
  /** η̂: share of the echo estimate's power that is still in the residual. Starts pessimistic. */
  leak = 1;
  private adapted = false;
  private sumAdapt = 0;
  /** Per-bin noise floor (minimum of the smoothed residual), and that smoothing. */
  private readonly noise: Float64Array;
  private readonly smooth: Float64Array;
  private noiseInit = false;
  /** Whether path 1 (the shadow) has taken its weights from path 0 since it last went quiet. */
  private shadowSeeded = false;
  /** Times the divergence guard reset the filter. */
  resets = 0;
  private sxxLong = 0;
  private guardRes = 0;
  private guardMic = 0;
  lastMu = 0;
  get isAdapted() { return this.adapted; }
  private readonly specAvg: number;
  private readonly beta0: number;
  private readonly betaMax: number;

  constructor(private readonly o: BlockFilterOptions) {
    this.N = o.block;
    this.P = o.partitions;
    this.M = 2 * this.N;
    this.K = this.N + 1;
    this.fft = fftFor(this.M);
    const PK = this.P * this.K;
    this.wr = [new Float64Array(PK), new Float64Array(PK)];
    this.wi = [new Float64Array(PK), new Float64Array(PK)];
    this.xr = [new Float64Array(PK), new Float64Array(PK)];
    this.xi = [new Float64Array(PK), new Float64Array(PK)];
    this.xwin = [new Float64Array(this.M), new Float64Array(this.M)];
    this.eh = new Float64Array(this.K);
    this.yh = new Float64Array(this.K);
    this.noise = new Float64Array(this.K);
    this.smooth = new Float64Array(this.K);
    // Bands equally spaced on a log axis from ~150 Hz to Nyquist (bins below go to the first band).
    this.bandOf = new Uint8Array(this.K);
    const lo = Math.log(Math.max(2, (150 / o.rate) * this.M));
    const hi = Math.log(this.K - 1);
    for (let k = 0; k < this.K; k++) this.bandOf[k] = Math.max(0, Math.min(BANDS - 1, Math.floor(((Math.log(Math.max(1, k)) - lo) / (hi - lo)) * BANDS)));
    const blocksPerSecond = o.rate / this.N;
    // Smoothing per block: the means over ~1 s, the leakage regression over ~0.3 s at most (SpeexDSP's acoustic
    // defaults take seconds; a line's echo path is simpler and a barge-in cannot wait for it).
    this.specAvg = 1 / blocksPerSecond;
    this.beta0 = 12 / blocksPerSecond;
    this.betaMax = 3 / blocksPerSecond;
  }

  /** Forget the learnt path and start from a single tap of gain `gain` at lag `lag` of the window (path 0 and 1). */
  reset(lag: number, gain: number): void {
    for (const w of [...this.wr, ...this.wi]) w.fill(0);
    const p = Math.floor(lag / this.N);
    const j = lag - p * this.N;
    if (p >= 0 && p < this.P) {
      // A tap at lag j of partition p: W_p(k) = g·e^(−2πi·jk/M).
      for (let k = 0; k < this.K; k++) {
        const a = (-2 * Math.PI * j * k) / this.M;
        this.wr[0][p * this.K + k] = gain * Math.cos(a);
        this.wi[0][p * this.K + k] = gain * Math.sin(a);
      }
      this.wr[1].set(this.wr[0]);
      this.wi[1].set(this.wi[0]);
    }
    this.adapted = false;
    this.sumAdapt = 0;
    this.forgetLeak();
  }

  private forgetLeak(): void {
    this.leak = 1;
    this.pey = this.pyy = 1;
    this.leakB.fill(1);
    this.peyB.fill(1);
    this.pyyB.fill(1);
  }

  /** The window moved: the reference history no longer lines up with the weights' lags. */
  clearHistory(): void {
    for (const a of [...this.xr, ...this.xi, ...this.xwin]) a.fill(0);
    this.idle[0] = this.idle[1] = Infinity;
  }

  /** Energy of each partition's taps (path 0), from the weights' spectra (Parseval): where the echo path lies. */
  partitionEnergy(out: Float64Array): void {
    const K = this.K;
    for (let p = 0; p < this.P; p++) {
      let e = 0;
      for (let k = 0; k < K; k++) {
        const r = this.wr[0][p * K + k];
        const i = this.wi[0][p * K + k];
        e += (k === 0 || k === K - 1 ? 1 : 2) * (r * r + i * i);
      }
      out[p] = e / this.M;
    }
  }

  /**
   * One block: `mic` (N samples), the N newest reference samples of each path under the window (null: none), the
   * residual into `out`. `adapt`: false holds the weights (e.g. while the window is being placed).
   */
  process(mic: ArrayLike<number>, x0: ArrayLike<number> | null, x1: ArrayLike<number> | null, out: Float32Array, res: BlockResult, adapt = true): void {
    const { N, M, K, P } = this;
    const sc = scratchFor(N);
    const slot = (this.head = (this.head + 1) % P);
    const refs = [x0, x1];
    let refE = 0;
    for (let q = 0; q < 2; q++) {
      const x = refs[q];
      const win = this.xwin[q];
      if (x) {
        this.idle[q] = 0;
        if (q === 1 && !this.shadowSeeded) {
          // The shadow is the same line playing earlier audio: the same echo path.
          this.wr[1].set(this.wr[0]);
          this.wi[1].set(this.wi[0]);
          this.shadowSeeded = true;
        }
      } else if (++this.idle[q] > P + 1) {
        if (q === 1) this.shadowSeeded = false;
        continue;
      }
      win.copyWithin(0, N);
      if (x) for (let i = 0; i < N; i++) win[N + i] = x[i];
      else win.fill(0, N);
      for (let i = N; i < M; i++) refE += win[i] * win[i];
      this.fft.forward(win, sc.er, sc.ei);
      this.xr[q].set(sc.er, slot * K);
      this.xi[q].set(sc.ei, slot * K);
    }
    const live0 = this.idle[0] <= P + 1;
    const live1 = this.idle[1] <= P + 1;
    // Echo estimate Y = Σ_p W_p · X_{newest − p}, and the reference power per bin over all partitions.
    const yr = sc.yr.fill(0);
    const yi = sc.yi.fill(0);
    const sxx = sc.sxx.fill(0);
    for (let q = 0; q < 2; q++) {
      if (q === 0 ? !live0 : !live1) continue;
      const wr = this.wr[q];
      const wi = this.wi[q];
      const xr = this.xr[q];
      const xi = this.xi[q];
      for (let p = 0; p < P; p++) {
        const xo = ((slot - p + P) % P) * K;
        const wo = p * K;
        for (let k = 0; k < K; k++) {
          const a = xr[xo + k];
          const b = xi[xo + k];
          const c = wr[wo + k];
          const d = wi[wo + k];
          yr[k] += a * c - b * d;
          yi[k] += a * d + b * c;
          sxx[k] += a * a + b * b;
        }
      }
    }
    const t = sc.t;
    this.fft.inverse(yr, yi, t);
    let micE = 0;
    let echoE = 0;
    let resE = 0;
    const t2 = sc.t2;
    for (let i = 0; i < N; i++) {
      const y = t[N + i];
      const d = mic[i];
      const e = d - y;
      micE += d * d;
      echoE += y * y;
      resE += e * e;
      out[i] = e;
      t[i] = 0;
      t[N + i] = e;
      t2[i] = 0;
      t2[N + i] = y;
    }
    const er = sc.er;
    const ei = sc.ei;
    this.fft.forward(t, er, ei);
    // The echo estimate's own spectrum over this block (Y above also holds the discarded circular half), so that
    // it compares with the residual's bin by bin.
    const yp = sc.yp;
    this.fft.forward(t2, sc.cr, sc.ci);
    for (let k = 0; k < K; k++) yp[k] = sc.cr[k] * sc.cr[k] + sc.ci[k] * sc.ci[k];
    // Powers per bin and their sums (half spectrum, DC and Nyquist once).
    const S = sc.s;
    let See = 0;
    let Syy = 0;
    let Sxx = 0;
    let pey = 0;
    let pyy = 0;
    const accEy = this.accEy.fill(0);
    const accYy = this.accYy.fill(0);
    const bandOf = this.bandOf;
    const eh = this.eh;
    const yh = this.yh;
    const avg = this.specAvg;
    for (let k = 0; k < K; k++) {
      const s = er[k] * er[k] + ei[k] * ei[k];
      const y = yp[k];
      S[k] = s;
      See += s;
      Syy += y;
      Sxx += sxx[k];
      eh[k] = (1 - avg) * eh[k] + avg * s;
      yh[k] = (1 - avg) * yh[k] + avg * y;
      const dy = y - yh[k];
      const c = (s - eh[k]) * dy;
      pey += c;
      pyy += dy * dy;
      accEy[bandOf[k]] += c;
      accYy[bandOf[k]] += dy * dy;
    }
    // Leakage regression, faster while echo dominates the residual (little near-end speech to mislead it).
    if (Syy > 1e-12 * M) {
      const alpha = Math.min(this.betaMax, (this.beta0 * Syy) / (See + 1e-12));
      this.pey = (1 - alpha) * this.pey + alpha * pey;
      this.pyy = (1 - alpha) * this.pyy + alpha * pyy;
      if (this.pyy < 1e-12) this.pyy = 1e-12;
      this.leak = Math.max(0.005, Math.min(1, this.pey / this.pyy));
      for (let b = 0; b < BANDS; b++) {
        this.peyB[b] = (1 - alpha) * this.peyB[b] + alpha * accEy[b];
        this.pyyB[b] = Math.max(1e-12, (1 - alpha) * this.pyyB[b] + alpha * accYy[b]);
        this.leakB[b] = Math.max(0.005, Math.min(1, this.peyB[b] / this.pyyB[b]));
      }
    }
    const refLive = refE > 1e-7 * N;
    // Divergence: the "cancelled" signal far louder than what came in, over a quarter second, means the weights are
    // wrong, not the line (one block can be: a quiet block against a prediction still settling).
    this.guardRes = 0.85 * this.guardRes + resE;
    this.guardMic = 0.85 * this.guardMic + micE;
    if (!NO_GUARD && refLive && this.guardRes > 2 * this.guardMic + 1e-5 * N) {
      this.guardRes = this.guardMic = 0;
      this.resets++;
      for (const w of [...this.wr, ...this.wi]) w.fill(0);
      this.adapted = false;
      this.sumAdapt = 0;
      this.forgetLeak();
      for (let i = 0; i < N; i++) out[i] = mic[i];
      this.fillResult(res, micE, micE, 0, micE, 0, refE);
      this.blocks++;
      return;
    }
    // Learning rate. Until the filter has learnt something, a fixed rate while the echo is not buried under the
    // residual; afterwards per bin from the share of the residual that is echo (plus a little of the overall share).
    const rer = Math.min(0.5, (1e-4 * Sxx + 3 * this.leak * Syy) / (See + 1e-12));
    let fixedRate = 0;
    if (!this.adapted) {
      fixedRate = Sxx > 1e-6 * M * N ? MU : 0;
      this.sumAdapt += fixedRate;
      if (this.sumAdapt > P) this.adapted = true;
    }
    const leak2 = Math.min(1, 2 * this.leak);
    // Noise floor: follows the smoothed residual down at once, up slowly (~1.5 dB/s).
    const noise = this.noise;
    const sm = this.smooth;
    const rise = 1 + 0.35 / (this.o.rate / N);
    let expected = 0;
    let noiseSum = 0;
    let excess = 0;
    const m = this.o.binMargin;
    for (let k = 0; k < K; k++) {
      const s = S[k];
      sm[k] = this.noiseInit ? 0.7 * sm[k] + 0.3 * s : s;
      if (!this.noiseInit || sm[k] < noise[k]) noise[k] = sm[k];
      else noise[k] *= rise;
      const r = Math.min(1, LEAK_K * this.leakB[bandOf[k]]) * yp[k];
      expected += r;
      noiseSum += noise[k];
      const over = s - m * (r + noise[k]);
      if (over > 0 && k > 0) excess += over;
    }
    this.noiseInit = true;
    // Adapt (skipped with no reference: nothing to learn, and it saves the work).
    if (adapt && refLive) {
      const step = sc.step;
      let muSum = 0;
      // Regularised against the reference's long-term level, not this block's: a quiet stretch of prompt (a pause
      // between words) would otherwise turn line noise into large steps.
      this.sxxLong = this.sxxLong === 0 ? Sxx / K : 0.98 * this.sxxLong + 0.02 * (Sxx / K);
      const delta = DELTA * this.sxxLong + 1e-9 * M;
      // Double talk: this block's residual carries clearly more than the echo expected to remain (the gate's own
      // evidence), so most of it is the callee, not an error of the filter; adapt only a little.
      // Only when the microphone is also louder than the echo predicted for it (Geigel's test): a filter that has
      // not yet learnt a dispersive path leaves more than it expects too, and must keep learning.
      const talk = excess > DT_RATIO * (expected + noiseSum) && micE > GEIGEL * echoE;
      const rate = this.adapted ? (talk ? MU * DT_SCALE : MU) : fixedRate;
      for (let k = 0; k < K; k++) {
        let mu = rate;
        if (FIXED_MU > 0) mu = FIXED_MU;
        step[k] = mu / (sxx[k] + delta);
        muSum += mu;
      }
      this.lastMu = muSum / K;
      for (let q = 0; q < 2; q++) {
        if (q === 0 ? !live0 : !live1) continue;
        const wr = this.wr[q];
        const wi = this.wi[q];
        const xr = this.xr[q];
        const xi = this.xi[q];
        for (let p = 0; p < P; p++) {
          const xo = ((slot - p + P) % P) * K;
          const wo = p * K;
          for (let k = 0; k < K; k++) {
            const a = xr[xo + k];
            const b = xi[xo + k];
            const g = step[k];
            // conj(X)·E
            wr[wo + k] += g * (a * er[k] + b * ei[k]);
            wi[wo + k] += g * (a * ei[k] - b * er[k]);
          }
        }
        this.constrain(q, this.blocks % P);
      }
    }
    // Residual echo suppression: a spectral gain on what the filter left, floored so the callee is never removed.
    let outE = resE;
    const floor = this.o.suppressFloor;
    if (floor > 0 && expected > 0 && refLive) {
      for (let k = 0; k < K; k++) {
        const r = Math.min(1, LEAK_K * this.leakB[bandOf[k]]) * yp[k];
        const g = Math.max(floor, 1 - r / (sm[k] + 1e-12));
        er[k] *= g;
        ei[k] *= g;
      }
      this.fft.inverse(er, ei, t);
      outE = 0;
      for (let i = 0; i < N; i++) {
        const v = t[N + i];
        out[i] = v;
        outE += v * v;
      }
    }
    // Spectral sums over the half spectrum are ≈ M/2 times the time-domain energy.
    const toTime = 2 / M;
    this.fillResult(res, micE, outE, echoE, expected * toTime, noiseSum * toTime, refE, excess * toTime);
    this.blocks++;
  }

  private fillResult(res: BlockResult, mic: number, residual: number, echo: number, expected: number, noise: number, ref: number, excess = 0): void {
    res.mic = mic;
    res.residual = residual;
    res.echo = echo;
    res.expected = expected;
    res.noise = noise;
    res.ref = ref;
    res.excess = excess;
  }

  /** Zero the taps of partition p beyond N (the circular part a frequency-domain update leaves). */
  private constrain(q: number, p: number): void {
    const { N, K } = this;
    const sc = scratchFor(N);
    const wr = this.wr[q];
    const wi = this.wi[q];
    const o = p * K;
    for (let k = 0; k < K; k++) {
      sc.cr[k] = wr[o + k];
      sc.ci[k] = wi[o + k];
    }
    const t = sc.t;
    this.fft.inverse(sc.cr, sc.ci, t);
    t.fill(0, N);
    this.fft.forward(t, sc.cr, sc.ci);
    for (let k = 0; k < K; k++) {
      wr[o + k] = sc.cr[k];
      wi[o + k] = sc.ci[k];
    }
  }
}
