// Main-thread side of listening. Calls are sharded over listen workers (listen.worker.ts); each call's inbound
// audio, the prompt reference and control ops are packed into one message per shard per tick, so the echo
// canceller and the VAD of all of a shard's calls run off the event loop, batched, and the event loop only
// moves bytes. Ordered: a shard applies a tick's ops in the order they were made, and ticks in sequence.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { EchoConfig } from '../config.js';
import { spawnWorker } from '../infer/spawn.js';
import { rootLogger } from '../ops/log.js';
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
  type ListenTestFault,
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
  /**
   * The shard's worker failed: this session is closed and no frame will come. Called at once for every session on
   * the shard, whatever its backlog; a session without the handler just goes quiet.
   */
  failed?(message: string): void;
}

/** No listen shard is serving: every worker failed and none is replaced yet (or they were given up on). */
export class ListenUnavailable extends Error {
  readonly code = 'listen_unavailable';
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
  /** Replacing a failed worker (see RESPAWN); tests shorten it. */
  respawn?: Partial<RespawnPolicy>;
}

export interface RespawnPolicy {
  /** Wait before the first attempt, ms; doubled after each attempt that fails, up to `maxMs`. */
  firstMs: number;
  maxMs: number;
  /** Attempts in a row before the shard is given up on (`ListenService.abandoned`; /healthz then answers 503). */
  attempts: number;
  /** A replacement that has not said `ready` by then counts as a failed attempt, ms. */
  readyTimeoutMs: number;
  /**
   * A worker that has not answered a tick for this long is taken for failed, ms: a native call that never returns
   * leaves the thread alive and silent, and its calls deaf, with no error to say so. A tick takes milliseconds, tens
   * at 150 calls on 2 cores; 5 s is far past any load the gateway admits, and long past every latency budget.
   */
  stuckMs: number;
}

/**
 * 1 s doubling to 30 s, eight attempts: about two minutes, long past a passing cause (memory pressure, a start-up
 * race), short enough that a process that cannot load its model any more is restarted by its orchestrator soon.
 */
const RESPAWN: RespawnPolicy = { firstMs: 1000, maxMs: 30_000, attempts: 8, readyTimeoutMs: 60_000, stuckMs: 5000 };
/** A replacement that served this long has recovered: a later failure starts the backoff afresh. */
const STABLE_MS = 60_000;

const log = rootLogger.child({ mod: 'listen' });

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

  /** @internal Which shard serves this session (tests). */
  get shardIndex(): number {
    return this.shard.index;
  }

  /** @internal The shard's worker failed. Closed without a word to the shard: its state went with the worker. */
  lost(message: string): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers.failed?.(message);
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
  /** Null from a failure until a replacement worker is attached. */
  private worker: Worker | null = null;
  private armedAt = 0;
  /** Replacements tried since the shard last served a while (STABLE_MS). */
  attempts = 0;
  /** A replacement is scheduled or loading. */
  replacing = false;
  /** The next request being filled: ops (OP_WIDTH numbers each) and the audio they point into. */
  private ops: Float64Array = new Float64Array(1024);
  private opsLen = 0;
  private pool: Float32Array = new Float32Array(1 << 16);
  private fill = 0;
  /** Buffers the worker handed back (see ListenRequest), and its last `frames` to hand back in turn. */
  private spareOps: Float64Array | null = null;
  private sparePool: Float32Array | null = null;
  private recycle: Float64Array | null = null;
  private inflight: { id: number; freed: number[]; sentAt: number } | null = null;
  private closing: number[] = [];
  private freeSlots: number[] = [];
  private nextSlot = 1;
  private nextReq = 1;
  private lastCpuMs = 0;
  failure: string | null = null;
  readonly st = { ticks: 0, runs: 0, frames: 0, echoMs: 0, inferMs: 0, cpuMs: 0 };

  constructor(
    readonly index: number,
    worker: Worker,
    private readonly maxPending: number,
    private readonly failed: (s: Shard) => void,
  ) {
    this.attach(worker);
  }

  /** Serves with `worker` (loaded: it said `ready`) from now on. */
  attach(worker: Worker): void {
    this.worker = worker;
    this.failure = null;
    this.armedAt = performance.now();
    // Only the current worker speaks for the shard: a failed one's last messages and its exit are not news.
    worker.on('message', (m: ListenReply) => {
      if (this.worker === worker) this.onReply(m);
    });
    worker.on('error', (e) => {
      if (this.worker === worker) this.fail(e.message);
    });
    // An exit without an error (process.exit in the thread, a terminate from elsewhere) deafens the calls all the same.
    worker.on('exit', (code) => {
      if (this.worker === worker) this.fail(`the listen worker exited (code ${code})`);
    });
    metrics.listenWorkerUp.set({ shard: String(this.index) }, 1);
    // Ended between its `ready` and now: its 'exit' went by before the listener above.
    if (worker.threadId < 0) this.fail('the listen worker exited as it loaded');
  }

  /** Sets the up gauge from this shard's state. */
  publish(): void {
    metrics.listenWorkerUp.set({ shard: String(this.index) }, this.failure === null ? 1 : 0);
  }

  /** Whether the current worker served long enough to count as recovered. */
  get stable(): boolean {
    return performance.now() - this.armedAt >= STABLE_MS;
  }

  /**
   * The worker failed: its calls are ended now rather than when their unsent audio fills the backlog (with no answer
   * to the tick in flight nothing is sent again), and the shard starts afresh for a replacement.
   */
  private fail(message: string): void {
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    this.failure = message;
    metrics.listenWorkerUp.set({ shard: String(this.index) }, 0);
    metrics.listenWorkerFailures.inc({ shard: String(this.index) });
    log.error({ shard: this.index, calls: this.sessions.size, err: message }, 'listen worker failed: ending its calls');
    // One that answered `failed` still runs, its calls' state half-updated: it is not trusted with another tick.
    worker.terminate().catch(() => undefined);
    const lost = [...this.sessions.values()];
    this.reset();
    for (const s of lost) {
      try {
        s.lost(message);
      } catch (e) {
        log.error({ shard: this.index, err: e }, 'ending a call of a failed listen worker threw');
      }
    }
    this.failed(this);
  }

  /** The state a fresh worker expects: no calls, no slots, nothing queued or in flight. */
  private reset(): void {
    this.sessions.clear();
    this.ops = new Float64Array(1024);
    this.opsLen = 0;
    this.pool = new Float32Array(1 << 16);
    this.fill = 0;
    this.spareOps = null;
    this.sparePool = null;
    this.recycle = null;
    this.inflight = null;
    this.closing = [];
    this.freeSlots = [];
    this.nextSlot = 1;
    this.lastCpuMs = 0;
  }

  /** @internal */
  post(m: ListenTestFault): void {
    this.worker?.postMessage(m);
  }

  /** Fails the shard when its worker has left a tick unanswered for `stuckMs` (RespawnPolicy.stuckMs). */
  watch(now: number, stuckMs: number): void {
    if (this.inflight && now - this.inflight.sentAt >= stuckMs) this.fail(`the listen worker has not answered a tick for ${Math.round(now - this.inflight.sentAt)} ms`);
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
    if (this.inflight || this.opsLen === 0 || !this.worker) return;
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
    this.inflight = { id: req.id, freed: this.closing, sentAt: this.lastFlush };
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

type WorkerOptions = ListenOptions & { shards: number };
type Loaded = { worker: Worker; name: string; detail: string; warning?: string };

/**
 * onnxruntime-node's addon cannot be loaded in a new thread once every thread that loaded it has ended: the new
 * thread's require fails with "Module did not self-register" (tried 2026-12-08 with the listen worker: while another
 * shard's thread still held it a replacement loaded and scored, after the last one ended none could). So the main
 * thread holds it, loaded and never run (~40 ms and under 8 MB, once), and a failed listen worker can always be
 * replaced — in a one-shard service too, or when every shard failed at once.
 */
let ortHeld = false;

function holdOrt(): void {
  if (ortHeld) return;
  ortHeld = true;
  try {
    createRequire(import.meta.url)('onnxruntime-node');
  } catch (e) {
    log.warn({ err: e }, 'onnxruntime-node could not be held on the main thread: a failed listen worker may not be replaceable');
  }
}

/** Starts a listen worker and waits until it has loaded its model; one that fails to or takes over `timeoutMs` is ended. */
function loadWorker(opts: WorkerOptions, timeoutMs = Infinity): Promise<Loaded> {
  const worker = spawnWorker(new URL('./listen.worker.ts', import.meta.url), {
    backend: opts.backend,
    modelPath: opts.modelPath,
    threads: opts.threads,
    graph: opts.graph ?? 'batched',
    echo: opts.echo,
    nearEnd: opts.nearEnd ?? null,
    interruption: opts.interruption ?? null,
    rejectDtmf: opts.rejectDtmf ?? true,
    narrowVad: opts.narrowVad ?? false,
  });
  return new Promise<Loaded>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (e: Error | null, ready?: Omit<Loaded, 'worker'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (ready) return resolve({ worker, name: ready.name, detail: ready.detail, warning: ready.warning });
      worker.terminate().catch(() => undefined);
      reject(e);
    };
    worker.on('message', (m: ListenReply) => {
      if (m.op === 'ready') settle(null, m);
      else if (m.op === 'failed') settle(new Error(`VAD ${opts.backend} failed to load: ${m.message}`));
    });
    // Kept after loading: an error between `ready` and its shard listening must not be an unhandled 'error' event
    // (the shard sees the thread gone when it attaches).
    worker.on('error', (e) => settle(e));
    worker.on('exit', (code) => settle(new Error(`the listen worker exited while loading (code ${code})`)));
    if (timeoutMs < Infinity) timer = setTimeout(() => settle(new Error(`the listen worker did not load within ${timeoutMs} ms`)), timeoutMs);
  });
}

export class ListenService {
  private users = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly shards: Shard[];
  private readonly respawn: RespawnPolicy;

  private constructor(
    workers: Worker[],
    private readonly opts: WorkerOptions,
    readonly backend: string,
    /** How the model runs (for silero-ort, which graph and why), for the start-up log. */
    readonly detail: string,
    /** Set when the model runs other than configured (the batched graph fell back to the original, and why). */
    readonly warning: string | undefined,
    /** The workers also hold the 8 kHz VAD (`ListenOptions.narrowVad`, silero-ort): `setNarrowVad` does something. */
    readonly narrowVad = false,
  ) {
    this.respawn = { ...RESPAWN, ...opts.respawn };
    this.shards = workers.map((w, i) => new Shard(i, w, opts.maxPendingSamples ?? Infinity, (s) => this.replace(s)));
  }

  static async start(opts: ListenOptions): Promise<ListenService> {
    // One service per configuration for the whole process: every gateway of a process (tests, an embedding) shares
    // its workers, which live as long as the process (a failed one is replaced).
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
    // The up gauge is per shard index, not per service: where a process holds several (tests, an embedding), it
    // shows the one a gateway took last.
    for (const s of svc.shards) s.publish();
    return svc;
  }

  private static async spawn(opts: WorkerOptions): Promise<ListenService> {
    if (opts.backend === 'silero-ort') holdOrt();
    const settled = await Promise.allSettled(Array.from({ length: opts.shards }, () => loadWorker(opts)));
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) {
      for (const r of settled) if (r.status === 'fulfilled') r.value.worker.terminate().catch(() => undefined);
      throw failed.reason;
    }
    const loaded = settled.map((r) => (r as PromiseFulfilledResult<Loaded>).value);
    // Held until loaded (an unref'd worker would let a script exit mid-load); afterwards calls keep the process up.
    for (const l of loaded) l.worker.unref();
    return new ListenService(
      loaded.map((l) => l.worker),
      opts,
      loaded[0].name,
      loaded[0].detail,
      loaded[0].warning,
      (opts.narrowVad ?? false) && opts.backend === 'silero-ort',
    );
  }

  /**
   * A failed shard gets a new worker, after a backoff that doubles with each attempt. Attempts count until a worker
   * has served STABLE_MS, so one that fails again soon after each replacement is given up on too, not replaced forever.
   */
  private replace(shard: Shard): void {
    if (shard.stable) shard.attempts = 0;
    if (shard.attempts >= this.respawn.attempts) {
      log.error({ shard: shard.index, attempts: shard.attempts }, 'listen worker failed again soon after its replacement: giving the shard up (/healthz answers 503)');
      return;
    }
    this.attempt(shard);
  }

  private attempt(shard: Shard): void {
    const p = this.respawn;
    shard.replacing = true;
    const n = ++shard.attempts;
    setTimeout(() => {
      const t0 = performance.now();
      loadWorker(this.opts, p.readyTimeoutMs).then(
        ({ worker }) => {
          worker.unref();
          shard.replacing = false;
          shard.attach(worker);
          if (shard.failure === null) log.info({ shard: shard.index, attempt: n, loadMs: Math.round(performance.now() - t0) }, 'listen worker replaced: the shard serves again');
        },
        (e: Error) => {
          if (n < p.attempts) {
            log.warn({ shard: shard.index, attempt: n, err: e.message }, 'listen worker replacement failed; trying again');
            return this.attempt(shard);
          }
          shard.replacing = false;
          log.error({ shard: shard.index, attempts: n, err: e.message }, 'listen worker could not be replaced: giving the shard up (/healthz answers 503)');
        },
      );
    }, Math.min(p.maxMs, p.firstMs * 2 ** (n - 1))).unref();
  }

  /** The flush timer runs while some gateway holds the service: a process that stopped its gateways (a test run,
   *  an embedding) keeps the workers (see start) but not a timer firing every tick for nobody. */
  private startTimer(tickMs: number): void {
    const stuckMs = this.respawn.stuckMs;
    this.timer = setInterval(() => {
      const now = performance.now();
      for (const s of this.shards) {
        s.watch(now, stuckMs);
        s.flush();
      }
    }, tickMs);
    this.timer.unref();
  }

  /** Whether the flush timer runs (while at least one gateway holds the service). */
  get ticking(): boolean {
    return this.timer !== null;
  }

  /** Every shard serves (/readyz): false from a worker's failure until its replacement has loaded. */
  get healthy(): boolean {
    return this.shards.every((s) => s.failure === null);
  }

  /** Shards whose worker serves now. */
  get serving(): number {
    return this.shards.filter((s) => s.failure === null).length;
  }

  /** Shards whose worker failed and that are no longer being replaced: only a restart brings them back (/healthz). */
  get abandoned(): number {
    return this.shards.filter((s) => s.failure !== null && !s.replacing).length;
  }

  /** Opens a call's listening session on the least loaded shard that serves; ListenUnavailable when none does. */
  open(handlers: ListenHandlers, opts: SessionOptions = {}): ListenSession {
    const rate = opts.rate ?? VAD_RATE;
    if (rate !== VAD_RATE && rate !== NARROW_RATE) throw new Error(`listen: wire rate ${rate} Hz (8000 or 16000 only)`);
    let shard: Shard | null = null;
    for (const s of this.shards) if (s.failure === null && (!shard || s.sessions.size < shard.sessions.size)) shard = s;
    if (!shard) {
      const state = this.abandoned ? 'could not be replaced' : 'are being replaced';
      throw new ListenUnavailable(`no listen worker is serving: all ${this.shards.length} failed and ${state}`);
    }
    const s = new ListenSession(shard.allocSlot(), shard, handlers, opts);
    shard.sessions.set(s.slot, s);
    return s;
  }

  /** @internal Test-only: see ListenTestFault (workers started without EARSHOT_TEST_FAULTS=1 ignore it). */
  injectFault(shard: number, kind: ListenTestFault['kind']): void {
    this.shards[shard].post({ op: 'fault', kind });
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
