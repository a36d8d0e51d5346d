// Removes the bot's own prompt from the inbound audio before VAD sees it. earshot knows exactly what it played
// and when (the reference, placed on the inbound timeline by Playout), so it only has to learn the line's echo
// path: a bulk delay (coarse envelope correlation, then sample-level refinement) and a short NLMS filter around
// it. What cancellation leaves is then gated: a frame counts as callee speech only if its residual is clearly
// louder than the echo we predict is left in it (reference-aware gating). All in 16 kHz float samples.
import { fft } from '../audio/fft.js';
import type { EchoConfig } from '../config.js';

const BLOCK = 64; // 4 ms: the unit for counting how long the reference has been active
const BLOCKS = 1024; // block-energy table: 4 s of reference
const SEARCH_EVERY = 1600; // samples between searches while it is unknown whether the line echoes (100 ms)
const TRACK_EVERY = 32000; // once locked, a local re-check every 2 s follows a drifting path
const ABSENT_EVERY = 80000; // with no echo found, look again every 5 s in case it appears
const REFINE = 8000; // 0.5 s of samples for the sample-level refinement
const RATE = 16000;
const DECIM = 4; // the delay search runs at 4 kHz: speech echo lives below 2 kHz, and it is 4× cheaper
const GCC_N = 4096; // 1 s at 4 kHz
const GCC_PROMINENCE = 8;
// Share of mic energy the echo must explain to lock (low: echo under noise still explains a visible part).
const EXPLAINED = 0.15; // peak over mean |correlation| needed to believe a delay

/** Scratch for the delay search, shared by all calls on a thread. */
const shared = {
  mic: new Float32Array(DECIM * GCC_N),
  ref: new Float32Array(DECIM * GCC_N + 1000 * 16),
  re: new Float64Array(2 * GCC_N),
  im: new Float64Array(2 * GCC_N),
  xr: new Float64Array(2 * GCC_N),
  xi: new Float64Array(2 * GCC_N),
};

/** 0: what is playing now. 1: the shadow — what the far end may still be playing from before a pause. */
export type EchoPath = 0 | 1;

interface RefSegment {
  start: number;
  samples: Float32Array;
  path: EchoPath;
}

export interface EchoFrameInfo {
  /** Energy of the reference around the current echo delay (0 when nothing was playing). */
  refEnergy: number;
  /** Energy of what cancellation left. */
  residualEnergy: number;
  /** Residual echo we expect to remain; speech must beat it by the gate margin. */
  expectedEcho: number;
  locked: boolean;
  delaySamples: number;
}

export class EchoCanceller {
  private segments: RefSegment[] = [];
  private readonly maxDelay: number;
  private readonly taps: number;
  private w: Float64Array;
  private w1: Float64Array; // filter for the shadow path
  private blockE = new Float64Array(BLOCKS);
  private blockIdx = new Float64Array(BLOCKS).fill(-1);
  private delay = -1; // bulk delay in samples, −1 until locked
  /** unknown until the reference has been active long enough to tell whether the line echoes at all. */
  private state: 'unknown' | 'present' | 'absent' = 'unknown';
  private refActiveBlocks = 0;
  private micHist: Float32Array;
  private histFill = 0;
  private micPos = 0; // next write index in micHist (a ring)
  private lastProcessedEnd = 0;
  // Random phase: calls whose prompts start together must not all search on the same tick.
  private sinceSearch = Math.floor(Math.random() * SEARCH_EVERY);
  private erle = 1; // linear, learnt during single talk
  private readonly gate: number;
  private frameRes = 0;
  private frameEcho = 0;
  private frameRef = 0;

  /** Called once when the echo path is first found: the VAD's memory of pre-lock echo should be dropped then. */
  onLock?: (delaySamples: number) => void;
  /** Whether the line echoes became known (for logs). */
  onState?: (state: 'present' | 'absent', atSample: number) => void;
  onDebug?: (info: Record<string, number>) => void;

  constructor(private readonly cfg: EchoConfig) {
    this.maxDelay = Math.round((cfg.maxDelayMs / 1000) * RATE);
    this.taps = cfg.taps;
    this.w = new Float64Array(this.taps);
    this.w1 = new Float64Array(this.taps);
    this.micHist = new Float32Array(Math.max(REFINE + this.maxDelay + BLOCK * 4, DECIM * GCC_N));
    this.gate = 10 ** (cfg.gateMarginDb / 10);
  }

  get locked(): boolean {
    return this.delay >= 0;
  }
  get delaySamples(): number {
    return this.delay;
  }

  /** Places played audio on the inbound timeline: sample `start` is where it begins to play. */
  addReference(start: number, samples: Float32Array, path: EchoPath = 0): void {
    if (!this.cfg.enabled) return;
    this.segments.push({ start, samples, path });
    // Per-block energies, so the pre-lock gate can find the loudest reference in reach without rescanning it.
    for (let i = 0; i < samples.length; i++) {
      const b = Math.floor((start + i) / BLOCK);
      const slot = ((b % BLOCKS) + BLOCKS) % BLOCKS;
      if (this.blockIdx[slot] !== b) {
        this.blockIdx[slot] = b;
        this.blockE[slot] = 0;
      }
      this.blockE[slot] += samples[i] * samples[i];
    }
  }

  /** Drops reference at and after `from` (the client discarded that audio on barge-in). */
  truncateReference(from: number): void {
    this.segments = this.segments.flatMap((s) => {
      if (s.start >= from) return [];
      if (s.start + s.samples.length <= from) return [s];
      return [{ start: s.start, samples: s.samples.subarray(0, from - s.start), path: s.path }];
    });
  }

  /** Reference of one path (or both summed) over [pos, pos + out.length). Returns whether any was there. */
  private refAt(pos: number, out: Float32Array, path?: EchoPath): boolean {
    out.fill(0);
    const end = pos + out.length;
    let any = false;
    for (const s of this.segments) {
      if (path !== undefined && s.path !== path) continue;
      const a = Math.max(pos, s.start);
      const b = Math.min(end, s.start + s.samples.length);
      if (a >= b) continue;
      any = true;
      const src = s.samples.subarray(a - s.start, b - s.start);
      if (path !== undefined) out.set(src, a - pos);
      else for (let i = 0; i < src.length; i++) out[a - pos + i] += src[i];
    }
    return any;
  }

  private prune(now: number): void {
    const keep = now - this.maxDelay - REFINE - this.taps - RATE;
    if (this.segments.length && this.segments[0].start + this.segments[0].samples.length < keep) {
      this.segments = this.segments.filter((s) => s.start + s.samples.length >= keep);
    }
  }

  /**
   * Cancels echo from `mic`, whose first sample is inbound sample `start`. Returns the residual; per-frame gating
   * figures accumulate until `takeFrameInfo`. Hot path: runs for every inbound sample of every call.
   */
  process(mic: Float32Array, start: number): Float32Array {
    const len = mic.length;
    let micE = 0;
    for (let i = 0; i < len; i++) micE += mic[i] * mic[i];
    const windowStart = start - this.maxDelay - this.taps;
    if (!this.cfg.enabled || !this.hasReferenceIn(windowStart, start + len)) {
      // Nothing played within echo reach: the mic is the residual.
      this.frameRes += micE;
      this.track(mic, start, false);
      return mic;
    }
    const K = this.taps;
    const half = K >> 1;
    const d = this.delay;
    let out = mic;
    let resE = 0;
    let echoE = 0;
    let refE = 0;
    if (d >= 0) {
      // Only the reference under the filter's taps is needed: positions n − d − half + 1 … n − d + half.
      const refBase = start - d - half + 1;
      const n = len + K - 1;
      const r0 = this.scratch(0, n);
      const r1 = this.scratch(1, n);
      const any0 = this.refAt(refBase, r0, 0);
      const shadow = this.refAt(refBase, r1, 1);
      if (!any0 && !shadow) {
        resE = micE;
      } else {
        out = new Float32Array(len);
        const w = this.w;
        const w1 = this.w1;
        let refPeak = 0;
        for (let i = 0; i < len; i++) {
          const top = i + K - 1; // newest tap
          let y = 0;
          let xx = 1e-6;
          for (let k = 0; k < K; k++) {
            const x = r0[top - k];
            y += w[k] * x;
            xx += x * x;
          }
          if (shadow) {
            for (let k = 0; k < K; k++) {
              const x = r1[top - k];
              y += w1[k] * x;
              xx += x * x;
            }
          }
          const e = mic[i] - y;
          out[i] = e;
          resE += e * e;
          echoE += y * y;
          const c = r0[top - half] + r1[top - half];
          refE += c * c;
          const ar = Math.abs(c);
          if (ar > refPeak) refPeak = ar;
          // Adapt only in single talk (Geigel-style: the mic is not louder than the echo path allows).
          if (xx > 1e-4 && Math.abs(mic[i]) < 0.7 * refPeak + 1e-3) {
            const mu = (0.3 * e) / xx;
            for (let k = 0; k < K; k++) w[k] += mu * r0[top - k];
            if (shadow) for (let k = 0; k < K; k++) w1[k] += mu * r1[top - k];
          }
        }
      }
    } else {
      // Not locked yet: pass through, and predict echo as loud as the loudest reference in reach.
      resE = micE;
      refE = this.maxBlockEnergy(windowStart, start + len) * len;
      // Until the path is known, assume echo up to −6 dB; once enough reference played without any correlation,
      // whatever echo there is lies below what the search detects (about −30 dB).
      echoE = refE * (this.state === 'absent' ? 0.001 : 0.25);
    }
    this.frameRes += resE;
    this.frameEcho += echoE;
    this.frameRef += refE;
    // Learn how much echo cancellation removes, only while the callee is quiet relative to the echo.
    if (d >= 0 && echoE > 1e-6 * len && resE < echoE) {
      const r = Math.min(1000, echoE / Math.max(resE, 1e-9));
      this.erle = 0.95 * this.erle + 0.05 * r;
    }
    this.track(mic, start, true);
    this.prune(start);
    this.lastProcessedEnd = start + len;
    return out;
  }

  private scratchBufs: Float32Array[] = [new Float32Array(0), new Float32Array(0)];

  /** Reused per-path windows: allocating them per call of `process` was most of the garbage on the hot path. */
  private scratch(i: 0 | 1, n: number): Float32Array {
    if (this.scratchBufs[i].length < n) this.scratchBufs[i] = new Float32Array(n * 2);
    return this.scratchBufs[i].subarray(0, n);
  }

  private hasReferenceIn(from: number, to: number): boolean {
    for (const s of this.segments) if (s.start < to && s.start + s.samples.length > from) return true;
    return false;
  }

  /** Mean energy per sample of the loudest 4 ms block of reference within [from, to), from the block table. */
  private maxBlockEnergy(from: number, to: number): number {
    let m = 0;
    for (let b = Math.floor(from / BLOCK); b * BLOCK < to; b++) {
      const slot = ((b % BLOCKS) + BLOCKS) % BLOCKS;
      if (this.blockIdx[slot] === b && this.blockE[slot] > m) m = this.blockE[slot];
    }
    return m / BLOCK;
  }

  /**
   * Speech was just detected while earshot was playing: if no echo path was found earlier (the echo may have been
   * buried in noise), look again now, once, before that "speech" can commit a barge-in. Cheap: once per pause.
   */
  recheck(): void {
    if (!this.cfg.enabled || this.state !== 'absent' || this.lastProcessedEnd <= 0) return;
    if (this.hasReferenceIn(this.lastProcessedEnd - this.maxDelay - RATE, this.lastProcessedEnd)) this.search(this.lastProcessedEnd);
  }

  /** Gating figures since the last call, for one VAD frame. */
  takeFrameInfo(): EchoFrameInfo {
    const residualEnergy = this.frameRes;
    const refEnergy = this.frameRef;
    const expectedEcho = this.delay >= 0 ? this.frameEcho / Math.max(this.erle, 1) : this.frameEcho;
    this.frameRes = this.frameEcho = this.frameRef = 0;
    return { refEnergy, residualEnergy, expectedEcho, locked: this.delay >= 0, delaySamples: this.delay };
  }

  /** True when a frame's residual is not clearly more than leftover echo: it must not count as speech. */
  /**
   * How far a frame's residual can be trusted as callee speech: 'hard' = it may well be our own voice (the echo
   * path is not known yet); 'soft' = cancelled, but not clearly louder than what cancellation usually leaves
   * (with line noise the two are close, so a confident VAD may still overrule it); 'clear' = callee speech.
   */
  echoVerdict(info: EchoFrameInfo, frameLen: number): 'hard' | 'soft' | 'clear' {
    if (!this.cfg.enabled || info.expectedEcho <= 1e-7 * frameLen) return 'clear';
    if (info.residualEnergy >= info.expectedEcho * this.gate) return 'clear';
    return info.locked ? 'soft' : 'hard';
  }

  // --- delay search -------------------------------------------------------------------------------------------

  /** Keeps mic history for the delay search and runs the search: often until locked, then to track drift. */
  private track(mic: Float32Array, start: number, referenced: boolean): void {
    // Ring buffer: shifting a 1 s history for every 20 ms piece was a large share of the hot path.
    const h = this.micHist;
    const H = h.length;
    for (let i = 0; i < mic.length; i++) h[(this.micPos + i) % H] = mic[i];
    this.micPos = (this.micPos + mic.length) % H;
    this.histFill = Math.min(H, this.histFill + mic.length);
    this.sinceSearch += mic.length;
    if (!referenced) return;
    const now = start + mic.length;
    // Reference activity at the current position.
    if (this.maxBlockEnergy(start, now) > 1e-6) this.refActiveBlocks += mic.length / BLOCK;
    if (this.state === 'present') {
      // Locked: follow small drifts with a cheap local refinement only.
      if (this.sinceSearch >= TRACK_EVERY) {
        this.sinceSearch = 0;
        this.refine(now, this.delay, 32);
      }
    } else if (this.sinceSearch >= (this.state === 'unknown' ? SEARCH_EVERY : ABSENT_EVERY)) {
      this.sinceSearch = 0;
      this.search(now);
    }
  }

  /** The newest `n` samples of mic history, oldest first. */
  private recentMic(n: number, into?: Float32Array): Float32Array {
    const h = this.micHist;
    const H = h.length;
    const out = into && into.length >= n ? into.subarray(0, n) : new Float32Array(n);
    const first = (this.micPos - n + H * 2) % H;
    for (let i = 0; i < n; i++) out[i] = h[(first + i) % H];
    return out;
  }

  /**
   * Coarse delay by GCC-PHAT on 8 kHz-decimated audio: a coherent correlation, so echo well below the noise floor
   * still shows as a sharp peak (envelope correlation does not survive noise).
   */
  private search(now: number): void {
    const N = GCC_N;
    const have = Math.min(this.histFill, this.micHist.length);
    if (have < N * DECIM * 0.5) return;
    const M = 2 * GCC_N; // FFT size at the decimated rate
    const lagMax = Math.floor(this.maxDelay / DECIM);
    const micLen = Math.min(N, Math.floor(have / DECIM));
    const mic16 = this.recentMic(micLen * DECIM, shared.mic);
    const ref16 = shared.ref.subarray(0, (micLen + lagMax) * DECIM);
    this.refAt(now - (micLen + lagMax) * DECIM, ref16);
    // Mic in the real part, reference in the imaginary part: one complex FFT gives both spectra. The buffers are
    // shared by every call of this thread (the search is synchronous); allocating them per search was most of the
    // garbage the listen workers made.
    const zr = shared.re;
    const zi = shared.im;
    zr.fill(0);
    zi.fill(0);
    let refEnergy = 0;
    // Box-filter decimation: crude, but PHAT only needs the phase of the strong low band to be right.
    for (let i = 0; i < micLen; i++) {
      let v = 0;
      for (let k = 0; k < DECIM; k++) v += mic16[DECIM * i + k];
      zr[i] = v / DECIM;
    }
    for (let i = 0; i < micLen + lagMax; i++) {
      let v = 0;
      for (let k = 0; k < DECIM; k++) v += ref16[DECIM * i + k];
      v /= DECIM;
      zi[i] = v;
      refEnergy += v * v;
    }
    if (refEnergy / (micLen + lagMax) < 1e-6) return; // nothing played in the window: nothing to learn
    fft(zr, zi);
    // Unpack: MIC[k] = (Z[k] + conj Z[M−k]) / 2, REF[k] = (Z[k] − conj Z[M−k]) / 2i; then the cross-spectrum
    // conj(MIC) · REF, PHAT-weighted (its inverse is Σ mic[i]·ref[i+τ]). Pairs (k, M−k) are done together.
    const mr = shared.xr;
    const mi = shared.xi;
    for (let k = 0; k <= M / 2; k++) {
      const j = (M - k) % M;
      const ar = zr[k];
      const ai = zi[k];
      const br = zr[j];
      const bi = zi[j];
      const micR = (ar + br) / 2;
      const micI = (ai - bi) / 2;
      const refR = (ai + bi) / 2;
      const refI = (br - ar) / 2;
      const a = micR * refR + micI * refI;
      const b = micR * refI - micI * refR;
      const m = Math.hypot(a, b) + 1e-12;
      mr[k] = a / m;
      mi[k] = b / m;
      // The cross-spectrum of two real signals is conjugate-symmetric.
      mr[j] = a / m;
      mi[j] = -b / m;
    }
    fft(mr, mi, true);
    // mic[i] ≈ g·ref[i + lagMax − d]  ⇒ the correlation peaks at index (lagMax − d) mod M. A delay that falls
    // between two 4 kHz lags splits the peak over both (half a lag off leaves each ~64 % of it), so the peak is
    // measured over the pair: √(c[d]² + its larger neighbour²) is ≈ the whole peak wherever the delay falls.
    const c = (d: number) => (d < 0 || d > lagMax ? 0 : mr[(lagMax - d + M) % M]);
    let best = -Infinity;
    let bestD = -1;
    let sum = 0;
    for (let d = 0; d <= lagMax; d++) {
      const v = c(d);
      sum += Math.abs(v);
      if (v <= 0) continue;
      const n = Math.max(0, c(d - 1), c(d + 1));
      const pair = Math.sqrt(v * v + n * n);
      if (pair > best) {
        best = pair;
        bestD = d;
      }
    }
    const mean = sum / (lagMax + 1);
    const prominence = best / (mean + 1e-12);
    this.onDebug?.({ now, prominence, bestD, refActive: this.refActiveBlocks, have });
    const found = prominence >= GCC_PROMINENCE && this.refine(now, bestD * DECIM, 2 * DECIM);
    if (!found && this.delay < 0 && this.refActiveBlocks >= 150 && this.state !== 'absent') {
      this.state = 'absent';
      this.onState?.('absent', now);
    }
  }

  /** Sample-level delay and gain around a coarse lag; locks only if the echo explains most of the mic energy. */
  private refine(now: number, coarse: number, radius: number): boolean {
    const L = Math.min(REFINE, this.histFill);
    if (L < 2000) return false;
    const mic = this.recentMic(L);
    const lo = Math.max(this.taps >> 1, coarse - radius);
    const hi = Math.min(this.maxDelay, coarse + radius);
    const ref = new Float32Array(L + hi);
    this.refAt(now - L - hi, ref); // ref[j] = reference at (now − L − hi + j)
    let best = -Infinity;
    let bestD = coarse;
    let bestGain = 0;
    for (let d = lo; d <= hi; d++) {
      let xy = 0;
      let xx = 1e-9;
      const off = hi - d;
      for (let i = 0; i < L; i++) {
        const x = ref[off + i];
        xy += x * mic[i];
        xx += x * x;
      }
      const score = (xy * xy) / xx; // energy explained
      if (score > best) {
        best = score;
        bestD = d;
        bestGain = xy / xx;
      }
    }
    let micE = 1e-9;
    for (let i = 0; i < L; i++) micE += mic[i] * mic[i];
    if (best < EXPLAINED * micE) return false;
    if (this.state !== 'present') this.onState?.('present', now);
    this.state = 'present';
    if (this.delay < 0) this.onLock?.(bestD);
    if (bestD !== this.delay) {
      const wasLocked = this.delay >= 0;
      const shift = bestD - this.delay;
      this.delay = bestD;
      if (!wasLocked || Math.abs(shift) >= this.taps / 2) {
        for (const w of [this.w, this.w1]) {
          w.fill(0);
          w[this.taps >> 1] = bestGain;
        }
      } else {
        // Same echo path seen from a delay `shift` samples away: move the taps so they keep pointing at it.
        for (const w of [this.w, this.w1]) {
          const old = w.slice();
          w.fill(0);
          for (let k = 0; k < this.taps; k++) {
            const j = k - shift;
            if (j >= 0 && j < this.taps) w[j] = old[k];
          }
        }
      }
    }
    return true;
  }
}
