// Removes the bot's own prompt from the inbound audio before VAD sees it. earshot knows exactly what it played
// and when (the reference, placed on the inbound timeline by Playout), so it only has to learn the line's echo
// path: a bulk delay (coarse envelope correlation, then sample-level refinement) and a short NLMS filter around
// it. What cancellation leaves is then gated: a frame counts as callee speech only if its residual is clearly
// louder than the echo we predict is left in it (reference-aware gating). All in 16 kHz float samples.
import { fft, ifftReal } from '../audio/fft.js';
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
const GCC_PROMINENCE = 8; // peak over mean |correlation| needed to believe a delay
// Share of mic energy the echo must explain to lock (low: echo under noise still explains a visible part).
const EXPLAINED = 0.15;

/** Scratch for the delay search, shared by all calls on a thread. */
const shared = {
  mic: new Float32Array(DECIM * GCC_N),
  ref: new Float32Array(DECIM * GCC_N + 1000 * 16),
  re: new Float64Array(2 * GCC_N),
  im: new Float64Array(2 * GCC_N),
  xr: new Float64Array(2 * GCC_N),
  xi: new Float64Array(2 * GCC_N),
  corr: new Float64Array(2 * GCC_N),
  // refine() runs every 2 s per locked call and after each coarse hit: its windows were a steady source of garbage.
  refineMic: new Float32Array(REFINE),
  refineRef: new Float32Array(REFINE + 1000 * 16),
};

const RESIDUAL_SLAB = 4096; // samples per slab the residual views are cut from (see residualBuffer)
/** Reference is copied into per-path chunks of this many samples so that contiguous pieces merge into one segment. */
const REF_CHUNK = 8000;

/** 0: what is playing now. 1: the shadow — what the far end may still be playing from before a pause. */
export type EchoPath = 0 | 1;

/** Reference over [start, end) of the inbound timeline: `data[off + (t − start)]` is the sample at t. */
interface RefSegment {
  start: number;
  end: number;
  path: EchoPath;
  /** One of the canceller's chunks (later pieces may extend the segment in it), or the caller's array. */
  data: Float32Array;
  off: number;
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
  // Reference arrives in 20 ms pieces; as separate segments they were ~100 to scan per `process` call, most of them
  // out of reach. Each path appends into a chunk of its own, and a piece that continues the path's newest segment
  // extends it, so a steady prompt is one or two segments.
  private chunks: (Float32Array | null)[] = [null, null];
  private chunkFill = [0, 0];
  private tail: (RefSegment | null)[] = [null, null];
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
    this.store(start, samples, path);
    // Per-block energies, so the pre-lock gate can find the loudest reference in reach without rescanning it.
    // Each block's running total gets its samples added in order, the same sums as one sample at a time; but whole
    // blocks go four at a time, as four independent sums rather than one long chain of dependent adds.
    const E = this.blockE;
    const n = samples.length;
    let i = 0;
    while (i < n) {
      const b = Math.floor((start + i) / BLOCK);
      if (start + i === b * BLOCK && i + 4 * BLOCK <= n) {
        const s0 = this.blockSlot(b);
        const s1 = this.blockSlot(b + 1);
        const s2 = this.blockSlot(b + 2);
        const s3 = this.blockSlot(b + 3);
        let e0 = E[s0];
        let e1 = E[s1];
        let e2 = E[s2];
        let e3 = E[s3];
        for (let j = i; j < i + BLOCK; j++) {
          const x0 = samples[j];
          const x1 = samples[j + BLOCK];
          const x2 = samples[j + 2 * BLOCK];
          const x3 = samples[j + 3 * BLOCK];
          e0 += x0 * x0;
          e1 += x1 * x1;
          e2 += x2 * x2;
          e3 += x3 * x3;
        }
        E[s0] = e0;
        E[s1] = e1;
        E[s2] = e2;
        E[s3] = e3;
        i += 4 * BLOCK;
        continue;
      }
      const end = Math.min(n, (b + 1) * BLOCK - start);
      const slot = this.blockSlot(b);
      let e = E[slot];
      for (; i < end; i++) e += samples[i] * samples[i];
      E[slot] = e;
    }
  }

  /** The table slot of block `b`, emptied first if it still holds an older block. */
  private blockSlot(b: number): number {
    const slot = ((b % BLOCKS) + BLOCKS) % BLOCKS;
    if (this.blockIdx[slot] !== b) {
      this.blockIdx[slot] = b;
      this.blockE[slot] = 0;
    }
    return slot;
  }

  private store(start: number, samples: Float32Array, path: EchoPath): void {
    const n = samples.length;
    if (n > REF_CHUNK / 4) {
      // A long piece is its own segment, copied: callers hand over views of buffers they reuse.
      this.segments.push({ start, end: start + n, path, data: samples.slice(), off: 0 });
      this.tail[path] = null;
      return;
    }
    let chunk = this.chunks[path];
    let fill = this.chunkFill[path];
    const t = this.tail[path];
    // Continues the path's newest segment, which ends where this chunk is filled to: extend it in place.
    const extendsTail = t !== null && t.data === chunk && t.off + (t.end - t.start) === fill && t.end === start;
    if (chunk && extendsTail && fill + n <= chunk.length) {
      chunk.set(samples, fill);
      t.end += n;
      this.chunkFill[path] = fill + n;
      return;
    }
    if (!chunk || fill + n > chunk.length) {
      // Chunks are only ever written past `fill`, so segments (and truncated ones) still in use keep their data.
      chunk = this.chunks[path] = new Float32Array(REF_CHUNK);
      fill = 0;
    }
    chunk.set(samples, fill);
    const seg: RefSegment = { start, end: start + n, path, data: chunk, off: fill };
    this.chunkFill[path] = fill + n;
    this.segments.push(seg);
    this.tail[path] = seg;
  }

  /** Drops reference at and after `from` (the client discarded that audio on barge-in). */
  truncateReference(from: number): void {
    this.segments = this.segments.flatMap((s) => {
      if (s.start >= from) return [];
      if (s.end <= from) return [s];
      return [{ ...s, end: from }];
    });
    // What follows a barge-in starts new segments: the old tails may be gone or cut.
    this.tail[0] = this.tail[1] = null;
  }

  /**
   * Reference of one path (or both summed, in the precision of `out`) over [pos, pos + n), into out[0, n). Returns
   * whether any was there.
   */
  private refAt(pos: number, n: number, out: Float32Array | Float64Array, path?: EchoPath): boolean {
    out.fill(0, 0, n);
    const end = pos + n;
    let any = false;
    for (const s of this.segments) {
      if (path !== undefined && s.path !== path) continue;
      const a = Math.max(pos, s.start);
      const b = Math.min(end, s.end);
      if (a >= b) continue;
      any = true;
      const src = s.data;
      const shift = s.off - s.start;
      if (path !== undefined) for (let t = a; t < b; t++) out[t - pos] = src[t + shift];
      else for (let t = a; t < b; t++) out[t - pos] += src[t + shift];
    }
    return any;
  }

  private prune(now: number): void {
    const keep = now - this.maxDelay - REFINE - this.taps - RATE;
    // Segments are few (see `store`), so all are checked: a merged one can sit ahead of an expired one.
    const segs = this.segments;
    let expired = false;
    for (let i = 0; i < segs.length; i++) if (segs[i].end < keep) expired = true;
    if (!expired) return;
    this.segments = segs.filter((s) => s.end >= keep);
    for (const p of [0, 1] as const) {
      const t = this.tail[p];
      if (t && t.end < keep) this.tail[p] = null;
    }
  }

  /**
   * Cancels echo from `mic`, whose first sample is inbound sample `start`. Returns the residual (`mic` itself when
   * nothing played within reach, else samples of its own that nothing rewrites, though not an array buffer of its own:
   * see `residualBuffer`); per-frame gating figures accumulate until `takeFrameInfo`. Hot path: runs for every inbound
   * sample of every call.
   */
  process(mic: Float32Array, start: number): Float32Array {
    const len = mic.length;
    const windowStart = start - this.maxDelay - this.taps;
    if (!this.cfg.enabled || !this.hasReferenceIn(windowStart, start + len)) {
      // Nothing played within echo reach: the mic is the residual.
      this.frameRes += energy(mic);
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
      const any0 = this.refAt(refBase, n, r0, 0);
      const shadow = this.refAt(refBase, n, r1, 1);
      if (!any0 && !shadow) {
        resE = energy(mic);
      } else {
        out = this.residualBuffer(len);
        // Without a shadow its filter and all-zero window would add nothing (x + 0 is x): the current prompt alone.
        if (K !== 16) nlms(mic, out, r0, this.w, shadow ? r1 : null, shadow ? this.w1 : null);
        else if (shadow) nlms16Shadow(mic, out, r0, this.w, r1, this.w1);
        else nlms16(mic, out, r0, this.w);
        resE = pass.resE;
        echoE = pass.echoE;
        refE = pass.refE;
      }
    } else {
      // Not locked yet: pass through, and predict echo as loud as the loudest reference in reach.
      resE = energy(mic);
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

  private slab = new Float32Array(0);
  private slabUsed = 0;

  /**
   * The residual is handed out as views of a slab rather than as a fresh array per call: a typed array of its own is
   * an off-heap allocation, ~2 µs with its GC share, more than cancelling the piece. A slab is never rewritten (a full
   * one is dropped for a new one), so a view keeps its samples for as long as anyone holds it, just like a fresh
   * array; holding one only keeps its slab (this call's last quarter second or so) alive.
   */
  private residualBuffer(n: number): Float32Array {
    if (this.slabUsed + n > this.slab.length) {
      this.slab = new Float32Array(Math.max(RESIDUAL_SLAB, n));
      this.slabUsed = 0;
    }
    const out = this.slab.subarray(this.slabUsed, this.slabUsed + n);
    this.slabUsed += n;
    return out;
  }

  private scratchBufs: Float64Array[] = [new Float64Array(0), new Float64Array(0)];

  /**
   * Reused per-path windows (at least `n` long): allocating them per call of `process` was most of the garbage on the
   * hot path, and even a view per call costs. Float64 (the reference's float32 values exactly): the filter reads each
   * sample K times, and as doubles it needs no conversion per read.
   */
  private scratch(i: 0 | 1, n: number): Float64Array {
    if (this.scratchBufs[i].length < n) this.scratchBufs[i] = new Float64Array(n * 2);
    return this.scratchBufs[i];
  }

  private hasReferenceIn(from: number, to: number): boolean {
    for (const s of this.segments) if (s.start < to && s.end > from) return true;
    return false;
  }

  /** Mean energy per sample of the loudest 4 ms block of reference within [from, to), from the block table. */
  private maxBlockEnergy(from: number, to: number): number {
    let m = 0;
    let b = Math.floor(from / BLOCK);
    let slot = ((b % BLOCKS) + BLOCKS) % BLOCKS;
    for (; b * BLOCK < to; b++) {
      if (this.blockIdx[slot] === b && this.blockE[slot] > m) m = this.blockE[slot];
      if (++slot === BLOCKS) slot = 0;
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
    // One block copy, or two when the piece wraps around the end of the ring.
    const first = H - this.micPos;
    if (mic.length <= first) h.set(mic, this.micPos);
    else {
      h.set(mic.subarray(0, first), this.micPos);
      h.set(mic.subarray(first), 0);
    }
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
    const a = Math.min(n, H - first);
    out.set(h.subarray(first, first + a), 0);
    if (a < n) out.set(h.subarray(0, n - a), a);
    return out;
  }

  /**
   * Coarse delay by GCC-PHAT on 4 kHz-decimated audio: a coherent correlation, so echo well below the noise floor
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
    this.refAt(now - (micLen + lagMax) * DECIM, ref16.length, ref16);
    // Mic in the real part, reference in the imaginary part: one complex FFT gives both spectra. The buffers are
    // shared by every call of this thread (the search is synchronous); allocating them per search was most of the
    // garbage the listen workers made.
    const zr = shared.re;
    const zi = shared.im;
    let refEnergy = 0;
    // Box-filter decimation: crude, but PHAT only needs the phase of the strong low band to be right. Written out
    // for DECIM = 4 (summed from 0, in the order a loop over k would).
    for (let i = 0; i < micLen; i++) {
      const j = 4 * i;
      zr[i] = (0 + mic16[j] + mic16[j + 1] + mic16[j + 2] + mic16[j + 3]) / DECIM;
    }
    zr.fill(0, micLen);
    for (let i = 0; i < micLen + lagMax; i++) {
      const j = 4 * i;
      const v = (0 + ref16[j] + ref16[j + 1] + ref16[j + 2] + ref16[j + 3]) / DECIM;
      zi[i] = v;
      refEnergy += v * v;
    }
    zi.fill(0, micLen + lagMax);
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
      const m = hypot(a, b) + 1e-12;
      mr[k] = a / m;
      mi[k] = b / m;
    }
    // The cross-spectrum of two real signals is conjugate-symmetric (bins M − k are the conjugates of bins k, and
    // 0 and M/2 come out real): its inverse is real, and half the work of a complex one.
    const corr = shared.corr;
    ifftReal(mr, mi, corr);
    // mic[i] ≈ g·ref[i + lagMax − d]  ⇒ the correlation peaks at index (lagMax − d) mod M. A delay that falls
    // between two 4 kHz lags splits the peak over both (half a lag off leaves each ~64 % of it), so the peak is
    // measured over the pair: √(c[d]² + its larger neighbour²) is ≈ the whole peak wherever the delay falls.
    // c(d) = corr[lagMax − d] for 0 ≤ d ≤ lagMax (lagMax < M), and 0 outside.
    let best = -Infinity;
    let bestD = -1;
    let sum = 0;
    for (let d = 0; d <= lagMax; d++) {
      const v = corr[lagMax - d];
      sum += Math.abs(v);
      if (v <= 0) continue;
      const n = Math.max(0, d > 0 ? corr[lagMax - d + 1] : 0, d < lagMax ? corr[lagMax - d - 1] : 0);
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
    const mic = this.recentMic(L, shared.refineMic);
    const lo = Math.max(this.taps >> 1, coarse - radius);
    const hi = Math.min(this.maxDelay, coarse + radius);
    if (shared.refineRef.length < L + hi) shared.refineRef = new Float32Array(L + hi);
    const ref = shared.refineRef.subarray(0, L + hi);
    this.refAt(now - L - hi, ref.length, ref); // ref[j] = reference at (now − L − hi + j)
    let best = -Infinity;
    let bestD = coarse;
    let bestGain = 0;
    const consider = (d: number, xy: number, xx: number) => {
      const score = (xy * xy) / xx; // energy explained
      if (score > best) {
        best = score;
        bestD = d;
        bestGain = xy / xx;
      }
    };
    let d = lo;
    // Four lags per pass over the window: eight independent sums instead of two long dependency chains, each
    // summed in the same order as one lag at a time (so bit-identical), and lag d+j reads what lag d read j
    // samples earlier.
    for (; d + 3 <= hi; d += 4) {
      const off = hi - d;
      let xy0 = 0;
      let xy1 = 0;
      let xy2 = 0;
      let xy3 = 0;
      let xx0 = 1e-9;
      let xx1 = 1e-9;
      let xx2 = 1e-9;
      let xx3 = 1e-9;
      let p0 = ref[off - 1];
      let p1 = ref[off - 2];
      let p2 = ref[off - 3];
      for (let i = 0; i < L; i++) {
        const m = mic[i];
        const x0 = ref[off + i];
        xy0 += x0 * m;
        xx0 += x0 * x0;
        xy1 += p0 * m;
        xx1 += p0 * p0;
        xy2 += p1 * m;
        xx2 += p1 * p1;
        xy3 += p2 * m;
        xx3 += p2 * p2;
        p2 = p1;
        p1 = p0;
        p0 = x0;
      }
      consider(d, xy0, xx0);
      consider(d + 1, xy1, xx1);
      consider(d + 2, xy2, xx2);
      consider(d + 3, xy3, xx3);
    }
    for (; d <= hi; d++) {
      let xy = 0;
      let xx = 1e-9;
      const off = hi - d;
      for (let i = 0; i < L; i++) {
        const x = ref[off + i];
        xy += x * mic[i];
        xx += x * x;
      }
      consider(d, xy, xx);
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

/** Energies of the last `nlms` pass: residual, predicted echo, reference at the filter's centre tap. */
const pass = { resE: 0, echoE: 0, refE: 0 };

/**
 * One NLMS pass over a piece. `r0`/`r1` hold the reference under the taps: sample i sees r[i + K − 1 − k] at tap k.
 * `r1`/`w1` are the shadow path, null when nothing plays on it.
 */
function nlms(
  mic: Float32Array,
  out: Float32Array,
  r0: Float64Array,
  w: Float64Array,
  r1: Float64Array | null,
  w1: Float64Array | null,
): void {
  const len = mic.length;
  const K = w.length;
  const half = K >> 1;
  let resE = 0;
  let echoE = 0;
  let refE = 0;
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
    if (r1 && w1) {
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
    const c = r1 ? r0[top - half] + r1[top - half] : r0[top - half];
    refE += c * c;
    const ar = Math.abs(c);
    if (ar > refPeak) refPeak = ar;
    // Adapt only in single talk (Geigel-style: the mic is not louder than the echo path allows).
    if (xx > 1e-4 && Math.abs(mic[i]) < 0.7 * refPeak + 1e-3) {
      const mu = (0.3 * e) / xx;
      for (let k = 0; k < K; k++) w[k] += mu * r0[top - k];
      if (r1 && w1) for (let k = 0; k < K; k++) w1[k] += mu * r1[top - k];
    }
  }
  pass.resE = resE;
  pass.echoE = echoE;
  pass.refE = refE;
}

/**
 * `nlms` for the default 16 taps and no shadow, with the taps and the 16 newest reference samples held in locals:
 * the loop then reads one sample of reference per mic sample instead of 32 typed-array elements and writes the taps
 * back once per piece, about 2.5× faster. Every sum is formed in the same order as in `nlms` (and the same single-talk
 * test gates adaptation), so the two agree to the bit.
 */
function nlms16(mic: Float32Array, out: Float32Array, r: Float64Array, w: Float64Array): void {
  const len = mic.length;
  let w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
  let w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7];
  let w8 = w[8], w9 = w[9], w10 = w[10], w11 = w[11];
  let w12 = w[12], w13 = w[13], w14 = w[14], w15 = w[15];
  // x_k = r[i + 15 − k], the reference at tap k for sample i: shifted one tap along as i advances.
  let x0 = r[14], x1 = r[13], x2 = r[12], x3 = r[11];
  let x4 = r[10], x5 = r[9], x6 = r[8], x7 = r[7];
  let x8 = r[6], x9 = r[5], x10 = r[4], x11 = r[3];
  let x12 = r[2], x13 = r[1], x14 = r[0], x15 = 0;
  let resE = 0;
  let echoE = 0;
  let refE = 0;
  let refPeak = 0;
  for (let i = 0; i < len; i++) {
    x15 = x14; x14 = x13; x13 = x12; x12 = x11;
    x11 = x10; x10 = x9; x9 = x8; x8 = x7;
    x7 = x6; x6 = x5; x5 = x4; x4 = x3;
    x3 = x2; x2 = x1; x1 = x0;
    x0 = r[i + 15];
    let y = 0;
    let xx = 1e-6;
    y += w0 * x0; xx += x0 * x0;
    y += w1 * x1; xx += x1 * x1;
    y += w2 * x2; xx += x2 * x2;
    y += w3 * x3; xx += x3 * x3;
    y += w4 * x4; xx += x4 * x4;
    y += w5 * x5; xx += x5 * x5;
    y += w6 * x6; xx += x6 * x6;
    y += w7 * x7; xx += x7 * x7;
    y += w8 * x8; xx += x8 * x8;
    y += w9 * x9; xx += x9 * x9;
    y += w10 * x10; xx += x10 * x10;
    y += w11 * x11; xx += x11 * x11;
    y += w12 * x12; xx += x12 * x12;
    y += w13 * x13; xx += x13 * x13;
    y += w14 * x14; xx += x14 * x14;
    y += w15 * x15; xx += x15 * x15;
    const e = mic[i] - y;
    out[i] = e;
    resE += e * e;
    echoE += y * y;
    refE += x8 * x8;
    const ar = Math.abs(x8);
    if (ar > refPeak) refPeak = ar;
    if (xx > 1e-4 && Math.abs(mic[i]) < 0.7 * refPeak + 1e-3) {
      const mu = (0.3 * e) / xx;
      w0 += mu * x0; w1 += mu * x1; w2 += mu * x2; w3 += mu * x3;
      w4 += mu * x4; w5 += mu * x5; w6 += mu * x6; w7 += mu * x7;
      w8 += mu * x8; w9 += mu * x9; w10 += mu * x10; w11 += mu * x11;
      w12 += mu * x12; w13 += mu * x13; w14 += mu * x14; w15 += mu * x15;
    }
  }
  w[0] = w0; w[1] = w1; w[2] = w2; w[3] = w3;
  w[4] = w4; w[5] = w5; w[6] = w6; w[7] = w7;
  w[8] = w8; w[9] = w9; w[10] = w10; w[11] = w11;
  w[12] = w12; w[13] = w13; w[14] = w14; w[15] = w15;
  pass.resE = resE;
  pass.echoE = echoE;
  pass.refE = refE;
}

/**
 * `nlms` for 16 taps with a shadow: the 32 taps in locals, a for the current path and b for the shadow (too many to
 * also keep the windows in registers, so those are read from the arrays), about 2× faster than the loops. Sums in
 * the same order as `nlms`: identical results.
 */
function nlms16Shadow(
  mic: Float32Array,
  out: Float32Array,
  r0: Float64Array,
  w: Float64Array,
  r1: Float64Array,
  w1: Float64Array,
): void {
  const len = mic.length;
  let a0 = w[0], a1 = w[1], a2 = w[2], a3 = w[3];
  let a4 = w[4], a5 = w[5], a6 = w[6], a7 = w[7];
  let a8 = w[8], a9 = w[9], a10 = w[10], a11 = w[11];
  let a12 = w[12], a13 = w[13], a14 = w[14], a15 = w[15];
  let b0 = w1[0], b1 = w1[1], b2 = w1[2], b3 = w1[3];
  let b4 = w1[4], b5 = w1[5], b6 = w1[6], b7 = w1[7];
  let b8 = w1[8], b9 = w1[9], b10 = w1[10], b11 = w1[11];
  let b12 = w1[12], b13 = w1[13], b14 = w1[14], b15 = w1[15];
  let resE = 0;
  let echoE = 0;
  let refE = 0;
  let refPeak = 0;
  for (let i = 0; i < len; i++) {
    let y = 0;
    let xx = 1e-6;
    let x = 0;
    x = r0[i + 15]; y += a0 * x; xx += x * x; x = r0[i + 14]; y += a1 * x; xx += x * x;
    x = r0[i + 13]; y += a2 * x; xx += x * x; x = r0[i + 12]; y += a3 * x; xx += x * x;
    x = r0[i + 11]; y += a4 * x; xx += x * x; x = r0[i + 10]; y += a5 * x; xx += x * x;
    x = r0[i + 9]; y += a6 * x; xx += x * x; x = r0[i + 8]; y += a7 * x; xx += x * x;
    x = r0[i + 7]; y += a8 * x; xx += x * x; x = r0[i + 6]; y += a9 * x; xx += x * x;
    x = r0[i + 5]; y += a10 * x; xx += x * x; x = r0[i + 4]; y += a11 * x; xx += x * x;
    x = r0[i + 3]; y += a12 * x; xx += x * x; x = r0[i + 2]; y += a13 * x; xx += x * x;
    x = r0[i + 1]; y += a14 * x; xx += x * x; x = r0[i]; y += a15 * x; xx += x * x;
    x = r1[i + 15]; y += b0 * x; xx += x * x; x = r1[i + 14]; y += b1 * x; xx += x * x;
    x = r1[i + 13]; y += b2 * x; xx += x * x; x = r1[i + 12]; y += b3 * x; xx += x * x;
    x = r1[i + 11]; y += b4 * x; xx += x * x; x = r1[i + 10]; y += b5 * x; xx += x * x;
    x = r1[i + 9]; y += b6 * x; xx += x * x; x = r1[i + 8]; y += b7 * x; xx += x * x;
    x = r1[i + 7]; y += b8 * x; xx += x * x; x = r1[i + 6]; y += b9 * x; xx += x * x;
    x = r1[i + 5]; y += b10 * x; xx += x * x; x = r1[i + 4]; y += b11 * x; xx += x * x;
    x = r1[i + 3]; y += b12 * x; xx += x * x; x = r1[i + 2]; y += b13 * x; xx += x * x;
    x = r1[i + 1]; y += b14 * x; xx += x * x; x = r1[i]; y += b15 * x; xx += x * x;
    const e = mic[i] - y;
    out[i] = e;
    resE += e * e;
    echoE += y * y;
    const c = r0[i + 7] + r1[i + 7];
    refE += c * c;
    const ar = Math.abs(c);
    if (ar > refPeak) refPeak = ar;
    if (xx > 1e-4 && Math.abs(mic[i]) < 0.7 * refPeak + 1e-3) {
      const mu = (0.3 * e) / xx;
      a0 += mu * r0[i + 15]; a1 += mu * r0[i + 14]; a2 += mu * r0[i + 13]; a3 += mu * r0[i + 12];
      a4 += mu * r0[i + 11]; a5 += mu * r0[i + 10]; a6 += mu * r0[i + 9]; a7 += mu * r0[i + 8];
      a8 += mu * r0[i + 7]; a9 += mu * r0[i + 6]; a10 += mu * r0[i + 5]; a11 += mu * r0[i + 4];
      a12 += mu * r0[i + 3]; a13 += mu * r0[i + 2]; a14 += mu * r0[i + 1]; a15 += mu * r0[i];
      b0 += mu * r1[i + 15]; b1 += mu * r1[i + 14]; b2 += mu * r1[i + 13]; b3 += mu * r1[i + 12];
      b4 += mu * r1[i + 11]; b5 += mu * r1[i + 10]; b6 += mu * r1[i + 9]; b7 += mu * r1[i + 8];
      b8 += mu * r1[i + 7]; b9 += mu * r1[i + 6]; b10 += mu * r1[i + 5]; b11 += mu * r1[i + 4];
      b12 += mu * r1[i + 3]; b13 += mu * r1[i + 2]; b14 += mu * r1[i + 1]; b15 += mu * r1[i];
    }
  }
  w[0] = a0; w[1] = a1; w[2] = a2; w[3] = a3;
  w[4] = a4; w[5] = a5; w[6] = a6; w[7] = a7;
  w[8] = a8; w[9] = a9; w[10] = a10; w[11] = a11;
  w[12] = a12; w[13] = a13; w[14] = a14; w[15] = a15;
  w1[0] = b0; w1[1] = b1; w1[2] = b2; w1[3] = b3;
  w1[4] = b4; w1[5] = b5; w1[6] = b6; w1[7] = b7;
  w1[8] = b8; w1[9] = b9; w1[10] = b10; w1[11] = b11;
  w1[12] = b12; w1[13] = b13; w1[14] = b14; w1[15] = b15;
  pass.resE = resE;
  pass.echoE = echoE;
  pass.refE = refE;
}

function energy(x: Float32Array): number {
  let e = 0;
  for (let i = 0; i < x.length; i++) e += x[i] * x[i];
  return e;
}

/**
 * Math.hypot of two finite numbers, bit for bit as V8 computes it: √Σ(|xᵢ|/max)² · max (its compensation term is
 * always 0 for two arguments), where one of the two ratios is exactly 1. Inlined it is ~4× cheaper than the builtin
 * call, which was a large share of the search's own time (4097 per search).
 */
function hypot(a: number, b: number): number {
  const x = Math.abs(a);
  const y = Math.abs(b);
  if (x >= y) {
    if (x === 0) return 0;
    const q = y / x;
    return Math.sqrt(1 + q * q) * x;
  }
  const q = x / y;
  return Math.sqrt(q * q + 1) * y;
}
