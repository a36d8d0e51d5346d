// Main-thread side of listening. Calls are sharded over listen workers (listen.worker.ts); each call's inbound
// audio, the prompt reference and control ops are packed into one message per shard per tick, so the echo
// canceller and the VAD of all of a shard's calls run off the event loop, batched, and the event loop only
// moves bytes. Ordered: a shard applies a tick's ops in the order they were made, and ticks in sequence.
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { EchoConfig } from '../config.js';
import { spawnWorker } from '../infer/spawn.js';
import { metrics } from '../ops/metrics.js';
import type { EchoPath } from './EchoCanceller.js';
import type { EchoEvent } from './InboundAudio.js';
import {
  FLAG_NARROW_VAD,
  FLAG_RESIDUAL,
  FLAG_TRACE,
  FRAME_WIDTH,
  NARROW_RATE,
  NARROW_WIDTH,
  OP_WIDTH,
  Op,
  RESIDUAL_WIDTH,
  TRACE_WIDTH,
  type ListenReply,
  type ListenRequest,
} from './listenProtocol.js';
import type { SileroGraph } from './vad/SileroOrt.js';
import { VAD_FRAME, VAD_FRAME_MS, VAD_RATE } from './vad/VadModel.js';

export type VadBackend = 'silero-ort' | 'sherpa-silero' | 'sherpa-ten';

export interface ListenFrame {
  /** Index of the 32 ms frame on the call's inbound timeline (0-based). */
  index: number;
  prob: number;
  /** The echo canceller's verdict: this frame may be our own prompt, not the callee. */
  echo: boolean;
  /** The near-end classifier's probability that this frame is the callee (−1: no classifier). */
  nearEnd: number;
  /** Level over the call's speech-like background, dB (+Infinity: none; BackgroundLevel). */
  overBackgroundDb: number;
  /** Wall ms from the audio completing this frame reaching the main thread to its verdict coming back. */
  latencyMs: number;
  /** Gating figures (energies per frame), only for sessions opened with `trace`. */
  trace?: { res: number; exp: number; ref: number; locked: boolean };
}

export interface ListenHandlers {
  frame(f: ListenFrame): void;
  /** Echo-cancelled 16 kHz audio, for sessions with `residual` on. */
  residual?(samples: Float32Array, start: number): void;
  echo?(ev: EchoEvent): void;
  /** A frame as the 8 kHz VAD scored it (8 kHz sessions while `setNarrowVad(true)`; same index grid as `frame`). */
  narrowFrame?(f: NarrowFrame): void;
}

export interface NarrowFrame {
  index: number;
  prob: number;
  echo: boolean;
}

export interface ListenStats {
  shards: number;
  ticks: number;
  runs: number;
  frames: number;
  sessions: number;
  /** Summed over shards: time in echo cancellation + framing, in VAD inference, and the threads' CPU, ms. */
  echoMs: number;
  inferMs: number;
  cpuMs: number;
}

export interface ListenOptions {
  backend: VadBackend;
  modelPath: string;
  tickMs: number;
  threads: number;
  /** silero-ort: run the batched rewrite of the graph (default) or the original. */
  graph?: SileroGraph;
  /** Listen workers; default one per core. */
  shards?: number;
  echo: EchoConfig;
  /** Samples (16 kHz) a shard's outgoing message may hold while its worker is busy; unset = unbounded. */
  maxPendingSamples?: number;
  /** Weights of the near-end frame classifier (bargeIn.nearEnd); unset: frames carry no near-end probability. */
  nearEnd?: string | null;
  /** Weights of the interruption classifier (bargeIn.interruption); frames then carry its probability instead. */
  interruption?: string | null;
  /** A frame that is a DTMF key counts as silence (vad.rejectDtmf); default true. */
  rejectDtmf?: boolean;
  /**
   * Load the VAD a second time in Silero's 8 kHz mode, so 8 kHz sessions may ask for their wire-rate residual to be
   * scored by it too (`setNarrowVad`; consent.narrowbandVad). silero-ort only; default false.
   */
  narrowVad?: boolean;
}

export interface SessionOptions {
  /** Echo-cancelled audio back to `handlers.residual`. */
  residual?: boolean;
  trace?: boolean;
  /** The wire rate of `pushPcm16`: 16000 (default) or 8000, which the worker upsamples (2:1, so exactly). */
  rate?: number;
}

export class ListenSession {
  locked = false;
  delaySamples = -1;
  private flags: number;
  /** [end sample, arrival wall ms] per pushed chunk not yet fully scored, for frame latency. */
  private arrivals: number[] = [];
  private pushed = 0;
  /** The wire rate of `pushPcm16`. */
  private readonly rate: number;
  closed = false;

  constructor(
    readonly slot: number,
    private readonly shard: Shard,
    readonly handlers: ListenHandlers,
    opts: SessionOptions,
  ) {
    this.rate = opts.rate ?? VAD_RATE;
    this.flags = (opts.residual ? FLAG_RESIDUAL : 0) | (opts.trace ? FLAG_TRACE : 0);
    shard.op(Op.open, slot, this.flags, this.rate);
  }

  /** 16 kHz inbound audio, contiguous with the previous push. False: the shard's backlog is full, nothing taken. */
  push(x: Float32Array): boolean {
    if (this.closed || x.length === 0) return true;
    if (!this.shard.hasRoom(x.length)) return false;
    this.shard.audio(this.slot, x);
    this.advance(x.length);
    return true;
  }

  /**
   * pcm16 at the session's wire rate as it came off the wire, converted straight into the shard's outgoing message.
   * 8 kHz audio is echo-cancelled at 8 kHz and upsampled for the VAD by the listen worker, off the event loop (at 200
   * narrowband calls the filter was a sixth of the main thread's time). Returns the 16 kHz samples this adds to the
   * inbound timeline, or -1 when the shard's backlog (`maxPendingSamples`) has no room for it: nothing was taken.
   */
  pushPcm16(pcm: Int16Array): number {
    if (this.closed || pcm.length === 0) return 0;
    if (!this.shard.hasRoom(pcm.length)) return -1;
    this.shard.audioPcm16(this.slot, pcm, this.rate);
    const n = this.rate === VAD_RATE ? pcm.length : pcm.length * 2;
    this.advance(n);
    return n;
  }

  private advance(n: number): void {
    const before = this.pushed;
    this.pushed += n;
    this.arrivals.push(this.pushed, performance.now());
    // A completed VAD frame should not wait for the next timer tick.
    if (Math.floor(this.pushed / VAD_FRAME) !== Math.floor(before / VAD_FRAME)) this.shard.frameReady();
  }

  /** Prompt audio that will play from inbound sample `at` (16 kHz). */
  addReference(at: number, samples: Float32Array, path: EchoPath): void {
    // Over the backlog cap a reference stretch is dropped (the canceller misses it), not queued without bound.
    if (!this.closed && this.shard.hasRoom(samples.length)) this.shard.ref(this.slot, at, samples, path);
  }

  /** The same for 16 kHz pcm16 prompt frames: straight into the shard's message, no Float32Array per frame. */
  addReferencePcm16(at: number, pcm: Int16Array, path: EchoPath): void {
    if (!this.closed && this.shard.hasRoom(pcm.length)) this.shard.refPcm16(this.slot, at, pcm, path);
  }

  truncateReference(from: number): void {
    if (!this.closed) this.shard.op(Op.truncate, this.slot, from);
  }

  /** Speech was detected during a prompt on a line judged echo-free: search the echo path once more. */
  recheck(): void {
    if (!this.closed) this.shard.op(Op.recheck, this.slot);
  }

  setResidual(on: boolean): void {
    this.setFlag(FLAG_RESIDUAL, on);
  }

  /**
   * An 8 kHz session: also score its wire-rate residual with the 8 kHz VAD (`handlers.narrowFrame`), from a fresh
   * model state each time it is turned on, from the next whole frame. Ignored at 16 kHz and by workers started
   * without `narrowVad`.
   */
  setNarrowVad(on: boolean): void {
    if (this.rate === NARROW_RATE) this.setFlag(FLAG_NARROW_VAD, on);
  }

  private setFlag(flag: number, on: boolean): void {
    const f = on ? this.flags | flag : this.flags & ~flag;
    if (f !== this.flags && !this.closed) this.shard.op(Op.flags, this.slot, (this.flags = f));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.shard.release(this);
  }

  /** @internal */
  deliver(index: number, prob: number, echo: boolean, nearEnd: number, overBackgroundDb: number, now: number, trace?: ListenFrame['trace']): void {
    const end = (index + 1) * VAD_FRAME;
    let i = 0;
    while (i + 2 < this.arrivals.length && this.arrivals[i] < end) i += 2;
    const latencyMs = this.arrivals.length > i ? now - this.arrivals[i + 1] : 0;
    if (i) this.arrivals.splice(0, i);
    this.handlers.frame({ index, prob, echo, nearEnd, overBackgroundDb, latencyMs, trace });
  }

  /** @internal */
  onEcho(ev: EchoEvent): void {
    if (ev.type === 'lock') {
      this.locked = true;
      this.delaySamples = ev.delaySamples;
    }
    this.handlers.echo?.(ev);
  }
}

const QUIET_GAP_MS = 2.5;
const BUSY_GAP_MS = 10;
const GAP_QUIET_CALLS = 32;
const GAP_BUSY_CALLS = 64;

/**
 * Least time between two messages to one shard when frames are waiting, by how many calls the shard holds. Each
 * message is a thread wake-up on both sides and a model run whose fixed cost is shared by its batch, so a busy shard
 * waits to batch: at 250 calls (125 a shard), 4 ms meant ~250 messages a second per shard and small batches, and
 * 10 ms halved the messaging. A shard with few calls has the CPU to spare, and the wait is latency on every frame:
 * at 50 calls a 2.5 ms gap took the frame latency's median from ~4.5 ms to ~1.5 ms (bench, 2026-12-07) for 1–2 ms
 * more gateway CPU per call-second (+8–19 %). Between 32 and 64 calls a shard the gap grows linearly from the one to
 * the other; at 64 (128 calls on two shards, `limits.maxCalls` on 2 cores) and above it is 10 ms as before.
 */
export function flushGapMs(calls: number): number {
  const t = Math.min(1, Math.max(0, (calls - GAP_QUIET_CALLS) / (GAP_BUSY_CALLS - GAP_QUIET_CALLS)));
  return QUIET_GAP_MS + t * (BUSY_GAP_MS - QUIET_GAP_MS);
}

class Shard {
  readonly sessions = new Map<number, ListenSession>();
  /** The next request being filled: ops (OP_WIDTH numbers each) and the audio they point into. */
  private ops: Float64Array = new Float64Array(1024);
  private opsLen = 0;
  private pool: Float32Array = new Float32Array(1 << 16);
  private fill = 0;
  /** Buffers the worker handed back (see ListenRequest), and its last `frames` to hand back in turn. */
  private spareOps: Float64Array | null = null;
  private sparePool: Float32Array | null = null;
  private recycle: Float64Array | null = null;
  private inflight: { id: number; freed: number[] } | null = null;
  private closing: number[] = [];
  private freeSlots: number[] = [];
  private nextSlot = 1;
  private nextReq = 1;
  private lastCpuMs = 0;
  failure: string | null = null;
  readonly st = { ticks: 0, runs: 0, frames: 0, echoMs: 0, inferMs: 0, cpuMs: 0 };

  constructor(
    readonly index: number,
    private readonly worker: Worker,
    private readonly maxPending = Infinity,
  ) {
    worker.on('message', (m: ListenReply) => this.onReply(m));
    worker.on('error', (e) => this.fail(e.message));
    metrics.listenWorkerUp.set({ shard: String(index) }, 1);
  }

  private fail(message: string): void {
    this.failure = message;
    metrics.listenWorkerUp.set({ shard: String(this.index) }, 0);
  }

  /** Whether `n` more samples fit in the outgoing message under the backlog cap. */
  hasRoom(n: number): boolean {
    return this.fill + n <= this.maxPending;
  }

  /** Samples waiting to go to the worker. */
  get pending(): number {
    return this.fill;
  }

  allocSlot(): number {
    return this.freeSlots.pop() ?? this.nextSlot++;
  }

  op(op: number, slot: number, a = 0, b = 0, c = 0): void {
    if (this.opsLen + OP_WIDTH > this.ops.length) {
      const bigger = new Float64Array(this.ops.length * 2);
      bigger.set(this.ops.subarray(0, this.opsLen));
      this.ops = bigger;
    }
    const o = this.ops;
    const at = this.opsLen;
    o[at] = op;
    o[at + 1] = slot;
    o[at + 2] = a;
    o[at + 3] = b;
    o[at + 4] = c;
    this.opsLen = at + OP_WIDTH;
  }

  audio(slot: number, x: Float32Array): void {
    this.op(Op.audio, slot, this.put(x), x.length);
  }

  ref(slot: number, at: number, x: Float32Array, path: EchoPath): void {
    // `at` and the path share one number: 2·at + path stays exact far beyond any call's length.
    this.op(Op.ref, slot, this.put(x), x.length, at * 2 + path);
  }

  refPcm16(slot: number, at: number, pcm: Int16Array, path: EchoPath): void {
    this.op(Op.ref, slot, this.putPcm16(pcm), pcm.length, at * 2 + path);
  }

  audioPcm16(slot: number, pcm: Int16Array, rate: number): void {
    if (rate === VAD_RATE) this.op(Op.audio, slot, this.putPcm16(pcm), pcm.length);
    else this.op(Op.audioNarrow, slot, this.putPcm16(pcm), pcm.length, rate);
  }

  private put(x: Float32Array): number {
    const at = this.reserve(x.length);
    this.pool.set(x, at);
    return at;
  }

  /** 16 kHz pcm16 converted as int16ToFloat does, written where the message holds it. */
  private putPcm16(pcm: Int16Array): number {
    const at = this.reserve(pcm.length);
    const pool = this.pool;
    for (let i = 0; i < pcm.length; i++) pool[at + i] = pcm[i] / 32768;
    return at;
  }

  /** Room for `n` samples in the outgoing message; returns where they go. */
  private reserve(n: number): number {
    if (this.fill + n > this.pool.length) {
      const bigger = new Float32Array(Math.max(this.pool.length * 2, this.fill + n));
      bigger.set(this.pool.subarray(0, this.fill));
      this.pool = bigger;
    }
    const at = this.fill;
    this.fill += n;
    return at;
  }

  private soon = false;
  private lastFlush = 0;

  /**
   * Some call completed a frame: send as soon as the shard is free, but at most every `flushGapMs`, so a busy shard
   * still gets frames in batches (what it has queued meanwhile goes in one message) and a quiet one answers fast.
   */
  frameReady(): void {
    if (this.soon || this.inflight) return;
    this.soon = true;
    const wait = this.lastFlush + flushGapMs(this.sessions.size) - performance.now();
    const go = () => {
      this.soon = false;
      this.flush();
    };
    if (wait > 0) setTimeout(go, wait);
    else setImmediate(go);
  }

  release(s: ListenSession): void {
    this.sessions.delete(s.slot);
    this.op(Op.close, s.slot);
    // The slot is reused only once the shard has answered the tick that closes it, so no late frame of this call
    // can reach the next one.
    this.closing.push(s.slot);
  }

  flush(): void {
    if (this.inflight || this.opsLen === 0) return;
    this.lastFlush = performance.now();
    const req: ListenRequest = {
      op: 'tick',
      id: this.nextReq++,
      ops: this.ops.subarray(0, this.opsLen),
      samples: this.pool.subarray(0, this.fill),
      recycle: this.recycle,
    };
    const transfer = [this.ops.buffer as ArrayBuffer, this.pool.buffer as ArrayBuffer];
    if (this.recycle) transfer.push(this.recycle.buffer as ArrayBuffer);
    this.inflight = { id: req.id, freed: this.closing };
    this.closing = [];
    // The buffers just sent come back with the answer; meanwhile the spares from the last answer take over.
    this.ops = this.spareOps ?? new Float64Array(this.ops.length);
    this.pool = this.sparePool ?? new Float32Array(this.pool.length);
    this.spareOps = null;
    this.sparePool = null;
    this.recycle = null;
    this.opsLen = 0;
    this.fill = 0;
    this.st.ticks++;
    this.worker.postMessage(req, transfer);
  }

  private onReply(m: ListenReply): void {
    if (m.op === 'failed') {
      this.fail(m.message);
      return;
    }
    if (m.op !== 'ticked' || !this.inflight || m.id !== this.inflight.id) return;
    this.freeSlots.push(...this.inflight.freed);
    this.inflight = null;
    this.spareOps = new Float64Array(m.returned.ops.buffer);
    this.sparePool = new Float32Array(m.returned.samples.buffer);
    this.recycle = m.frames;
    const nFrames = m.frames.length / FRAME_WIDTH;
    this.st.runs += m.runs;
    this.st.frames += nFrames;
    this.st.echoMs += m.echoMs;
    this.st.inferMs += m.inferMs;
    if (nFrames) {
      metrics.vadBatchFrames.observe(nFrames);
      metrics.vadComputeSeconds.observe(m.inferMs / 1000);
    }
    if (m.cpuMs >= 0) {
      metrics.listenCpuSeconds.inc({ shard: String(this.index) }, Math.max(0, m.cpuMs - this.lastCpuMs) / 1000);
      this.lastCpuMs = m.cpuMs;
      this.st.cpuMs = m.cpuMs;
    }
    metrics.listenStageSeconds.inc({ stage: 'echo' }, m.echoMs / 1000);
    metrics.listenStageSeconds.inc({ stage: 'vad' }, m.inferMs / 1000);
    const now = performance.now();
    for (const { slot, ev } of m.events) this.sessions.get(slot)?.onEcho(ev);
    // Residual before frames: listeners hold the audio a speech decision refers to by the time it arrives.
    if (m.residual && m.residualIndex) {
      const r = m.residualIndex;
      for (let i = 0; i < r.length; i += RESIDUAL_WIDTH) {
        this.sessions.get(r[i])?.handlers.residual?.(m.residual.subarray(r[i + 2], r[i + 2] + r[i + 3]), r[i + 1]);
      }
    }
    // Gating figures only come for calls traced at log level trace.
    let traces: Map<string, ListenFrame['trace']> | null = null;
    if (m.traces) {
      const t = m.traces;
      traces = new Map();
      for (let i = 0; i < t.length; i += TRACE_WIDTH) traces.set(`${t[i]}:${t[i + 1]}`, { res: t[i + 2], exp: t[i + 3], ref: t[i + 4], locked: t[i + 5] === 1 });
    }
    const f = m.frames;
    for (let i = 0; i < f.length; i += FRAME_WIDTH) {
      const s = this.sessions.get(f[i]);
      if (s) s.deliver(f[i + 1], f[i + 2], f[i + 3] === 1, f[i + 4], f[i + 5], now, traces?.get(`${f[i]}:${f[i + 1]}`));
    }
    if (m.narrow) {
      const n = m.narrow;
      for (let i = 0; i < n.length; i += NARROW_WIDTH) this.sessions.get(n[i])?.handlers.narrowFrame?.({ index: n[i + 1], prob: n[i + 2], echo: n[i + 3] === 1 });
    }
    // Frames that completed while this tick was out go now rather than on the next timer tick.
    if (this.opsLen) this.frameReady();
  }
}

const shared = new Map<string, Promise<ListenService>>();

export { NARROW_RATE };

export class ListenService {
  private users = 0;
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly shards: Shard[],
    readonly backend: string,
    /** How the model runs (for silero-ort, which graph and why), for the start-up log. */
    readonly detail: string,
    /** Set when the model runs other than configured (the batched graph fell back to the original, and why). */
    readonly warning: string | undefined,
    /** The workers also hold the 8 kHz VAD (`ListenOptions.narrowVad`, silero-ort): `setNarrowVad` does something. */
    readonly narrowVad = false,
  ) {}

  static async start(opts: ListenOptions): Promise<ListenService> {
    // One service per configuration for the whole process: onnxruntime-node's addon cannot be loaded again in a
    // new thread once a thread that loaded it has ended, so the workers live as long as the process.
    // One per core: with fewer, a shard near saturation delays every call on it (measured on 2 cores: one shard
    // collapsed at 150 calls, two held wall latency within 20 % of budget).
    const shards = opts.shards ?? availableParallelism();
    const key = JSON.stringify({ ...opts, shards });
    let p = shared.get(key);
    if (!p) {
      p = ListenService.spawn({ ...opts, shards });
      shared.set(key, p);
      p.catch(() => shared.delete(key));
    }
    const svc = await p;
    if (svc.users++ === 0) svc.startTimer(opts.tickMs);
    return svc;
  }

  private static async spawn(opts: ListenOptions & { shards: number }): Promise<ListenService> {
    const workers = Array.from({ length: opts.shards }, () =>
      spawnWorker(new URL('./listen.worker.ts', import.meta.url), {
        backend: opts.backend,
        modelPath: opts.modelPath,
        threads: opts.threads,
        graph: opts.graph ?? 'batched',
        echo: opts.echo,
        nearEnd: opts.nearEnd ?? null,
        interruption: opts.interruption ?? null,
        rejectDtmf: opts.rejectDtmf ?? true,
        narrowVad: opts.narrowVad ?? false,
      }),
    );
    const loaded = await Promise.all(
      workers.map(
        (worker) =>
          new Promise<{ name: string; detail: string; warning?: string }>((resolve, reject) => {
            const onMsg = (m: ListenReply) => {
              if (m.op === 'ready') resolve(m);
              else if (m.op === 'failed') reject(new Error(`VAD ${opts.backend} failed to load: ${m.message}`));
              else return;
              worker.off('message', onMsg);
            };
            worker.on('message', onMsg);
            worker.once('error', reject);
          }),
      ),
    );
    // Held until loaded (an unref'd worker would let a script exit mid-load); afterwards calls keep the process up.
    for (const w of workers) w.unref();
    const svc = new ListenService(
      workers.map((w, i) => new Shard(i, w, opts.maxPendingSamples)),
      loaded[0].name,
      loaded[0].detail,
      loaded[0].warning,
      (opts.narrowVad ?? false) && opts.backend === 'silero-ort',
    );
    return svc;
  }

  /** The flush timer runs while some gateway holds the service: a process that stopped its gateways (a test run,
   *  an embedding) keeps the workers (see start) but not a timer firing every tick for nobody. */
  private startTimer(tickMs: number): void {
    this.timer = setInterval(() => {
      for (const s of this.shards) s.flush();
    }, tickMs);
    this.timer.unref();
  }

  /** Whether the flush timer runs (while at least one gateway holds the service). */
  get ticking(): boolean {
    return this.timer !== null;
  }

  get healthy(): boolean {
    return this.shards.every((s) => s.failure === null);
  }

  /** Opens a call's listening session on the least loaded shard. */
  open(handlers: ListenHandlers, opts: SessionOptions = {}): ListenSession {
    const rate = opts.rate ?? VAD_RATE;
    if (rate !== VAD_RATE && rate !== NARROW_RATE) throw new Error(`listen: wire rate ${rate} Hz (8000 or 16000 only)`);
    const shard = this.shards.reduce((a, b) => (b.sessions.size < a.sessions.size ? b : a));
    const s = new ListenSession(shard.allocSlot(), shard, handlers, opts);
    shard.sessions.set(s.slot, s);
    return s;
  }

  stats(): ListenStats {
    const st: ListenStats = { shards: this.shards.length, ticks: 0, runs: 0, frames: 0, sessions: 0, echoMs: 0, inferMs: 0, cpuMs: 0 };
    for (const s of this.shards) {
      st.ticks += s.st.ticks;
      st.runs += s.st.runs;
      st.frames += s.st.frames;
      st.echoMs += s.st.echoMs;
      st.inferMs += s.st.inferMs;
      st.cpuMs += s.st.cpuMs;
      st.sessions += s.sessions.size;
    }
    return st;
  }

  /** Gives up this user's hold; the workers stay for the process (see start). */
  async close(): Promise<void> {
    this.users = Math.max(0, this.users - 1);
    if (this.users === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

export { VAD_FRAME, VAD_FRAME_MS };
