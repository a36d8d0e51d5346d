// The adaptive part of the echo canceller: a partitioned-block frequency-domain adaptive filter (PBFDAF, the "MDF"
// structure of SpeexDSP and WebRTC AEC3) over a window of the echo path that the delay search placed. Blocks of N
// samples, FFTs of 2N (overlap-save), P partitions of N taps each, so P·N taps for the cost of a few FFTs per block
// whatever the length. Written for this gateway rather than bound from a C library: SpeexDSP's MDF (Debian's
// libspeexdsp through koffi) measured 2.2 ms of CPU per call-second for a 1024-tap filter, several times what the
// listen workers can spend per call; here the filter covers only the placed window and skips what is silent.
//
// How it keeps its footing:
// - Normalised step per bin against the reference's power in that bin over all partitions, regularised by the
//   reference's long-term level (a pause between the prompt's words must not turn line noise into large steps).
// - Double talk (the callee over the prompt): the block's residual stands out above the echo expected to remain and
//   the microphone is louder than the echo estimate (Geigel's test): the step drops to 5 % and the residual-echo
//   estimate below is not updated, so the callee's voice neither drags the weights nor is taken for echo left over.
// - The gradient constraint (taps beyond N zeroed) is applied to one partition per block, in turn (as AEC3 does).
// - A block run whose residual is far louder than its microphone signal resets the filter (divergence guard).
// - Residual echo expected after cancellation, per bin: min(K·η̂_b, 1)·|Y(k)|², where η̂_b is the leakage of the
//   bin's band — the regression of the residual's power on the echo estimate's power over time (Valin, "On adjusting
//   the learning rate in frequency domain echo cancellation with double-talk", 2007, as SpeexDSP estimates it) —
//   plus a per-bin noise floor tracked from the residual's minimum. Both feed the echo gate and the optional residual
//   echo suppressor.
import { RealFft } from './RealFft.js';
import type { ShapeFigures } from './spectralShape.js';

/** Normalised step size. */
const MU = 0.6;
/** Share of the step kept during double talk. */
const DT_SCALE = 0.05;
/** Double talk: residual evidence above the margin exceeds this share of the expected echo and noise… */
const DT_RATIO = 0.5;
/** …and the microphone block carries more than this multiple of the echo estimate's energy (Geigel's test). */
const GEIGEL = 2;
/**
 * `robust` (echo.robustFilter, off): double talk on the residual's excess alone, above 1.5 × the expected echo and
 * noise — Geigel's test misses a callee no louder than the echo, and the filter they dragged left 8–17 dB more echo
 * under them on G.168 lines (bench/bargein/double-talk.ts: ERLE under a −28 dBFS callee 8–9 dB with it, 17–18 dB
 * without; at 0.5 without it echo alone reads as double talk and learning slows) — with the proportionate step and
 * four pretraining passes, which alone let the callee drag the filter harder (README "Measured").
 */
const ROBUST = { dtRatio: 1.5, geigel: 0, prop: 0.9, passes: 4 };
const CLASSIC = { dtRatio: DT_RATIO, geigel: GEIGEL, prop: 0, passes: 2 };
/** Regularisation of the normalised step, as a share of the reference's long-term power per bin. */
const DELTA = 0.05;
/** Bands of the leakage estimate (the filter converges unevenly across frequency). */
const BANDS = 8;
/** Smallest leakage η̂ believed (LEAK_K times it: the deepest expected cancellation, 0.02 = 17 dB). */
const LEAK_MIN = 0.005;
/** Expected residual echo = min(LEAK_K·η̂, 1)·|Y|²: η̂ is a mean, the residual of a block can be a few times it. */
const LEAK_K = 4;
/**
 * Overrides of the constants above for screening on the generated corpus (`npm run eval:bargein:offline --
 * --filter mu=…`, bench only; read when a filter is built; NaN: as `robust` says). `vss` 1: a step per bin scaled by
 * the share of the bin's residual that is expected echo (Valin 2007, as SpeexDSP's MDF does); `prop`: share of the
 * step handed out in proportion to each partition's weights (proportionate NLMS over partitions: a line's path fills
 * one or two of the window's partitions, the rest only add misadjustment); `passes`: of the pretraining at the lock;
 * `leakHold` 1: the leakage regression held on the residual's excess alone; `leakMin`: the smallest η̂ believed.
 */
export const filterScreening = { mu: MU, dtScale: DT_SCALE, leakK: LEAK_K, vss: 0, prop: NaN, passes: NaN, geigel: NaN, dtRatio: NaN, leakHold: 0, leakMin: LEAK_MIN };
const pick = (override: number, mode: number) => (Number.isNaN(override) ? mode : override);
/** Smoothing per block of the cross-spectra behind the coherence figures (~3 blocks, 50 ms). */
const COH_SMOOTH = 0.35;
/** Which references the far end plays (see `choose`): bit masks. */
const NONE = 0;
const PATH0 = 1;
const PATH1 = 2;
const ALL_HYPOTHESES = [NONE, PATH0, PATH1, PATH0 | PATH1];
const SHADOW_HYPOTHESES = [NONE, PATH1];
/** Smoothing of each hypothesis's residual energy per block (~50 ms), and how much smaller a rival must be. */
const HYP_SMOOTH = 0.3;
const HYP_SWITCH = 0.7;

export interface BlockFilterOptions {
  /** Block (hop) in samples; the FFT is twice this. */
  block: number;
  partitions: number;
  /** Spectral gain floor of the residual echo suppressor (0 = off: the residual is passed through unchanged). */
  suppressFloor: number;
  /** A bin counts as evidence of the callee when its residual beats m·(expected echo + noise); this is m. */
  binMargin: number;
  /** Compute the telephone-band shape and coherence figures (BlockResult.band…, incoherent, cohDe); else 0. */
  shapeFigures?: boolean;
  /** Double talk on the residual's excess alone, proportionate step, four pretraining passes (`ROBUST`). */
  robust?: boolean;
  rate: number;
}

/** Per-block results, in time-domain energy units (sums of squares over the block). */
/** With the block's telephone-band shape figures (`shapeFigures`; coherence smoothed over `COH_SMOOTH` blocks). */
export interface BlockResult extends ShapeFigures {
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
  /** Σ residual · echo estimate over the block, and the residual's energy, both before suppression (EchoFrameInfo.echoFit). */
  cross: number;
  rawResidual: number;
}

/** Scratch shared by every filter of a thread with the same block size (blocks run one at a time). */
class Scratch {
  readonly t: Float64Array;
  readonly er: Float64Array;
  readonly ei: Float64Array;
  readonly yr: Float64Array;
  readonly yi: Float64Array;
  readonly cr: Float64Array;
  readonly ci: Float64Array;
  readonly s: Float64Array;
  readonly yp: Float64Array;
  readonly sxx: Float64Array;
  readonly step: Float64Array;
  readonly y1r: Float64Array;
  readonly y1i: Float64Array;
  readonly t1: Float64Array;
  readonly dr: Float64Array;
  readonly di: Float64Array;
  readonly t2: Float64Array;
  constructor(n: number) {
    const K = n + 1;
    this.t = new Float64Array(2 * n);
    this.er = new Float64Array(K);
    this.ei = new Float64Array(K);
    this.yr = new Float64Array(K);
    this.yi = new Float64Array(K);
    this.cr = new Float64Array(K);
    this.ci = new Float64Array(K);
    this.s = new Float64Array(K);
    this.yp = new Float64Array(K);
    this.sxx = new Float64Array(K);
    this.step = new Float64Array(K);
    this.y1r = new Float64Array(K);
    this.y1i = new Float64Array(K);
    this.t1 = new Float64Array(2 * n);
    this.dr = new Float64Array(K);
    this.di = new Float64Array(K);
    this.t2 = new Float64Array(2 * n);
  }
}
const scratches = new Map<number, Scratch>();
const ffts = new Map<number, RealFft>();

export class BlockFilter {
  readonly N: number;
  readonly P: number;
  private readonly K: number;
  private readonly M: number;
  private readonly fft: RealFft;
  private readonly sc: Scratch;
  /** Weights per path, [P][K] flattened, partition p = lags [pN, (p+1)N) of the window. */
  private readonly wr: Float64Array[];
  private readonly wi: Float64Array[];
  /** Reference spectra per path: a ring of the last P blocks' 2N windows, slot `head` newest. */
  private readonly xr: Float64Array[];
  private readonly xi: Float64Array[];
  /** The last 2N reference samples per path (time domain window of the newest spectrum). */
  private readonly xwin: Float64Array[];
  /** Blocks since each path last had reference in its window (> P + 1: the path is silent, skip it). */
  private readonly idle = [Infinity, Infinity];
  private head = 0;
  private blocks = 0;
  /** Per-bin smoothed residual and echo-estimate power (means for the leakage regression). */
  private readonly eh: Float64Array;
  private readonly yh: Float64Array;
  /** The leakage regression per band: band of each bin, running sums, η̂ per band. */
  private readonly bandOf: Uint8Array;
  private readonly peyB = new Float64Array(BANDS);
  private readonly pyyB = new Float64Array(BANDS);
  private readonly accEy = new Float64Array(BANDS);
  private readonly accYy = new Float64Array(BANDS);
  private readonly leakB = new Float64Array(BANDS);
  /** Until the filter has learnt something it adapts at the full step whatever the residual says. */
  private adapted = false;
  private sumAdapt = 0;
  /** Per-bin noise floor (minimum of the smoothed residual), and that smoothing. */
  private readonly noise: Float64Array;
  private readonly smooth: Float64Array;
  private noiseInit = false;
  /** Whether path 1 (the shadow) has taken its weights from path 0 since it last went quiet. */
  private shadowSeeded = false;
  /** While the shadow plays: the references taken to be playing, and each hypothesis's smoothed residual energy. */
  private hyp = PATH0;
  private shadowSeen = false;
  private readonly hypE = new Float64Array(4);
  private sxxLong = 0;
  private guardRes = 0;
  private guardMic = 0;
  private readonly specAvg: number;
  private readonly mu = filterScreening.mu;
  private readonly dtScale = filterScreening.dtScale;
  private readonly leakK = filterScreening.leakK;
  private readonly vss = filterScreening.vss > 0;
  /** Share of the step handed out in proportion to each partition's weight energy (0: uniform, as MDF). */
  private readonly prop: number;
  private readonly geigel: number;
  private readonly dtRatio: number;
  /** Passes of the pretraining over the history at the lock (EchoCanceller.place). */
  readonly passes: number;
  private readonly leakHold = filterScreening.leakHold > 0;
  private readonly leakMin = filterScreening.leakMin;
  private readonly gp: Float64Array;
  private readonly beta0: number;
  private readonly betaMax: number;
  private readonly noiseRise: number;
  /** Bins of the telephone band [bandLo, bandHi), 300–3400 Hz. */
  private readonly bandLo: number;
  private readonly bandHi: number;
  /** Smoothed per-bin spectra for the coherence figures: residual E, echo estimate Y (of this block), mic D. */
  private readonly cEE: Float64Array;
  private readonly cYY: Float64Array;
  private readonly cDD: Float64Array;
  private readonly cEYr: Float64Array;
  private readonly cEYi: Float64Array;
  private readonly cDEr: Float64Array;
  private readonly cDEi: Float64Array;

  constructor(private readonly o: BlockFilterOptions) {
    const mode = o.robust ? ROBUST : CLASSIC;
    const f = filterScreening;
    this.prop = pick(f.prop, mode.prop);
    this.geigel = pick(f.geigel, mode.geigel);
    this.dtRatio = pick(f.dtRatio, mode.dtRatio);
    this.passes = pick(f.passes, mode.passes);
    this.N = o.block;
    this.P = o.partitions;
    this.M = 2 * this.N;
    this.K = this.N + 1;
    let fft = ffts.get(this.M);
    if (!fft) ffts.set(this.M, (fft = new RealFft(this.M)));
    this.fft = fft;
    let sc = scratches.get(this.N);
    if (!sc) scratches.set(this.N, (sc = new Scratch(this.N)));
    this.sc = sc;
    const PK = this.P * this.K;
    this.wr = [new Float64Array(PK), new Float64Array(PK)];
    this.wi = [new Float64Array(PK), new Float64Array(PK)];
    this.xr = [new Float64Array(PK), new Float64Array(PK)];
    this.xi = [new Float64Array(PK), new Float64Array(PK)];
    this.xwin = [new Float64Array(this.M), new Float64Array(this.M)];
    this.gp = new Float64Array(this.P);
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
    // The noise floor follows the smoothed residual down at once and up by ~1.5 dB/s.
    this.noiseRise = 1 + 0.35 / blocksPerSecond;
    // Every call has a filter: the coherence state (7 × K doubles, ~14 KB at 16 kHz) only where it is measured.
    const K = o.shapeFigures ? this.K : 0;
    this.cEE = new Float64Array(K);
    this.cYY = new Float64Array(K);
    this.cDD = new Float64Array(K);
    this.cEYr = new Float64Array(K);
    this.cEYi = new Float64Array(K);
    this.cDEr = new Float64Array(K);
    this.cDEi = new Float64Array(K);
    this.bandLo = Math.round((300 / o.rate) * this.M);
    this.bandHi = Math.min(this.K, Math.round((3400 / o.rate) * this.M) + 1);
    this.forgetLeak();
  }

  /** Forget the learnt path and start from a single tap of gain `gain` at lag `lag` of the window (path 0 and 1). */
  reset(lag: number, gain: number): void {
    this.clearWeights();
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
  }

  private clearWeights(): void {
    for (let q = 0; q < 2; q++) {
      this.wr[q].fill(0);
      this.wi[q].fill(0);
    }
    this.adapted = false;
    this.sumAdapt = 0;
    this.forgetLeak();
  }

  /** η̂ starts pessimistic: all of the echo estimate may still be in the residual. */
  private forgetLeak(): void {
    this.leakB.fill(1);
    this.peyB.fill(1);
    this.pyyB.fill(1);
  }

  /** The window moved: the reference history no longer lines up with the weights' lags. */
  clearHistory(): void {
    for (let q = 0; q < 2; q++) {
      this.xr[q].fill(0);
      this.xi[q].fill(0);
      this.xwin[q].fill(0);
    }
    this.idle[0] = this.idle[1] = Infinity;
  }

  /**
   * One block: `mic` (N samples), the N newest reference samples of each path under the window (null: none), the
   * residual into `out` (N samples). `silent` marks samples of digital silence (DigitalSilence: a lost packet
   * filled with zeros, and the ms either side where a resampled gap rings): their residual is silence, as what came
   * in, rather than the echo estimate negated; the filter learns nothing from them; and a block with any keeps its
   * noise floor and leakage estimate as they were (both would fall to the gap). Null (or absent) when it has none.
   */
  process(mic: Float32Array, x0: Float64Array | null, x1: Float64Array | null, out: Float32Array, res: BlockResult, silent?: Uint8Array | null): void {
    const { N, M, K, P, sc } = this;
    const slot = (this.head = (this.head + 1) % P);
    const refE = this.takeReference(0, x0, slot) + this.takeReference(1, x1, slot);
    const live0 = this.idle[0] <= P + 1;
    const live1 = this.idle[1] <= P + 1;
    // Echo estimate Y = Σ_p W_p · X_{newest − p} per path, and the reference power per bin over all partitions.
    const { yr, yi, sxx, t, er, ei, s: S, yp, y1r, y1i, t1 } = sc;
    yr.fill(0);
    yi.fill(0);
    sxx.fill(0);
    if (live0) this.estimate(0, slot, yr, yi);
    if (live1) {
      y1r.fill(0);
      y1i.fill(0);
      this.estimate(1, slot, y1r, y1i);
    }
    // Nothing played within the window lately (a pause between the prompt's words): no echo to estimate, but the
    // residual's spectrum still feeds the noise floor and the evidence.
    if (live0) this.fft.inverse(yr, yi, t);
    const use = live1 ? this.choose(mic, live0) : live0 ? PATH0 : NONE;
    const with0 = (use & PATH0) !== 0;
    const with1 = (use & PATH1) !== 0;
    // The chosen hypothesis's echo estimate, in time (t) and frequency (yr, yi).
    if (with1) {
      for (let i = 0; i < N; i++) t[N + i] = (with0 ? t[N + i] : 0) + t1[N + i];
      if (with0) {
        for (let k = 0; k < K; k++) {
          yr[k] += y1r[k];
          yi[k] += y1i[k];
        }
      } else {
        yr.set(y1r);
        yi.set(y1i);
      }
    } else if (!with0) {
      yr.fill(0);
      yi.fill(0);
    }
    const any = with0 || with1;
    let micE = 0;
    let echoE = 0;
    let resE = 0;
    let cross = 0;
    for (let i = 0; i < N; i++) {
      const y = any ? t[N + i] : 0;
      const d = mic[i];
      const e = silent && silent[i] ? 0 : d - y;
      micE += d * d;
      echoE += y * y;
      resE += e * e;
      cross += e * y;
      out[i] = e;
      t[i] = 0;
      t[N + i] = e;
    }
    const refLive = refE > 1e-7 * N;
    // Divergence: the "cancelled" signal far louder than what came in, over a quarter second, means the weights are
    // wrong, not the line (one block can be: a quiet block against a prediction still settling).
    this.guardRes = 0.85 * this.guardRes + resE;
    this.guardMic = 0.85 * this.guardMic + micE;
    if (refLive && this.guardRes > 2 * this.guardMic + 1e-5 * N) {
      this.guardRes = this.guardMic = 0;
      this.clearWeights();
      out.set(mic);
      this.fill(res, micE, micE, 0, micE, 0, 0, refE);
      res.cross = res.rawResidual = 0;
      res.bandRes = res.bandEst = res.bandCross = res.overBins = res.bandBins = res.incoherent = res.cohDe = 0;
      this.blocks++;
      return;
    }
    this.fft.forward(t, er, ei);
    if (this.o.shapeFigures) this.coherence(mic, any, res);
    // Per bin, in one pass: the powers, their means and co-variation for the leakage regression, the noise floor,
    // the expected residual echo, and the evidence standing out above both. The echo estimate's power is taken from
    // Y itself rather than from a transform of the block's estimate: Y spans the whole 2N window (its first half is
    // the discarded circular part, of about the same power), so half of |Y|² stands for the block's N samples, as
    // |E|² does for the residual's.
    let See = 0;
    let Syy = 0;
    const accEy = this.accEy.fill(0);
    const accYy = this.accYy.fill(0);
    const { bandOf, eh, yh, specAvg: avg, noise, smooth: sm, noiseRise: rise, leakB } = this;
    const m = this.o.binMargin;
    const leakK = this.leakK;
    const init = this.noiseInit;
    let expected = 0;
    let noiseSum = 0;
    let excess = 0;
    let bandRes = 0;
    let bandEst = 0;
    let bandCross = 0;
    let overBins = 0;
    // Off (the default), the band is empty and the figures stay 0: nothing added to the loop but a comparison.
    const bandLo = this.o.shapeFigures ? this.bandLo : K;
    const bandHi = this.o.shapeFigures ? this.bandHi : K;
    for (let k = 0; k < K; k++) {
      const s = er[k] * er[k] + ei[k] * ei[k];
      const y = 0.5 * (yr[k] * yr[k] + yi[k] * yi[k]);
      S[k] = s;
      yp[k] = y;
      See += s;
      Syy += y;
      const ek = (1 - avg) * eh[k] + avg * s;
      const yk = (1 - avg) * yh[k] + avg * y;
      eh[k] = ek;
      yh[k] = yk;
      const dy = y - yk;
      const b = bandOf[k];
      accEy[b] += (s - ek) * dy;
      accYy[b] += dy * dy;
      let nk = noise[k];
      if (!silent) {
        const smk = init ? 0.7 * sm[k] + 0.3 * s : s;
        sm[k] = smk;
        nk = !init || smk < noise[k] ? smk : noise[k] * rise;
        noise[k] = nk;
      }
      const l = leakK * leakB[b];
      const r = (l < 1 ? l : 1) * y;
      expected += r;
      noiseSum += nk;
      const over = s - m * (r + nk);
      if (over > 0 && k > 0) excess += over;
      if (k >= bandLo && k < bandHi) {
        bandRes += s;
        bandEst += y;
        bandCross += Math.sqrt(s * y);
        if (over > 0) overBins++;
      }
    }
    res.bandRes = bandRes;
    res.bandEst = bandEst;
    res.bandCross = bandCross;
    res.overBins = overBins;
    res.bandBins = bandHi - bandLo;
    if (!this.o.shapeFigures) res.incoherent = res.cohDe = 0;
    if (!silent) this.noiseInit = true;
    const standsOut = excess > this.dtRatio * (expected + noiseSum);
    const talk = standsOut && micE > this.geigel * echoE;
    const hold = this.leakHold ? standsOut : talk;
    // Leakage regression, faster while echo dominates the residual, and held during double talk: the callee's
    // power rising and falling with the prompt's by chance would read as echo the filter failed to remove.
    if (Syy > 1e-12 * M && !hold && !silent) {
      const alpha = Math.min(this.betaMax, (this.beta0 * Syy) / (See + 1e-12));
      for (let b = 0; b < BANDS; b++) {
        this.peyB[b] = (1 - alpha) * this.peyB[b] + alpha * accEy[b];
        this.pyyB[b] = Math.max(1e-12, (1 - alpha) * this.pyyB[b] + alpha * accYy[b]);
        leakB[b] = Math.max(this.leakMin, Math.min(1, this.peyB[b] / this.pyyB[b]));
      }
    }
    // Adapt (skipped with no reference: nothing to learn, and it saves the work).
    if (refLive) {
      let rate = this.mu;
      let vss = false;
      if (!this.adapted) {
        // Until it has learnt something, learn at the full step while the reference is loud enough to teach.
        let Sxx = 0;
        for (let k = 0; k < K; k++) Sxx += sxx[k];
        rate = Sxx > 1e-6 * M * N ? this.mu : 0;
        this.sumAdapt += rate;
        if (this.sumAdapt > P) this.adapted = true;
      } else {
        if (talk) rate = this.mu * this.dtScale;
        vss = this.vss;
      }
      if (rate > 0 && any) this.adapt(rate, with0, with1, slot, vss ? expected / (See + 1e-30) : -1);
    }
    // Residual echo suppression: a spectral gain on what the filter left, floored so the callee is never removed.
    let outE = resE;
    const floor = this.o.suppressFloor;
    if (floor > 0 && expected > 0 && refLive) {
      for (let k = 0; k < K; k++) {
        const l = this.leakK * leakB[bandOf[k]];
        const r = (l < 1 ? l : 1) * yp[k];
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
    this.fill(res, micE, outE, echoE, expected * toTime, noiseSum * toTime, excess * toTime, refE);
    res.cross = cross;
    res.rawResidual = resE;
    this.blocks++;
  }

  /**
   * Coherence figures of one block over the telephone band, from cross-spectra smoothed over the last blocks: the
   * residual E against this block's echo estimate Y = D − E (residual echo is a linear image of the prompt, so it
   * stays coherent with Y; a callee is not), and the microphone D against E (WebRTC's legacy AEC's near-end cue:
   * where the callee dominates, the filter removes little and E ≈ D). Expects E's spectrum in er/ei.
   */
  private coherence(mic: Float32Array, any: boolean, res: BlockResult): void {
    const { N, sc, bandLo, bandHi } = this;
    const { er, ei, dr, di, t2 } = sc;
    if (!any) {
      res.incoherent = res.cohDe = 0;
      return;
    }
    for (let i = 0; i < N; i++) {
      t2[i] = 0;
      t2[N + i] = mic[i];
    }
    this.fft.forward(t2, dr, di);
    const a = COH_SMOOTH;
    const b = 1 - a;
    const { cEE, cYY, cDD, cEYr, cEYi, cDEr, cDEi } = this;
    let incoherent = 0;
    let cohDe = 0;
    for (let k = bandLo; k < bandHi; k++) {
      const e1 = er[k];
      const e2 = ei[k];
      const d1 = dr[k];
      const d2 = di[k];
      const y1 = d1 - e1;
      const y2 = d2 - e2;
      const ee = b * cEE[k] + a * (e1 * e1 + e2 * e2);
      const yy = b * cYY[k] + a * (y1 * y1 + y2 * y2);
      const dd = b * cDD[k] + a * (d1 * d1 + d2 * d2);
      // E·conj(Y) and D·conj(E)
      const eyr = b * cEYr[k] + a * (e1 * y1 + e2 * y2);
      const eyi = b * cEYi[k] + a * (e2 * y1 - e1 * y2);
      const der = b * cDEr[k] + a * (d1 * e1 + d2 * e2);
      const dei = b * cDEi[k] + a * (d2 * e1 - d1 * e2);
      cEE[k] = ee;
      cYY[k] = yy;
      cDD[k] = dd;
      cEYr[k] = eyr;
      cEYi[k] = eyi;
      cDEr[k] = der;
      cDEi[k] = dei;
      const cey = ee > 0 && yy > 0 ? (eyr * eyr + eyi * eyi) / (ee * yy) : 0;
      const cde = ee > 0 && dd > 0 ? (der * der + dei * dei) / (ee * dd) : 0;
      incoherent += (1 - (cey < 1 ? cey : 1)) * (e1 * e1 + e2 * e2);
      cohDe += cde < 1 ? cde : 1;
    }
    res.incoherent = incoherent;
    res.cohDe = cohDe;
  }

  /**
   * While the shadow plays (path 1: the prompt's original schedule after a pause), which of the references the far
   * end is really playing: the current prompt, the shadow, both, or neither (a far end without a playout buffer
   * stopped at the pause; a resumed prompt the far end never played). A reference it is not playing would put its
   * echo estimate, the prompt's own voice, into the residual; the hypothesis whose residual has been smallest over
   * the last ~50 ms is taken, a switch only when clearly better. The callee's voice adds the same to every one.
   * Expects path 0's estimate in t (when live0) and path 1's spectrum in y1r/y1i; returns a PATH0 | PATH1 mask.
   */
  private choose(mic: Float32Array, live0: boolean): number {
    const { N, sc } = this;
    const { t, t1, y1r, y1i } = sc;
    this.fft.inverse(y1r, y1i, t1);
    const e = this.hypE;
    if (!this.shadowSeen) {
      // The shadow just started: the far end was playing path 0 (or path 0's continuation, the shadow) until now.
      e.fill(0);
      this.hyp = live0 ? PATH0 | PATH1 : PATH1;
      this.shadowSeen = true;
    }
    let eNone = 0;
    let e0 = 0;
    let e1 = 0;
    let eBoth = 0;
    for (let i = 0; i < N; i++) {
      const d = mic[i];
      const a = live0 ? t[N + i] : 0;
      const b = t1[N + i];
      eNone += d * d;
      e0 += (d - a) * (d - a);
      e1 += (d - b) * (d - b);
      eBoth += (d - a - b) * (d - a - b);
    }
    const s = HYP_SMOOTH;
    e[NONE] = (1 - s) * e[NONE] + s * eNone;
    e[PATH1] = (1 - s) * e[PATH1] + s * e1;
    if (live0) {
      e[PATH0] = (1 - s) * e[PATH0] + s * e0;
      e[PATH0 | PATH1] = (1 - s) * e[PATH0 | PATH1] + s * eBoth;
    }
    let best = this.hyp;
    if (!live0 && (best & PATH0) !== 0) best = (best & PATH1) !== 0 ? PATH1 : NONE;
    for (const h of live0 ? ALL_HYPOTHESES : SHADOW_HYPOTHESES) if (e[h] < HYP_SWITCH * e[best]) best = h;
    this.hyp = best;
    return best;
  }

  /** Shifts path q's reference window by a block and stores its spectrum; returns the new samples' energy. */
  private takeReference(q: 0 | 1, x: Float64Array | null, slot: number): number {
    const { N, M, K, P } = this;
    if (x) {
      this.idle[q] = 0;
      if (q === 1 && !this.shadowSeeded) {
        // The shadow is the same line playing earlier audio: the same echo path.
        this.wr[1].set(this.wr[0]);
        this.wi[1].set(this.wi[0]);
        this.shadowSeeded = true;
      }
    } else if (++this.idle[q] > P + 1) {
      if (q === 1) this.shadowSeeded = this.shadowSeen = false;
      return 0;
    }
    const win = this.xwin[q];
    win.copyWithin(0, N);
    let e = 0;
    if (x) {
      for (let i = 0; i < N; i++) {
        const v = x[i];
        win[N + i] = v;
        e += v * v;
      }
    } else win.fill(0, N);
    const { er, ei } = this.sc;
    this.fft.forward(win, er, ei);
    this.xr[q].set(er, slot * K);
    this.xi[q].set(ei, slot * K);
    return e;
  }

  /** Path q's echo estimate into (yr, yi), and its reference power added to the per-bin sum. */
  private estimate(q: 0 | 1, slot: number, yr: Float64Array, yi: Float64Array): void {
    const { K, P } = this;
    const { sxx } = this.sc;
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

  /** W_p += μ/(|X|² + δ) · conj(X_p)·E on each live path, then one partition's gradient constraint. */
  private adapt(rate: number, live0: boolean, live1: boolean, slot: number, rer: number): void {
    const { K, P, sc } = this;
    const { sxx, step, er, ei, s: S, yp } = sc;
    let Sxx = 0;
    for (let k = 0; k < K; k++) Sxx += sxx[k];
    // Regularised against the reference's long-term level, not this block's: a quiet stretch of prompt (a pause
    // between words) would otherwise turn line noise into large steps.
    this.sxxLong = this.sxxLong === 0 ? Sxx / K : 0.98 * this.sxxLong + 0.02 * (Sxx / K);
    const delta = DELTA * this.sxxLong + 1e-9 * this.M;
    if (rer < 0) for (let k = 0; k < K; k++) step[k] = rate / (sxx[k] + delta);
    else {
      // The share of each bin's residual that is echo the filter failed to remove (the rest, noise or the callee,
      // would only add misadjustment), blended with the block's share so that no bin stalls (SpeexDSP: 0.7 / 0.3).
      const { leakB, bandOf, leakK } = this;
      const g = 0.3 * (rer < 1 ? rer : 1);
      for (let k = 0; k < K; k++) {
        const l = leakK * leakB[bandOf[k]];
        const share = ((l < 1 ? l : 1) * yp[k]) / (S[k] + 1e-30);
        step[k] = (rate * (0.7 * (share < 1 ? share : 1) + g)) / (sxx[k] + delta);
      }
    }
    for (let q = 0; q < 2; q++) {
      if (q === 0 ? !live0 : !live1) continue;
      const wr = this.wr[q];
      const wi = this.wi[q];
      const xr = this.xr[q];
      const xi = this.xi[q];
      const gp = this.partitionGains(q);
      for (let p = 0; p < P; p++) {
        const xo = ((slot - p + P) % P) * K;
        const wo = p * K;
        const gq = gp[p];
        for (let k = 0; k < K; k++) {
          const a = xr[xo + k];
          const b = xi[xo + k];
          const g = step[k] * gq;
          wr[wo + k] += g * (a * er[k] + b * ei[k]);
          wi[wo + k] += g * (a * ei[k] - b * er[k]);
        }
      }
      this.constrain(q, this.blocks % P);
    }
  }

  /**
   * Step multiplier per partition (mean 1): uniform, or with `prop` > 0 partly in proportion to the partition's
   * weight energy (proportionate NLMS over partitions, as in IPNLMS / proportionate MDF): a line's path fills one or
   * two of the window's partitions, and the step the empty ones take is misadjustment, not learning.
   */
  private partitionGains(q: number): Float64Array {
    const { P, K, gp } = this;
    const a = this.prop;
    if (a <= 0) return gp.fill(1);
    const wr = this.wr[q];
    const wi = this.wi[q];
    let tot = 0;
    for (let p = 0; p < P; p++) {
      let e = 0;
      for (let k = 0; k < K; k++) e += wr[p * K + k] * wr[p * K + k] + wi[p * K + k] * wi[p * K + k];
      gp[p] = Math.sqrt(e);
      tot += gp[p];
    }
    for (let p = 0; p < P; p++) gp[p] = (1 - a) + (tot > 0 ? (a * P * gp[p]) / tot : a);
    return gp;
  }

  private fill(res: BlockResult, mic: number, residual: number, echo: number, expected: number, noise: number, excess: number, ref: number): void {
    res.mic = mic;
    res.residual = residual;
    res.echo = echo;
    res.expected = expected;
    res.noise = noise;
    res.excess = excess;
    res.ref = ref;
  }

  /** Zero the taps of partition p beyond N (the circular part a frequency-domain update leaves). */
  private constrain(q: number, p: number): void {
    const { N, K, sc } = this;
    const { cr, ci, t } = sc;
    const wr = this.wr[q];
    const wi = this.wi[q];
    const o = p * K;
    for (let k = 0; k < K; k++) {
      cr[k] = wr[o + k];
      ci[k] = wi[o + k];
    }
    this.fft.inverse(cr, ci, t);
    t.fill(0, N);
    this.fft.forward(t, cr, ci);
    for (let k = 0; k < K; k++) {
      wr[o + k] = cr[k];
      wi[o + k] = ci[k];
    }
  }
}
