// Main-thread side of streaming ASR: N worker threads, each with its own recogniser; calls are assigned to the
// least-loaded worker and their audio is posted (buffers transferred), so decoding never runs on the event loop.
// Requests are not posted one by one: a listen tick hands every call in a consent window its 20 ms frame at once,
// and a message per frame (~1,250 a second at 25 answering calls) cost the event loop more than any other send in
// a profiled soak (each wakes the worker, which on 2 cores preempts the sender). What one task asked of a worker
// goes out as one message when the task ends, each stream's consecutive audio joined into one chunk.
// A worker that dies takes only its in-flight utterances with it: those streams get an error result, the worker is
// restarted with backoff and the streams are re-opened on it. Each worker is a helper process by default (asr.host):
// a native abort in the recogniser then ends that worker, not the gateway (Host.ts). A worker that stops answering
// (a deadlock in native code) would hold its calls' recognition and let the audio posted to it pile up without end:
// a watchdog pings each worker and ends one that has not answered for `stallMs`, which then counts as a death.
import { isResolved, resolveModel, type ModelEntry } from '../models.js';
import { rootLogger } from '../ops/log.js';
import { metrics } from '../ops/metrics.js';
import type { BesideSpec, DecodingSpec } from '../listen/asr/engine.js';
import type { AsrPool, AsrPoolStats, AsrResult, AsrStream, AsrStreamOptions, AsrStreamStats, AudioTransform } from '../listen/asr/types.js';
import type { AsrReply, AsrRequest, AsrStreamRequest, AsrWorkerData } from './asrProtocol.js';
import { startHost, type Host, type HostKind } from './Host.js';

const WORKER_URL = new URL('./asr.worker.ts', import.meta.url);
/** Silence appended at finish() unless `tailPaddingMs` says otherwise (bench replays pad as the worker does). */
export const DEFAULT_TAIL_PADDING_MS = 480;
const log = rootLogger.child({ mod: 'asr' });

export interface AsrPoolOptions {
  /** Model id from models/manifest.json. */
  model: string;
  mode: 'recognizer' | 'kws';
  workers?: number;
  /** Intra-op threads per recogniser. */
  threads?: number;
  modelsDir?: string;
  /** KWS mode: keyword lines (`k ě y ǐ @可以`) or a keywords file. */
  keywords?: string;
  keywordsFile?: string;
  keywordsThreshold?: number;
  keywordsScore?: number;
  numTrailingBlanks?: number;
  /** Recogniser search (greedy by default; beam search with hotwords for contextual biasing). */
  decoding?: DecodingSpec;
  /** The search of narrowband calls' streams, when it differs from `decoding` (see AsrEngineSpec.narrowband). */
  narrowband?: DecodingSpec;
  /** Second opinions decoded beside the main engine on the same audio (see AsrEngineSpec.beside). */
  beside?: BesideSpec[];
  /** Minimum audio between partial results of one stream, ms. Default 200. */
  partialEveryMs?: number;
  /** Silence appended at finish() so the last chunk is decoded, ms. Default DEFAULT_TAIL_PADDING_MS (480). */
  tailPaddingMs?: number;
  /** Explicit model files (tools, tests); skips the manifest search. */
  resolved?: { entry: ModelEntry; files: Record<string, string> };
  /** Consecutive failed (re)starts of one worker before it is given up. Default 5. */
  maxRestarts?: number;
  /** Where each worker runs: a helper process (default) or a thread of this process. */
  host?: HostKind;
  /** A loaded worker that has not answered a ping for this long is ended and restarted, ms. Default 10,000. */
  stallMs?: number;
}

interface Slot {
  index: number;
  worker: Host | null;
  ready: boolean;
  everReady: boolean;
  dead: boolean;
  failures: number;
  batching: string;
  streams: Set<PoolStream>;
  /** Requests for this worker made during the current task, sent together at its end (flushOutbox). */
  outbox: AsrStreamRequest[];
  /** When the watchdog's unanswered ping went out (performance.now()), or null. */
  pingSentAt: number | null;
  /** Why the watchdog ended this worker, reported as its death's reason. */
  stalled: string;
}

class PoolStream implements AsrStream {
  private cbs: ((r: AsrResult) => void)[] = [];
  closed = false;
  cpuMs = 0;
  audioMs = 0;

  constructor(
    readonly sid: number,
    readonly callId: string,
    public slot: Slot | null,
    private readonly pool: AsrWorkerPool,
    readonly secondOpinions: boolean,
    readonly priority: number,
    readonly narrowband = false,
  ) {}

  accept(samples16k: Float32Array, transform?: AudioTransform): void {
    if (this.closed || samples16k.length === 0) return;
    // Held until the end of the task, then copied into the chunk that is sent: the caller's buffer is never detached.
    this.pool.post(this, transform ? { op: 'audio', sid: this.sid, samples: samples16k, transform } : { op: 'audio', sid: this.sid, samples: samples16k });
  }
  finish(): void {
    if (!this.closed) this.pool.post(this, { op: 'finish', sid: this.sid });
  }
  reset(): void {
    if (!this.closed) this.pool.post(this, { op: 'reset', sid: this.sid });
  }
  onResult(cb: (r: AsrResult) => void): void {
    this.cbs.push(cb);
  }
  emit(r: AsrResult): void {
    if (this.closed) return;
    for (const cb of this.cbs) {
      try {
        cb(r);
      } catch (e) {
        log.error({ err: e, callId: this.callId }, 'ASR result callback threw');
      }
    }
  }
  stats(): AsrStreamStats {
    return { audioMs: this.audioMs, cpuMs: this.cpuMs, cpuMsPerAudioSec: this.audioMs > 0 ? (this.cpuMs / this.audioMs) * 1000 : 0 };
  }
  close(): void {
    if (this.closed) return;
    this.pool.post(this, { op: 'close', sid: this.sid });
    this.closed = true;
    this.pool.release(this);
  }
}

export class AsrWorkerPool implements AsrPool {
  private readonly slots: Slot[] = [];
  private readonly streams = new Map<number, PoolStream>();
  private nextSid = 1;
  private rr = 0;
  private restarts = 0;
  private requests = 0;
  private messages = 0;
  private closing = false;
  private watchdog: NodeJS.Timeout | null = null;
  private closedAudioMs = 0;
  private closedCpuMs = 0;
  private engineName = '';
  private readonly data: AsrWorkerData;
  private readonly host: HostKind;

  private constructor(
    private readonly opts: AsrPoolOptions,
    entry: ModelEntry,
    files: Record<string, string>,
  ) {
    this.host = opts.host ?? 'process';
    this.data = {
      spec: {
        mode: opts.mode,
        entry,
        files,
        threads: opts.threads ?? 1,
        keywords: opts.keywords,
        keywordsFile: opts.keywordsFile,
        keywordsThreshold: opts.keywordsThreshold,
        keywordsScore: opts.keywordsScore,
        numTrailingBlanks: opts.numTrailingBlanks,
        decoding: opts.decoding,
        narrowband: opts.narrowband,
        beside: opts.beside,
      },
      partialEveryMs: opts.partialEveryMs ?? 200,
      tailPaddingMs: opts.tailPaddingMs ?? DEFAULT_TAIL_PADDING_MS,
    };
  }

  /** Starts every worker and waits until each has loaded its model; rejects with the load error otherwise. */
  static async start(opts: AsrPoolOptions): Promise<AsrWorkerPool> {
    let entry: ModelEntry;
    let files: Record<string, string>;
    if (opts.resolved) ({ entry, files } = opts.resolved);
    else {
      const r = resolveModel(opts.model, opts.modelsDir);
      if (!isResolved(r)) throw new Error(`ASR model "${opts.model}" not found (looked in ${r.missing.join(', ')}); run \`npm run models\``);
      ({ entry, files } = r);
    }
    if (entry.kind !== 'asr') throw new Error(`model "${entry.id}" is a ${entry.kind} model, not ASR`);
    const pool = new AsrWorkerPool(opts, entry, files);
    const n = Math.max(1, opts.workers ?? 1);
    try {
      await Promise.all(Array.from({ length: n }, (_, i) => pool.spawn(i)));
    } catch (e) {
      await pool.close();
      throw e;
    }
    log.info({ model: entry.id, mode: opts.mode, engine: pool.engineName, workers: n, host: pool.host, batching: pool.slots[0].batching }, 'ASR pool ready');
    const stallMs = opts.stallMs ?? 10_000;
    pool.watchdog = setInterval(() => pool.watch(stallMs), Math.min(2000, stallMs / 4));
    pool.watchdog.unref();
    return pool;
  }

  private spawn(index: number): Promise<void> {
    const slot: Slot = this.slots[index] ?? {
      index,
      worker: null,
      ready: false,
      everReady: false,
      dead: false,
      failures: 0,
      batching: '',
      streams: new Set(),
      outbox: [],
      pingSentAt: null,
      stalled: '',
    };
    this.slots[index] = slot;
    const worker = startHost(this.host, WORKER_URL, this.data as unknown as Record<string, unknown>);
    slot.worker = worker;
    slot.ready = false;
    // Requests made before (for the streams' lost utterances) do not belong to the new worker.
    slot.outbox = [];
    slot.pingSentAt = null;
    slot.stalled = '';
    // Streams already assigned here (a restart) are re-opened first; the port queues messages until the worker
    // has loaded its model and listens.
    for (const s of slot.streams) worker.post({ op: 'open', sid: s.sid, secondOpinions: s.secondOpinions, priority: s.priority, narrowband: s.narrowband } satisfies AsrRequest);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let lastFailure = '';
      worker.onMessage((m: AsrReply) => {
        if (m.op === 'ready') {
          metrics.asrWorkerUp.set({ worker: String(index) }, 1);
          slot.ready = true;
          slot.everReady = true;
          slot.failures = 0;
          slot.batching = m.batching;
          this.engineName = m.name;
          settled = true;
          resolve();
        } else if (m.op === 'failed') lastFailure = m.message;
        else if (m.op === 'pong') slot.pingSentAt = null;
        else this.onReply(m);
      });
      // Only the current worker's death counts (a stopped one's is not reported).
      worker.onDeath((why) => {
        if (slot.worker !== worker) return;
        slot.worker = null;
        slot.ready = false;
        const stalled = slot.stalled !== '';
        const message = slot.stalled || lastFailure || why;
        if (!settled) {
          settled = true;
          reject(new Error(`ASR worker ${index} failed to load model ${this.data.spec.entry.id}: ${message}`));
        }
        if (!this.closing) this.onWorkerDeath(slot, message, stalled);
      });
    });
  }

  private onWorkerDeath(slot: Slot, message: string, stalled: boolean): void {
    slot.failures++;
    metrics.asrWorkerUp.set({ worker: String(slot.index) }, 0);
    metrics.asrWorkerDeaths.inc({ reason: stalled ? 'stalled' : 'exited' });
    log.error({ worker: slot.index, failures: slot.failures, err: message }, 'ASR worker died');
    for (const s of slot.streams) s.emit({ text: '', tokens: [], final: true, error: `ASR worker ${slot.index} failed: ${message}` });
    // A worker that never loaded during start() is reported by start() itself; one that loaded once is restarted.
    if (!slot.everReady || slot.failures > (this.opts.maxRestarts ?? 5)) {
      slot.dead = true;
      for (const s of slot.streams) s.slot = null;
      slot.streams.clear();
      return;
    }
    const delay = Math.min(5000, 100 * 2 ** (slot.failures - 1));
    setTimeout(() => {
      if (this.closing) return;
      this.restarts++;
      this.spawn(slot.index).catch((e: Error) => log.error({ worker: slot.index, err: e.message }, 'ASR worker restart failed'));
    }, delay).unref();
  }

  /** Pings every loaded worker; ends one whose last ping is older than `stallMs` (its death restarts it). */
  private watch(stallMs: number): void {
    const now = performance.now();
    for (const slot of this.slots) {
      if (!slot.worker || !slot.ready || slot.stalled) continue;
      if (slot.pingSentAt === null) {
        slot.pingSentAt = now;
        slot.worker.post({ op: 'ping' } satisfies AsrRequest);
      } else if (now - slot.pingSentAt > stallMs) {
        slot.stalled = `stopped answering (no reply for ${Math.round(now - slot.pingSentAt)} ms)`;
        log.error({ worker: slot.index, streams: slot.streams.size }, 'ASR worker stopped answering: ending it');
        slot.worker.kill();
      }
    }
  }

  private onReply(m: AsrReply): void {
    if (m.op === 'ready' || m.op === 'failed' || m.op === 'pong') return;
    const s = this.streams.get(m.sid);
    if (!s) return;
    if (m.op === 'usage' || m.op === 'result') {
      s.cpuMs = m.cpuMs;
      s.audioMs = m.audioMs;
    }
    if (m.op === 'result') s.emit(m.result);
    else if (m.op === 'error') s.emit({ text: '', tokens: [], final: true, error: m.message });
  }

  open(callId: string, options: AsrStreamOptions = {}): AsrStream {
    const live = this.slots.filter((s) => !s.dead);
    let slot: Slot | null = null;
    for (let k = 0; k < live.length; k++) {
      const c = live[(this.rr + k) % live.length];
      if (!slot || c.streams.size < slot.streams.size) slot = c;
    }
    this.rr++;
    const s = new PoolStream(this.nextSid++, callId, slot, this, options.secondOpinions !== false, options.priority ?? 1, options.narrowband === true);
    this.streams.set(s.sid, s);
    if (slot) {
      slot.streams.add(s);
      slot.worker?.post({ op: 'open', sid: s.sid, secondOpinions: s.secondOpinions, priority: s.priority, narrowband: s.narrowband } satisfies AsrRequest);
    } else {
      queueMicrotask(() => s.emit({ text: '', tokens: [], final: true, error: 'no ASR worker is available (all failed)' }));
    }
    return s;
  }

  /** @internal */
  post(s: PoolStream, m: AsrStreamRequest): void {
    const slot = s.slot;
    // While a worker restarts there is nowhere to send audio: it belongs to an utterance already reported lost.
    if (!slot?.worker) return;
    this.requests++;
    if (slot.outbox.push(m) === 1) queueMicrotask(() => this.flushOutbox(slot));
  }

  /** Sends what the task asked of `slot`'s worker: one message, each stream's consecutive audio as one chunk. */
  private flushOutbox(slot: Slot): void {
    const reqs = slot.outbox;
    slot.outbox = [];
    if (!slot.worker || reqs.length === 0) return;
    const msgs: AsrStreamRequest[] = [];
    // Per stream, its audio run still open (no other request of that stream since): chunks to join.
    const runs = new Map<number, Float32Array[]>();
    const joined = new Map<AsrStreamRequest, Float32Array[]>();
    for (const m of reqs) {
      if (m.op === 'audio' && m.transform) {
        // Transformed as one segment by the worker: joined with nothing, before or after.
        runs.delete(m.sid);
        joined.set(m, [m.samples]);
      } else if (m.op === 'audio') {
        const run = runs.get(m.sid);
        if (run) {
          run.push(m.samples);
          continue;
        }
        const chunks = [m.samples];
        runs.set(m.sid, chunks);
        joined.set(m, chunks);
      } else if ('sid' in m) runs.delete(m.sid);
      msgs.push(m);
    }
    const transfer: ArrayBuffer[] = [];
    for (let i = 0; i < msgs.length; i++) {
      const chunks = joined.get(msgs[i]);
      if (!chunks) continue;
      const n = chunks.reduce((a, c) => a + c.length, 0);
      const samples = new Float32Array(n);
      let at = 0;
      for (const c of chunks) {
        samples.set(c, at);
        at += c.length;
      }
      const { sid, transform } = msgs[i] as Extract<AsrStreamRequest, { op: 'audio' }>;
      msgs[i] = transform ? { op: 'audio', sid, samples, transform } : { op: 'audio', sid, samples };
      transfer.push(samples.buffer);
    }
    this.messages++;
    slot.worker.post(msgs.length === 1 ? msgs[0] : ({ op: 'batch', msgs } satisfies AsrRequest), transfer);
  }

  /** @internal */
  release(s: PoolStream): void {
    s.slot?.streams.delete(s);
    this.streams.delete(s.sid);
    this.closedAudioMs += s.audioMs;
    this.closedCpuMs += s.cpuMs;
  }

  /** Test hook: make worker `index` throw outside any handler (an unexpected bug), abort or hang (see AsrRequest). */
  crashWorkerForTest(index: number, how: 'throw' | 'abort' | 'hang' = 'throw'): void {
    if (how === 'abort' && this.host !== 'process') throw new Error('an abort in a worker thread would end this process');
    this.slots[index]?.worker?.post({ op: 'crash', how } satisfies AsrRequest);
  }

  stats(): AsrPoolStats {
    let audioMs = this.closedAudioMs;
    let cpuMs = this.closedCpuMs;
    for (const s of this.streams.values()) {
      audioMs += s.audioMs;
      cpuMs += s.cpuMs;
    }
    return {
      model: this.data.spec.entry.id,
      mode: this.data.spec.mode,
      workers: this.slots.length,
      readyWorkers: this.slots.filter((s) => s.ready).length,
      restarts: this.restarts,
      openStreams: this.streams.size,
      audioMs,
      cpuMs,
      cpuMsPerAudioSec: audioMs > 0 ? (cpuMs / audioMs) * 1000 : 0,
      engine: this.engineName,
      perWorker: this.slots.map((s) => ({ streams: s.streams.size, ready: s.ready, batching: s.batching, pid: s.worker?.pid })),
      requests: this.requests,
      messages: this.messages,
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.watchdog) clearInterval(this.watchdog);
    for (const s of [...this.streams.values()]) s.close();
    await Promise.all(this.slots.map((s) => s.worker?.stop()));
    for (const s of this.slots) s.worker = null;
  }
}
