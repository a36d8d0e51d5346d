// Removes the bot's own prompt from the inbound audio before VAD sees it. earshot knows exactly what it played
// and when (the reference, placed on the inbound timeline by Playout), so it only has to learn the line's echo
// path: a bulk delay (GCC-PHAT on decimated audio, then sample-level refinement) and, around it, a block
// frequency-domain adaptive filter spanning the path's dispersion and tail (`echo/BlockFilter.ts`, `echo.taps`,
// 64 ms by default). What cancellation leaves is then gated: a frame counts as callee speech only if its residual
// beats, bin by bin, the echo the filter expects to remain plus the line's noise floor. Float samples at 16 kHz, or at
// 8 kHz for a narrowband call (whose audio carries nothing above 4 kHz): half the work.
import { fft, ifftReal } from '../audio/fft.js';
import type { EchoConfig } from '../config.js';
import { BlockFilter, type BlockResult } from './echo/BlockFilter.js';
import { lineBand } from './echo/lineBand.js';
import { DigitalSilence } from './echo/DigitalSilence.js';
import { explainedShare } from './echo/explainedShare.js';
import type { ShapeFigures } from './echo/spectralShape.js';
import { onAtRate } from '../perRate.js';

/** The canceller's time constants in samples at its rate (16 kHz, or 8 kHz for narrowband calls: half the work). */
interface Timing {
  rate: number;
  /** 4 ms: the unit for counting how long the reference has been active. */
  eBlock: number;
  /** Filter block, 16 ms: two per VAD frame, so a frame's residual is complete when its last sample arrives. */
  block: number;
  /** Between searches while it is unknown whether the line echoes (100 ms). */
  search: number;
  /** Once locked the filter follows drift inside its window; the path is searched again only when the filter has
   *  stopped cancelling (a changed path): every 250 ms during the first second of that, every `researchSlow` (1 s,
   *  as before 2026-12-08) after it — a callee talking over the prompt, or line noise louder than the echo, keeps
   *  the filter's figures poor for seconds. */
  research: number;
  researchSlow: number;
  /** A rejected retrain (EchoCanceller.retrain) is tried again no sooner than this (250 ms, doubling up to 2 s):
   *  training a filter afresh costs about as much as filtering the ¾ s of history twice. */
  retryMax: number;
  /** With no echo found, look again this often in case it appears (5 s). */
  absentEvery: number;
  /** How far before the found delay the filter's window starts: the path's onset precedes its strongest tap. */
  pre: number;
  /** History the filter is trained on when the path is found (¾ s, two passes; four with echo.robustFilter), so it cancels from the start. */
  pretrain: number;
  /** Samples for the sample-level refinement (0.5 s) and for judging what the echo explains (1 s). */
  refine: number;
  coherence: number;
  /** The delay search runs at 4 kHz: speech echo lives below 2 kHz, and it is cheaper. */
  decim: number;
}

function timing(rate: number): Timing {
  const ms = (x: number) => Math.round((x * rate) / 1000);
  return { rate, eBlock: ms(4), block: ms(16), search: ms(100), research: ms(250), researchSlow: ms(1000), retryMax: ms(2000), absentEvery: ms(5000), pre: ms(16), pretrain: ms(750), refine: ms(500), coherence: ms(1000), decim: rate / 4000 };
}

const BLOCKS = 1024; // block-energy table: 4 s of reference
/** Reference louder than this (mean square, −45 dBFS) counts as prompt speech: a recording's room tone before its
 *  first word (−55 dBFS in ../shared/audio/real) must not count towards deciding that the line does not echo. */
const REF_SPEECH = 3e-5;
/** 4 ms blocks of prompt speech played without an echo found before the line is taken not to echo (0.6 s). */
const ABSENT_AFTER = 150;
/**
 * A locked frame whose residual correlates with the echo estimate at least this much (squared: the share of the
 * residual's energy a scaled copy of the estimate explains) is echo (echoVerdict). Half: chosen on the generated
 * corpus's tuning half (offline, |ρ| from 0.4 to 0.7; README "Measured").
 */
const ECHO_FIT = 0.5;
const GCC_N = 4096; // 1 s at 4 kHz
const GCC_PROMINENCE = 8; // peak over mean |correlation| needed to consider a delay
// Share of the microphone signal (telephone band) the echo must explain to lock: clearly (any path at the found
// delay), or some both that way and through its strongest tap alone (see refine). Low bars: echo under line noise
// still explains a visible part. The share is measured above what chance gives (explainedShare), which the bars of
// 0.3 and 0.15 carried before: 0.22 and 0.1 lock the tuning half's echo nearly as often and as soon as those did
// (never locked 26 → 27 and 22 → 26 of 260 echo scenarios at 16 / 8 kHz, faint echo under noise; README "Measured"),
// and a syllable repeated over a prompt on a line without echo locks at neither (at 0.15 and 0.07 it begins to, 2 of
// test/unit-echo-canceller.test.ts's 64 runs).
const EXPLAINED_CLEAR = 0.22;
const EXPLAINED = 0.1;
const EXPLAINED_TAP = 0.15;
/**
 * A filter retrained on the recent history replaces the one in place only if it leaves at most this share of what
 * the one in place leaves (3 dB less); and it is tried only when the reference explains that much more of the
 * microphone signal than the filter removes (see retrain).
 */
const RETRAIN_GAIN = 0.5;
/** The largest rate and buffers the shared scratch is sized for. */
const MAX = timing(16000);

let instances = 0;

/** Scratch for the delay search, shared by all calls on a thread. */
const shared = {
  mic: new Float32Array(MAX.decim * GCC_N),
  ref: new Float32Array(MAX.decim * GCC_N + 1000 * 16),
  re: new Float64Array(2 * GCC_N),
  im: new Float64Array(2 * GCC_N),
  xr: new Float64Array(2 * GCC_N),
  xi: new Float64Array(2 * GCC_N),
  corr: new Float64Array(2 * GCC_N),
  // refine() and the pretraining run after each coarse hit: their windows were a steady source of garbage.
  refineMic: new Float32Array(Math.max(MAX.refine, MAX.pretrain + MAX.block, MAX.coherence)),
  cohRef: new Float32Array(MAX.coherence),
  refineRef: new Float32Array(MAX.refine + 1000 * 16),
  trainOut: new Float32Array(MAX.block),
};

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

/** The telephone-band shape figures are summed over the frame's blocks (locked only; echo/spectralShape.ts). */
export interface EchoFrameInfo extends ShapeFigures {
  /** Energy of the reference around the current echo delay (0 when nothing was playing). */
  refEnergy: number;
  /** Energy of what cancellation left. */
  residualEnergy: number;
  /** Residual echo we expect to remain (before the path is known: the echo there could be). */
  expectedEcho: number;
  /** The line's noise floor over the frame (locked only). */
  noise: number;
  /** Residual energy standing out above the expected echo and noise, bin by bin (locked only). */
  excess: number;
  /** Energy of the microphone signal before cancellation. */
  mic: number;
  /** Energy of the filter's linear echo estimate (locked only). */
  echoEstimate: number;
  /**
   * Correlation of the residual with the filter's echo estimate over the frame, −1…1 (locked only; 0 without an
   * estimate): how much of the residual is a scaled copy of the estimate. Near 0 for a callee, who has nothing to do
   * with it; near −1 when the filter subtracts echo that is no longer there (the path changed or got quieter), +1
   * when it subtracts too little.
   */
  echoFit: number;
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
  private filter: BlockFilter;
  /** A second filter, made at the first retrain: trained afresh there, swapped in if it cancels better. */
  private spare: BlockFilter | null = null;
  /** How long the locked filter has not been cancelling, samples (0 while it is). */
  private poorFor = 0;
  /** No retrain before this inbound sample, and the wait after the next one rejected (t.research, doubling up to
   *  t.retryMax, back to t.research once one is kept: a talking callee's pauses must not reset it). */
  private retrainAt = 0;
  private retryEvery: number;
  /** Lag of the filter's first tap (the window's start): delay − this.t.pre, ≥ 0. */
  private winOff = 0;
  /** Mic samples of the block being filled, and where it starts on the inbound timeline. */
  private readonly pending: Float32Array;
  private pendingFill = 0;
  private readonly res: BlockResult = { mic: 0, residual: 0, echo: 0, expected: 0, noise: 0, excess: 0, ref: 0, bandRes: 0, bandEst: 0, bandCross: 0, overBins: 0, bandBins: 0, incoherent: 0, cohDe: 0, cross: 0, rawResidual: 0 };
  private readonly xb: Float64Array[];
  /** The residual of the block being processed (handed to `onResidual`, then reused). */
  private readonly blockOut: Float32Array;
  /** Digital silence in the block being processed (a lost packet filled with zeros): see DigitalSilence. */
  private readonly silence: DigitalSilence;
  private readonly silentMask: Uint8Array;
  /** Cancellation achieved lately while the prompt played with no callee in it: mic and residual energy. */
  private healthMic = 0;
  private healthRes = 0;
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
  // Spread phase: calls whose prompts start together must not all search on the same tick (deterministic, unlike a
  // random phase, so that a test of one call behaves the same on every run).
  private sinceSearch: number;
  private readonly gate: number;
  private frameRes = 0;
  private frameEcho = 0;
  private frameRef = 0;
  private frameExcess = 0;
  private frameNoise = 0;
  private frameMic = 0;
  private frameEst = 0;
  private frameCross = 0;
  private frameRaw = 0;
  private frameBandRes = 0;
  private frameBandEst = 0;
  private frameBandCross = 0;
  private frameOverBins = 0;
  private frameBandBins = 0;
  private frameIncoherent = 0;
  private frameCohDe = 0;

  /** Each block's residual, in order (a view, valid during the call only). */
  onResidual: (start: number, samples: Float32Array) => void = () => {};
  /** Called once when the echo path is first found: the VAD's memory of pre-lock echo should be dropped then. */
  onLock?: (delaySamples: number) => void;
  /** Whether the line echoes became known (for logs). */
  onState?: (state: 'present' | 'absent', atSample: number) => void;
  onDebug?: (info: Record<string, number>) => void;

  private readonly t: Timing;

  /** `rate`: 16000, or 8000 for a narrowband call (its reference and microphone signal at 8 kHz). */
  constructor(
    private readonly cfg: EchoConfig,
    rate = 16000,
  ) {
    this.t = timing(rate);
    this.pending = new Float32Array(this.t.block);
    this.blockOut = new Float32Array(this.t.block);
    this.silentMask = new Uint8Array(this.t.block);
    this.silence = DigitalSilence.forRate(this.t.rate);
    this.xb = [new Float64Array(this.t.block), new Float64Array(this.t.block)];
    this.sinceSearch = (instances++ * 617) % this.t.search;
    this.maxDelay = Math.round((cfg.maxDelayMs / 1000) * this.t.rate);
    // `echo.taps` counts 16 kHz taps: the same span in time at either rate, in whole blocks.
    this.taps = Math.ceil((cfg.taps * this.t.rate) / 16000 / this.t.block) * this.t.block;
    this.filter = this.newFilter();
    this.retryEvery = this.t.research;
    this.micHist = new Float32Array(Math.max(this.t.refine + this.maxDelay + this.t.eBlock * 4, this.t.decim * GCC_N));
    this.gate = 10 ** (cfg.gateMarginDb / 10);
  }

  private newFilter(): BlockFilter {
    const c = this.cfg;
    return new BlockFilter({ block: this.t.block, partitions: this.taps / this.t.block, suppressFloor: c.suppress ? 10 ** (-c.suppressDb / 10) : 0, binMargin: 4, rate: this.t.rate, shapeFigures: c.shapeFigures, robust: onAtRate(c.robustFilter, this.t.rate) });
  }

  get locked(): boolean {
    return this.delay >= 0;
  }
  /** The microphone block whose residual `onResidual` is being handed (valid during that call only). */
  get blockMic(): Float32Array {
    return this.pending;
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
      const b = Math.floor((start + i) / this.t.eBlock);
      if (start + i === b * this.t.eBlock && i + 4 * this.t.eBlock <= n) {
        const s0 = this.blockSlot(b);
        const s1 = this.blockSlot(b + 1);
        const s2 = this.blockSlot(b + 2);
        const s3 = this.blockSlot(b + 3);
        let e0 = E[s0];
        let e1 = E[s1];
        let e2 = E[s2];
        let e3 = E[s3];
        for (let j = i; j < i + this.t.eBlock; j++) {
          const x0 = samples[j];
          const x1 = samples[j + this.t.eBlock];
          const x2 = samples[j + 2 * this.t.eBlock];
          const x3 = samples[j + 3 * this.t.eBlock];
          e0 += x0 * x0;
          e1 += x1 * x1;
          e2 += x2 * x2;
          e3 += x3 * x3;
        }
        E[s0] = e0;
        E[s1] = e1;
        E[s2] = e2;
        E[s3] = e3;
        i += 4 * this.t.eBlock;
        continue;
      }
      const end = Math.min(n, (b + 1) * this.t.eBlock - start);
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
    const keep = now - this.maxDelay - this.t.refine - this.taps - this.t.rate;
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
   * Takes inbound audio whose first sample is inbound sample `start` (contiguous with the last call). Echo is
   * cancelled in blocks of this.t.block samples aligned on the inbound timeline; each completed block's residual goes
   * to `onResidual` (a view valid only during that call: no array or object per block) once its gating figures
   * have been added to those `takeFrameInfo` returns. Hot path: runs for every inbound sample of every call.
   */
  process(mic: Float32Array, start: number): void {
    let off = 0;
    while (off < mic.length) {
      const n = Math.min(this.t.block - this.pendingFill, mic.length - off);
      this.pending.set(mic.subarray(off, off + n), this.pendingFill);
      this.pendingFill += n;
      off += n;
      if (this.pendingFill === this.t.block) {
        this.pendingFill = 0;
        this.block(start + off - this.t.block);
      }
    }
  }

  private block(start: number): void {
    const N = this.t.block;
    const mic = this.pending;
    const out = this.blockOut;
    const windowStart = start - this.maxDelay - this.taps;
    const referenced = this.cfg.enabled && this.hasReferenceIn(windowStart, start + N);
    this.track(mic, start, referenced);
    const d = this.delay;
    if (!referenced) {
      // Nothing played within reach of any delay: the residual is the microphone signal itself.
      this.silence.reset();
      const e = energy(mic);
      this.frameRes += e;
      this.frameMic += e;
      this.prune(start);
      this.lastProcessedEnd = start + N;
      this.onResidual(start, mic);
      return;
    }
    if (d >= 0) {
      const at = start - this.winOff;
      const any0 = this.refAt(at, N, this.xb[0], 0);
      const any1 = this.refAt(at, N, this.xb[1], 1);
      const r = this.res;
      // Lost packets matter only where the filter subtracts an estimate; elsewhere the residual is the mic itself.
      const silent = this.silence.mark(mic, this.silentMask) > 0 ? this.silentMask : null;
      this.filter.process(mic, any0 ? this.xb[0] : null, any1 ? this.xb[1] : null, out, r, silent);
      this.frameRes += r.residual;
      this.frameEcho += r.expected;
      this.frameNoise += r.noise;
      this.frameExcess += r.excess;
      this.frameRef += r.ref;
      this.frameMic += r.mic;
      this.frameEst += r.echo;
      this.frameCross += r.cross;
      this.frameRaw += r.rawResidual;
      this.frameBandRes += r.bandRes;
      this.frameBandEst += r.bandEst;
      this.frameBandCross += r.bandCross;
      this.frameOverBins += r.overBins;
      this.frameBandBins += r.bandBins;
      this.frameIncoherent += r.incoherent;
      this.frameCohDe += r.cohDe;
      // How much the filter removes while the prompt plays (~0.5 s): a path that moved out of the window shows
      // here. So does a callee talking over the prompt, for whom the search finds the same path and changes nothing.
      if (r.ref > 1e-6 * N) {
        this.healthMic = 0.94 * this.healthMic + r.mic;
        this.healthRes = 0.94 * this.healthRes + r.residual;
      }

    } else {
      this.silence.reset();
      out.set(mic);
      // Not locked yet: pass through, and predict echo as loud as the loudest reference in reach.
      const resE = energy(mic);
      const refE = this.maxBlockEnergy(windowStart, start + N) * N;
      // Until the path is known, assume echo up to −6 dB; once enough reference played without any correlation,
      // whatever echo there is lies below what the search detects (about −30 dB).
      this.frameRes += resE;
      this.frameMic += resE;
      this.frameEcho += refE * (this.state === 'absent' ? 0.001 : 0.25);
      this.frameRef += refE;
    }
    this.prune(start);
    this.lastProcessedEnd = start + N;
    this.onResidual(start, out);
  }

  /**
   * Places the filter's window around a found delay and trains it on the history it already has (the echo of the
   * last ¾ s), so that it cancels from the next block on rather than after seconds of live adaptation.
   */
  private place(delay: number, gain: number, now: number): void {
    this.winOff = Math.max(0, delay - this.t.pre);
    this.train(this.filter, this.winOff, delay, gain, now);
    this.healthMic = this.healthRes = 0;
  }

  /**
   * The path is where the filter's window has it, but its shape or level changed: the filter takes the new echo
   * standing out of its residual for a callee talking over the prompt and barely adapts (on a G.168 path that
   * changed at the same delay it removed 1–4 dB for seconds: test/unit-echo-canceller.test.ts). A filter trained
   * afresh on the recent history, as at a lock, replaces it only if it leaves clearly less of that history than the
   * one in place leaves live: under a callee or line noise both leave about as much, and the one in place stays.
   * Returns whether it replaced it.
   */
  private retrain(delay: number, gain: number, now: number): boolean {
    const fresh = (this.spare ??= this.newFilter());
    const winOff = Math.max(0, delay - this.t.pre);
    const left = this.train(fresh, winOff, delay, gain, now);
    if (!(left < RETRAIN_GAIN * this.leaves())) {
      this.retrainAt = now + this.retryEvery;
      this.retryEvery = Math.min(this.t.retryMax, 2 * this.retryEvery);
      return false;
    }
    this.retryEvery = this.t.research;
    this.spare = this.filter;
    this.filter = fresh;
    this.winOff = winOff;
    this.delay = delay;
    this.healthMic = this.healthRes = 0;
    return true;
  }

  /**
   * Resets `filter` to one tap at `delay` of a window starting at `winOff` and trains it on the history before `now`
   * (the last ¾ s). Returns the share of the microphone signal the trained filter leaves over the second half of
   * its last pass (1 with too little history to train on).
   */
  private train(filter: BlockFilter, winOff: number, delay: number, gain: number, now: number): number {
    const N = this.t.block;
    filter.clearHistory();
    filter.reset(delay - winOff, gain);
    // `now` is the end of the block being tracked, which is processed live next: train on the blocks before it.
    const end = now - N;
    const span = Math.floor(Math.min(this.t.pretrain, this.histFill - N) / N) * N;
    if (span < 4 * N) return 1;
    const mic = this.recentMic(span + N, shared.refineMic).subarray(0, span);
    const scratch = shared.trainOut;
    const r = this.res;
    // The history's own lost packets, found afresh (training is rare: at a lock, or a retrain). The live block's mask is free to
    // borrow: placing runs inside track(), before the block being processed is marked.
    const gaps = DigitalSilence.forRate(this.t.rate);
    const mask = this.silentMask;
    let leftE = 0;
    let micE = 0;
    for (let pass = 0; pass < filter.passes; pass++) {
      filter.clearHistory();
      gaps.reset();
      const last = pass === filter.passes - 1;
      for (let b = 0; b < span; b += N) {
        const at = end - span + b - winOff;
        const any0 = this.refAt(at, N, this.xb[0], 0);
        const any1 = this.refAt(at, N, this.xb[1], 1);
        const block = mic.subarray(b, b + N);
        const silent = gaps.mark(block, mask) > 0 ? mask : null;
        filter.process(block, any0 ? this.xb[0] : null, any1 ? this.xb[1] : null, scratch, r, silent);
        if (last && 2 * b >= span) {
          leftE += r.residual;
          micE += r.mic;
        }
      }
    }
    return micE > 0 ? leftE / micE : 1;
  }

  /** Share of the last second's microphone signal that the reference explains through a path at `delay` (any shape). */
  private explained(now: number, delay: number): number {
    const L = Math.min(this.t.coherence, this.histFill);
    const mic = this.recentMic(L, shared.refineMic);
    const ref = shared.cohRef.subarray(0, L);
    // The path's onset precedes its strongest tap by a few ms: lead the reference by that.
    this.refAt(now - L - delay + 64, L, ref);
    return explainedShare(mic, ref, this.t.rate);
  }

  private hasReferenceIn(from: number, to: number): boolean {
    for (const s of this.segments) if (s.start < to && s.end > from) return true;
    return false;
  }

  /** Mean energy per sample of the loudest 4 ms block of reference within [from, to), from the block table. */
  private maxBlockEnergy(from: number, to: number): number {
    let m = 0;
    let b = Math.floor(from / this.t.eBlock);
    let slot = ((b % BLOCKS) + BLOCKS) % BLOCKS;
    for (; b * this.t.eBlock < to; b++) {
      if (this.blockIdx[slot] === b && this.blockE[slot] > m) m = this.blockE[slot];
      if (++slot === BLOCKS) slot = 0;
    }
    return m / this.t.eBlock;
  }

  /**
   * Speech was just detected while earshot was playing: if no echo path was found earlier (the echo may have been
   * buried in noise), look again now, once, before that "speech" can commit a barge-in. Cheap: once per pause.
   */
  recheck(): void {
    if (!this.cfg.enabled || this.state !== 'absent' || this.lastProcessedEnd <= 0) return;
    if (this.hasReferenceIn(this.lastProcessedEnd - this.maxDelay - this.t.rate, this.lastProcessedEnd)) this.search(this.lastProcessedEnd);
  }

  /** Gating figures since the last call, for one VAD frame. */
  takeFrameInfo(): EchoFrameInfo {
    const info: EchoFrameInfo = {
      refEnergy: this.frameRef,
      residualEnergy: this.frameRes,
      expectedEcho: this.frameEcho,
      noise: this.frameNoise,
      excess: this.frameExcess,
      mic: this.frameMic,
      echoEstimate: this.frameEst,
      echoFit: this.frameRaw > 0 && this.frameEst > 0 ? this.frameCross / Math.sqrt(this.frameRaw * this.frameEst) : 0,
      bandRes: this.frameBandRes,
      bandEst: this.frameBandEst,
      bandCross: this.frameBandCross,
      overBins: this.frameOverBins,
      bandBins: this.frameBandBins,
      incoherent: this.frameIncoherent,
      cohDe: this.frameCohDe,
      locked: this.delay >= 0,
      delaySamples: this.delay,
    };
    this.frameRes = this.frameEcho = this.frameRef = this.frameNoise = this.frameExcess = this.frameMic = this.frameEst = this.frameCross = this.frameRaw = 0;
    this.frameBandRes = this.frameBandEst = this.frameBandCross = this.frameOverBins = this.frameBandBins = this.frameIncoherent = this.frameCohDe = 0;
    return info;
  }

  /**
   * How far a frame's residual can be trusted as callee speech: 'hard' = it may well be our own voice; 'soft' =
   * some of it stands out from the echo expected to remain, not clearly (a confident VAD may still overrule it);
   * 'clear' = callee speech, or echo too faint to matter.
   */
  echoVerdict(info: EchoFrameInfo, frameLen: number): 'hard' | 'soft' | 'clear' {
    if (!this.cfg.enabled) return 'clear';
    if (!info.locked) return info.expectedEcho <= 1e-7 * frameLen || info.residualEnergy >= info.expectedEcho * this.gate ? 'clear' : 'hard';
    // Faint expected echo still counts: the VAD scores echo left at −60 dBFS as speech as readily as a voice.
    // Locked: the evidence is what stands out bin by bin above the expected residual echo and the noise floor,
    // measured against both. Echo alone leaves a little (the bins' random spread, the filter's misadjustment); a
    // callee leaves about their own energy.
    const floor = info.expectedEcho + info.noise;
    if (floor <= 1e-9 * frameLen) return 'clear'; // no reference reached the filter during this frame
    // Half the residual or more is a scaled copy of the filter's own estimate: our voice mis-cancelled — the path
    // changed or got quieter under the filter, which then subtracts echo that is not there — however much of it
    // stands out above the residual echo expected of a filter that fits. A callee has nothing to do with the estimate.
    if (info.echoFit * info.echoFit >= ECHO_FIT) return 'hard';
    const ratio = info.excess / floor;
    if (ratio >= this.cfg.clearRatio) return 'clear';
    return ratio >= this.cfg.softRatio ? 'soft' : 'hard';
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
    if (this.maxBlockEnergy(start, now) > REF_SPEECH) this.refActiveBlocks += mic.length / this.t.eBlock;
    if (this.state === 'present') {
      // Locked: the filter follows small drifts itself. Look for the path again only when it has stopped
      // cancelling while the prompt played (the path changed, within its window or beyond it).
      if (!this.cancelling()) {
        this.poorFor += mic.length;
        if (this.sinceSearch >= (this.poorFor <= this.t.rate ? this.t.research : this.t.researchSlow)) {
          this.sinceSearch = 0;
          this.search(now);
        }
      } else this.poorFor = 0;
    } else if (this.sinceSearch >= (this.state === 'unknown' ? this.t.search : this.t.absentEvery)) {
      this.sinceSearch = 0;
      this.search(now);
    }
  }

  /** Share of the microphone signal the locked filter leaves while the prompt plays (~0.5 s); 0 before it is measured. */
  private leaves(): number {
    return this.healthMic > 0 ? this.healthRes / this.healthMic : 0;
  }

  /** Whether the locked filter removes at least half of the microphone signal. */
  private cancelling(): boolean {
    return this.leaves() <= 0.5;
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
    if (have < N * this.t.decim * 0.5) return;
    const M = 2 * GCC_N; // FFT size at the decimated rate
    const lagMax = Math.floor(this.maxDelay / this.t.decim);
    const micLen = Math.min(N, Math.floor(have / this.t.decim));
    const mic16 = this.recentMic(micLen * this.t.decim, shared.mic);
    const ref16 = shared.ref.subarray(0, (micLen + lagMax) * this.t.decim);
    this.refAt(now - (micLen + lagMax) * this.t.decim, ref16.length, ref16);
    // Mic in the real part, reference in the imaginary part: one complex FFT gives both spectra. The buffers are
    // shared by every call of this thread (the search is synchronous); allocating them per search was most of the
    // garbage the listen workers made.
    const zr = shared.re;
    const zi = shared.im;
    let refEnergy = 0;
    // Box-filter decimation to 4 kHz: crude, but PHAT only needs the phase of the strong low band to be right.
    const dec = this.t.decim;
    boxDecimate(mic16, zr, micLen, dec);
    zr.fill(0, micLen);
    boxDecimate(ref16, zi, micLen + lagMax, dec);
    for (let i = 0; i < micLen + lagMax; i++) refEnergy += zi[i] * zi[i];
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
    const found = prominence >= GCC_PROMINENCE && this.refine(now, bestD * this.t.decim, 2 * this.t.decim);
    if (!found && this.delay < 0 && this.refActiveBlocks >= ABSENT_AFTER && this.state !== 'absent') {
      this.state = 'absent';
      this.onState?.('absent', now);
    }
  }

  /**
   * Sample-level delay and gain around a coarse lag; locks only if the echo through that delay explains enough of
   * the microphone signal. A correlation peak alone is not enough: the prompt and a caller's unrelated speech peak
   * at up to 14 times the mean correlation by chance (the search's threshold is 8; a real echo gives 15–55).
   */
  private refine(now: number, coarse: number, radius: number): boolean {
    const L = Math.min(this.t.refine, this.histFill);
    if (L < 2000) return false;
    const mic = this.recentMic(L, shared.refineMic);
    const lo = Math.max(0, coarse - radius);
    const hi = Math.min(this.maxDelay, coarse + radius);
    if (shared.refineRef.length < L + hi) shared.refineRef = new Float32Array(L + hi);
    const ref = shared.refineRef.subarray(0, L + hi);
    this.refAt(now - L - hi, ref.length, ref); // ref[j] = reference at (now − L − hi + j)
    // Judged in the band a line carries: a recorded prompt's rumble or DC never echoes (see lineBand).
    lineBand(mic, this.t.rate);
    lineBand(ref, this.t.rate);
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
    // What any path at that delay explains (coherence, above what chance gives) must be clear; between chance and
    // clear, the strongest tap alone must explain a share too. Measured before chance was taken off the share:
    // chance up to 0.12, once 0.28 (a caller's word whose pitch matched the prompt's), a repeated syllable 0.3–0.7;
    // real echo over the line's noise 0.3–0.98. One tap: 0.05–0.9 for real echo (dispersive paths and recorded
    // prompts are low), ≤ 0.17 by chance.
    const share = this.explained(now, bestD);
    const tap = best / micE;
    if (share < EXPLAINED_CLEAR && (share < EXPLAINED || tap < EXPLAINED_TAP)) return false;
    if (this.state !== 'present') this.onState?.('present', now);
    this.state = 'present';
    if (this.delay < 0) this.onLock?.(bestD);
    // A new path, or one moved so far that the window no longer holds it well: place the window and retrain.
    if (this.delay < 0 || Math.abs(bestD - this.delay) > this.t.pre / 2) {
      this.delay = bestD;
      this.place(bestD, bestGain, now);
    } else if (!this.cancelling() && now >= this.retrainAt && 1 - share < RETRAIN_GAIN * this.leaves()) {
      // Still here, and the reference explains far more of the microphone signal than the filter removes.
      this.retrain(bestD, bestGain, now);
    }
    return true;
  }
}

/** out[i] = mean of x[d·i … d·i + d) for i < n, d = 2 or 4, written out (summed from 0, in the order a loop would). */
function boxDecimate(x: Float32Array, out: Float64Array, n: number, d: number): void {
  if (d === 4) {
    for (let i = 0; i < n; i++) {
      const j = 4 * i;
      out[i] = (0 + x[j] + x[j + 1] + x[j + 2] + x[j + 3]) / 4;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const j = 2 * i;
      out[i] = (0 + x[j] + x[j + 1]) / 2;
    }
  }
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
