// One call's inbound signal path: echo cancellation, then cutting the residual into 16 kHz VAD frames, each carrying
// the canceller's verdict on whether it could be our own voice. A narrowband call is cancelled at its own 8 kHz (half
// the work; its audio carries nothing above 4 kHz) and only the residual is upsampled for the VAD. Plain data in and out and no
// threads, so it runs wherever the call is sharded (a listen worker) and in unit tests alike.
import type { EchoConfig } from '../config.js';
import { Resampler } from '../audio/resampler.js';
import { BackgroundLevel } from './BackgroundLevel.js';
import { DtmfRejector } from './DtmfTone.js';
import { EchoCanceller, type EchoFrameInfo, type EchoPath } from './EchoCanceller.js';
import { BandEnergies, N_BANDS } from './nearEnd/BandEnergies.js';
import { N_FEATURES, NearEndFeatures, type FrameFigures } from './nearEnd/NearEndFeatures.js';
import type { NearEndModel } from './nearEnd/NearEndModel.js';
import { InterruptionFeatures, N_INTERRUPTION_FEATURES } from './nearEnd/InterruptionFeatures.js';
import type { InterruptionModel } from './nearEnd/InterruptionModel.js';
import { VAD_FRAME, VAD_RATE } from './vad/VadModel.js';

/** A frame the echo gate finds doubtful still counts as speech when the VAD is this sure. */
export const SOFT_ECHO_PROB = 0.85;
/** Frames after the echo path locks that count as echo while the VAD's fresh state settles. */
const SETTLE_FRAMES = 3;

export interface PendingFrame {
  index: number;
  samples: Float32Array;
  verdict: 'hard' | 'soft' | 'clear';
  /** A narrowband call's frame at its own 8 kHz (the residual before upsampling), while `narrowVad` is on. */
  narrow?: Float32Array;
  /** Score this frame from a fresh model state (the echo path locked while it filled). */
  resetBefore: boolean;
  /** The canceller's figures over this frame (energies at the canceller's rate). */
  info: EchoFrameInfo;
  /**
   * Log-mel band energies over the frame at the wire rate (BandEnergies): the residual's N_BANDS, then the echo
   * estimate's (microphone − residual); only when the call computes them (InboundAudio's `bands`).
   */
  bands?: Float32Array;
  /** Gating figures, only when tracing. */
  trace?: { res: number; exp: number; ref: number; locked: boolean; excess: number; noise: number };
}

export type EchoEvent =
  | { type: 'lock'; delaySamples: number; at: number }
  | { type: 'state'; state: 'present' | 'absent'; at: number }
  | { type: 'debug'; info: Record<string, number> };

const NONE: readonly never[] = [];

export class InboundAudio {
  private readonly aec: EchoCanceller;
  /** 16 kHz samples per canceller sample: 1, or 2 for a narrowband call. */
  private readonly scale: number;
  /** Narrowband: the canceller's position (8 kHz samples), its residual's upsampler, reference decimation scratch. */
  private narrowPos = 0;
  private readonly up: Resampler | null = null;
  private refScratch = new Float32Array(0);
  /** The VAD frame being filled. */
  private frameBuf: Float32Array = new Float32Array(VAD_FRAME);
  private fill = 0;
  private nextIndex = 0;
  private samples = 0;
  private settleUntil = -1;
  private resetAt = -1;
  /** Frames completed since the last `takeFrames`. */
  private frames: PendingFrame[] = [];
  /** Sample buffers of the frames handed out by the last `takeFrames`, and ones free for new frames: a typed array
   *  per 32 ms frame per call cost ~2.5 µs each in the listen worker, so two or three per call are reused. */
  private lent: Float32Array[] = [];
  private spare: Float32Array[] = [];
  /** The same for the 8 kHz frames (`narrowVad`): the one being filled, and whether it has every block of its frame. */
  private narrowBuf: Float32Array | null = null;
  private lentNarrow: Float32Array[] = [];
  private spareNarrow: Float32Array[] = [];
  /** Residual audio since the last `takeResidual`, when someone listens to it. */
  private residual: { start: number; samples: Float32Array }[] = [];
  private events: EchoEvent[] = [];
  /** Touch-tone keys and their hangover, for the shared VAD's frames and the 8 kHz VAD's (vad.rejectDtmf). */
  readonly keys = new DtmfRejector();
  readonly narrowKeys = new DtmfRejector();
  /** The near-end classifier's running features for this call, when the worker has a classifier. */
  private readonly nearEndFx: NearEndFeatures | null;
  private readonly nearEndX = new Float64Array(N_FEATURES);
  private readonly background: BackgroundLevel;
  /** Band energies per frame (`bands`): the calculator and the frame's residual and microphone at the wire rate. */
  private readonly bandFx: BandEnergies | null;
  private readonly wireRes: Float32Array | null;
  private readonly wireMic: Float32Array | null;
  /** The interruption classifier's running inputs for this call, when the worker has one. */
  private readonly interruptionFx: InterruptionFeatures | null;
  private readonly interruptionX = new Float64Array(N_INTERRUPTION_FEATURES);
  private readonly bandsDb = new Float64Array(2 * N_BANDS);
  /** One frame's figures for the classifiers, reused frame after frame. */
  private readonly figures: FrameFigures = { prob: 0, res: 0, exp: 0, noise: 0, excess: 0, mic: 0, est: 0, ref: 0, locked: false, verdict: 'clear', echo: false };

  constructor(
    echo: EchoConfig,
    public wantsResidual = false,
    public trace = false,
    /** The call's wire rate: 16000, or 8000 (audio then comes through `pushNarrow`). */
    readonly rate: 8000 | 16000 = VAD_RATE,
    /** The near-end frame classifier (bargeIn.nearEnd), shared by the worker's calls; null: none. */
    private readonly nearEndModel: NearEndModel | null = null,
    /** Compute each frame's band energies (PendingFrame.bands) for the interruption classifier; off: none. */
    bands = false,
    /** The interruption classifier (bargeIn.interruption), shared by the worker's calls; null: none. */
    private readonly interruptionModel: InterruptionModel | null = null,
  ) {
    if (interruptionModel) bands = true;
    this.scale = VAD_RATE / rate;
    this.nearEndFx = nearEndModel ? new NearEndFeatures(VAD_FRAME / this.scale) : null;
    this.background = new BackgroundLevel(VAD_FRAME / this.scale);
    this.aec = new EchoCanceller(echo, rate);
    const wireFrame = VAD_FRAME / this.scale;
    this.bandFx = bands ? new BandEnergies(wireFrame, rate) : null;
    this.interruptionFx = interruptionModel ? new InterruptionFeatures(wireFrame) : null;
    this.wireRes = bands ? new Float32Array(wireFrame) : null;
    this.wireMic = bands ? new Float32Array(wireFrame) : null;
    if (rate !== VAD_RATE) this.up = new Resampler(rate, VAD_RATE);
    this.aec.onLock = (d) => {
      // Pre-lock echo left speech in the VAD's memory: start it clean now that echo is being removed, and treat the
      // next few frames as echo while its state settles.
      this.resetAt = this.nextIndex;
      this.settleUntil = Math.floor(this.samples / VAD_FRAME) + SETTLE_FRAMES;
      this.events.push({ type: 'lock', delaySamples: d * this.scale, at: this.samples });
    };
    this.aec.onResidual = (start, r) => this.block(start * this.scale, this.up ? this.up.processView(r) : r, r);
    this.aec.onState = (state, at) => this.events.push({ type: 'state', state, at: at * this.scale });
    this.aec.onDebug = (info) => {
      if (this.trace) this.events.push({ type: 'debug', info });
    };
  }

  /**
   * Also hand out each frame at the wire's 8 kHz (`PendingFrame.narrow`), for a VAD in Silero's own 8 kHz mode (a
   * consent window's utterance cuts, consent.narrowbandVad). Narrowband calls only; takes effect from the next
   * frame, so an 8 kHz frame always holds the whole of its 32 ms.
   */
  narrowVad = false;

  get locked(): boolean {
    return this.aec.locked;
  }

  /** In 16 kHz samples (−1 until locked). */
  get delaySamples(): number {
    const d = this.aec.delaySamples;
    return d < 0 ? d : d * this.scale;
  }

  /** Samples processed so far (the inbound timeline position). */
  get position(): number {
    return this.samples;
  }

  /** 16 kHz inbound audio, contiguous with the previous call. */
  push(x: Float32Array): void {
    // The canceller works in blocks that tile VAD frames, so a frame's residual is complete when its last sample
    // arrives; each VAD frame gets the gating figures of its own blocks.
    if (this.up) {
      // A narrowband call given 16 kHz audio (its upsampled twin): back to 8 kHz, where it carries all it has.
      const n = Math.floor(x.length / 2);
      this.pushNarrow(this.decimated(x, 0, n));
      return;
    }
    this.aec.process(x, this.samples);
    this.samples += x.length;
  }

  /** A narrowband call's audio at its own 8 kHz, contiguous with the previous call. */
  pushNarrow(x: Float32Array): void {
    if (!this.up) throw new Error('pushNarrow on a 16 kHz call');
    this.aec.process(x, this.narrowPos);
    this.narrowPos += x.length;
    this.samples += x.length * this.scale;
  }

  /** One residual block from the canceller (blocks tile VAD frames): a frame is complete with its last block. */
  private block(start: number, r: Float32Array, wire: Float32Array): void {
    // Someone listens (a recogniser): the block's samples are the canceller's scratch, so they are copied.
    if (this.wantsResidual) this.residual.push({ start, samples: r.slice() });
    if (this.fill === 0) {
      this.frameBuf = this.spare.pop() ?? new Float32Array(VAD_FRAME);
      this.narrowBuf = this.narrowVad && this.up ? (this.spareNarrow.pop() ?? new Float32Array(VAD_FRAME / this.scale)) : null;
    }
    // The canceller's blocks tile frames at both rates: block k of a frame starts at fill / scale in its 8 kHz twin.
    this.narrowBuf?.set(wire, this.fill / this.scale);
    if (this.wireRes && this.wireMic) {
      this.wireRes.set(wire, this.fill / this.scale);
      this.wireMic.set(this.aec.blockMic, this.fill / this.scale);
    }
    this.frameBuf.set(r, this.fill);
    this.fill += r.length;
    if (this.fill < VAD_FRAME) return;
    this.fill = 0;
    const info = this.aec.takeFrameInfo();
    const index = this.nextIndex++;
    const f: PendingFrame = {
      index,
      samples: this.frameBuf,
      verdict: this.aec.echoVerdict(info, VAD_FRAME / this.scale),
      resetBefore: index === this.resetAt,
      info,
    };
    if (this.bandFx && this.wireRes && this.wireMic) {
      const b = (f.bands = new Float32Array(2 * N_BANDS));
      this.bandFx.bands(this.wireRes, null, b, 0);
      this.bandFx.bands(this.wireMic, this.wireRes, b, N_BANDS);
    }
    if (this.narrowBuf) {
      f.narrow = this.narrowBuf;
      this.narrowBuf = null;
    }
    if (this.trace) f.trace = { res: info.residualEnergy, exp: info.expectedEcho, ref: info.refEnergy, locked: info.locked, excess: info.excess, noise: info.noise };
    this.frames.push(f);
  }

  /** Played audio at 16 kHz whose first sample plays at inbound sample `at`. */
  addReference(at: number, samples: Float32Array, path: EchoPath): void {
    if (!this.up) {
      this.aec.addReference(at, samples, path);
      return;
    }
    // The reference of a narrowband call is its 8 kHz prompt upsampled: every other sample is that prompt again
    // (up to the upsampler's fixed delay, which the delay search absorbs).
    // `at` may be negative (a prompt starts playing before the first inbound audio): the parity of a negative
    // number in JavaScript is −1, not 1.
    const first = ((at % 2) + 2) % 2;
    const n = Math.floor((samples.length - first + 1) / 2);
    if (n > 0) this.aec.addReference((at + first) / 2, this.decimated(samples, first, n), path);
  }

  truncateReference(from: number): void {
    this.aec.truncateReference(Math.ceil(from / this.scale));
  }

  /** x[first], x[first + 2], … (n of them), in a scratch buffer the canceller copies from. */
  private decimated(x: Float32Array, first: number, n: number): Float32Array {
    if (this.refScratch.length < n) this.refScratch = new Float32Array(Math.max(n, 640));
    const out = this.refScratch.subarray(0, n);
    for (let i = 0; i < n; i++) out[i] = x[first + 2 * i];
    return out;
  }

  recheck(): void {
    this.aec.recheck();
  }

  // The take* methods run for every call on every shard tick: hand back a shared empty array when there is
  // nothing, rather than allocating a fresh one per call per tick.
  /** The frames completed since the last call. Their `samples` stay valid until the next call, no longer. */
  takeFrames(): readonly PendingFrame[] {
    if (this.lent.length) {
      for (const b of this.lent) this.spare.push(b);
      this.lent.length = 0;
    }
    if (this.lentNarrow.length) {
      for (const b of this.lentNarrow) this.spareNarrow.push(b);
      this.lentNarrow.length = 0;
    }
    if (this.frames.length === 0) return NONE;
    const f = this.frames;
    this.frames = [];
    for (const x of f) {
      this.lent.push(x.samples);
      if (x.narrow) this.lentNarrow.push(x.narrow);
    }
    return f;
  }

  takeResidual(): readonly { start: number; samples: Float32Array }[] {
    if (this.residual.length === 0) return NONE;
    const r = this.residual;
    this.residual = [];
    return r;
  }

  takeEvents(): readonly EchoEvent[] {
    if (this.events.length === 0) return NONE;
    const e = this.events;
    this.events = [];
    return e;
  }

  /**
   * The near-end classifier's probability that a scored frame is the callee speaking (−1 without a classifier).
   * Called once per frame, in order: the features keep per-call state.
   */
  nearEnd(f: PendingFrame, prob: number, echo: boolean): number {
    const useInterruption = this.interruptionFx && this.interruptionModel && f.bands;
    if (!useInterruption && (!this.nearEndFx || !this.nearEndModel)) return -1;
    // The frame's figures, written into this call's one object: the features read them at once and keep nothing.
    const g = this.figures;
    const i = f.info;
    g.prob = prob;
    g.res = i.residualEnergy;
    g.exp = i.expectedEcho;
    g.noise = i.noise;
    g.excess = i.excess;
    g.mic = i.mic;
    g.est = i.echoEstimate;
    g.ref = i.refEnergy;
    g.locked = i.locked;
    g.verdict = f.verdict;
    g.echo = echo;
    if (useInterruption) {
      // The interruption classifier, when the worker has one, in the same slot (bargeIn.interruption).
      for (let b = 0; b < 2 * N_BANDS; b++) this.bandsDb[b] = 10 * Math.log10(f.bands![b] + 1e-10);
      this.interruptionFx!.next(g, this.bandsDb, this.interruptionX);
      return this.interruptionModel!.score(this.interruptionX);
    }
    this.nearEndFx!.next(g, this.nearEndX);
    return this.nearEndModel!.score(this.nearEndX);
  }

  /**
   * A scored frame's level over the call's speech-like background, dB (+Infinity: no such background). Called once
   * per frame, in order: the history is per call.
   */
  overBackground(f: PendingFrame, prob: number): number {
    return this.background.next(f.info.residualEnergy, prob);
  }

  /** Whether a scored frame counts as echo rather than callee speech. */
  isEcho(f: PendingFrame, prob: number): boolean {
    return f.index <= this.settleUntil || f.verdict === 'hard' || (f.verdict === 'soft' && prob < SOFT_ECHO_PROB);
  }
}
