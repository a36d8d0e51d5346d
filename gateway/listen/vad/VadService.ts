// Main-thread side of voice activity detection. Calls push 16 kHz audio; every `tickMs` the scheduler gathers the
// complete 32 ms frames of ALL calls into one message for the inference worker, so the model runs once per tick
// for everyone instead of once per call, and the socket thread never waits on inference.
import type { Worker } from 'node:worker_threads';
import { spawnWorker } from '../../infer/spawn.js';
import { VAD_FRAME, VAD_FRAME_MS } from './VadModel.js';
import type { VadReply, VadRequest } from './vad.worker.js';

export type VadBackend = 'silero-ort' | 'sherpa-silero' | 'sherpa-ten';

export interface VadFrameResult {
  /** Index of the 32 ms frame in this session's audio (0-based). */
  index: number;
  prob: number;
  /** Wall ms from the frame being complete on the main thread to its score arriving back. */
  latencyMs: number;
}

export interface VadStats {
  ticks: number;
  runs: number;
  frames: number;
  maxBatch: number;
  computeMs: number;
  sessions: number;
}

export class VadSession {
  private buf = new Float32Array(VAD_FRAME * 4);
  private fill = 0;
  /** Index of the next frame to be completed. */
  private nextIndex = 0;
  /** Completed frames waiting for the next tick: [index, readyAt, samples]. */
  readonly ready: { index: number; at: number; samples: Float32Array }[] = [];
  closed = false;

  constructor(
    readonly slot: number,
    private readonly service: VadService,
    readonly onResult: (r: VadFrameResult) => void,
  ) {}

  push(samples: Float32Array): void {
    if (this.closed) return;
    let off = 0;
    while (off < samples.length) {
      const n = Math.min(VAD_FRAME - this.fill, samples.length - off);
      this.buf.set(samples.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      if (this.fill === VAD_FRAME) {
        this.ready.push({ index: this.nextIndex++, at: performance.now(), samples: this.buf.slice(0, VAD_FRAME) });
        this.fill = 0;
      }
    }
    if (this.ready.length) this.service.markPending(this);
  }

  /** Index of the first frame to score from a fresh state, or null: frames before it keep the old state. */
  resetAt: number | null = null;

  /** Clears the model's recurrent state for this call from the next frame on; frames already pushed keep it. */
  reset(): void {
    if (!this.closed) this.resetAt = this.nextIndex;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.service.release(this);
  }
}

const shared = new Map<string, Promise<VadService>>();

export class VadService {
  private sessions = new Map<number, VadSession>();
  private pending = new Set<VadSession>();
  private nextSlot = 1;
  private freeSlots: number[] = [];
  private inflight: Map<number, { sessions: VadSession[]; meta: { index: number; at: number }[][] }> = new Map();
  private nextReq = 1;
  private timer: NodeJS.Timeout | null = null;
  private readonly st: VadStats = { ticks: 0, runs: 0, frames: 0, maxBatch: 0, computeMs: 0, sessions: 0 };
  private failure: string | null = null;
  onBatch?: (info: { frames: number; runs: number; computeMs: number }) => void;

  private constructor(
    private readonly worker: Worker,
    readonly backend: string,
    private readonly tickMs: number,
    /** Batched backends get everyone's frames in one request; unbatched ones still share the thread. */
    private readonly maxInflight: number,
  ) {
    worker.on('message', (m: VadReply) => this.onReply(m));
    worker.on('error', (e) => {
      this.failure = e.message;
    });
  }

  static async start(opts: { backend: VadBackend; modelPath: string; tickMs: number; threads: number }): Promise<VadService> {
    // One service per backend and model for the whole process: onnxruntime-node's addon cannot be loaded again in
    // a new thread once a thread that loaded it has ended, so the worker lives as long as the process.
    const key = `${opts.backend}:${opts.modelPath}:${opts.threads}`;
    let p = shared.get(key);
    if (!p) {
      p = VadService.spawn(opts);
      shared.set(key, p);
      p.catch(() => shared.delete(key));
    }
    const svc = await p;
    svc.users++;
    return svc;
  }

  private users = 0;

  private static async spawn(opts: { backend: VadBackend; modelPath: string; tickMs: number; threads: number }): Promise<VadService> {
    const worker = spawnWorker(new URL('./vad.worker.ts', import.meta.url), {
      backend: opts.backend,
      modelPath: opts.modelPath,
      threads: opts.threads,
    });
    const name = await new Promise<string>((resolve, reject) => {
      const onMsg = (m: VadReply) => {
        if (m.op === 'ready') resolve(m.name);
        else if (m.op === 'failed') reject(new Error(`VAD ${opts.backend} failed to load: ${m.message}`));
        else return;
        worker.off('message', onMsg);
      };
      worker.on('message', onMsg);
      worker.once('error', reject);
    });
    // Held until loaded (an unref'd worker would let a script exit mid-load); afterwards calls keep the process up.
    worker.unref();
    const svc = new VadService(worker, name, opts.tickMs, 1);
    svc.timer = setInterval(() => svc.flush(), opts.tickMs);
    svc.timer.unref();
    return svc;
  }

  get healthy(): boolean {
    return this.failure === null;
  }

  open(onResult: (r: VadFrameResult) => void): VadSession {
    const slot = this.freeSlots.pop() ?? this.nextSlot++;
    const s = new VadSession(slot, this, onResult);
    this.sessions.set(slot, s);
    this.post({ op: 'open', slot });
    return s;
  }

  /** @internal */
  markPending(s: VadSession): void {
    this.pending.add(s);
  }

  /** @internal */
  release(s: VadSession): void {
    this.sessions.delete(s.slot);
    this.pending.delete(s);
    this.post({ op: 'close', slot: s.slot });
    // A slot is reused only after the worker has processed the close (messages are ordered).
    this.freeSlots.push(s.slot);
  }

  stats(): VadStats {
    return { ...this.st, sessions: this.sessions.size };
  }

  private post(m: VadRequest, transfer?: ArrayBuffer[]): void {
    this.worker.postMessage(m, transfer ?? []);
  }

  /** Sends every session's complete frames to the worker in one request. */
  flush(): void {
    if (this.inflight.size >= this.maxInflight || this.pending.size === 0) return;
    this.st.ticks++;
    const sessions: VadSession[] = [];
    const meta: { index: number; at: number }[][] = [];
    let total = 0;
    const counts0: number[] = [];
    const carry: VadSession[] = [];
    for (const s of this.pending) {
      if (s.closed || s.ready.length === 0) continue;
      let n = s.ready.length;
      if (s.resetAt !== null) {
        if (s.ready[0].index >= s.resetAt) {
          // Worker messages are handled in order, so the reset lands exactly between the old and new frames.
          this.post({ op: 'reset', slot: s.slot });
          s.resetAt = null;
        } else {
          n = s.ready.filter((f) => f.index < s.resetAt!).length;
          carry.push(s);
        }
      }
      sessions.push(s);
      counts0.push(n);
      total += n;
    }
    this.pending.clear();
    for (const s of carry) this.pending.add(s);
    if (total === 0) return;
    const slots = new Int32Array(sessions.length);
    const counts = new Int32Array(sessions.length);
    const frames = new Float32Array(total * VAD_FRAME);
    let f = 0;
    sessions.forEach((s, i) => {
      slots[i] = s.slot;
      counts[i] = counts0[i];
      const m: { index: number; at: number }[] = [];
      for (const fr of s.ready.splice(0, counts0[i])) {
        frames.set(fr.samples, f * VAD_FRAME);
        m.push({ index: fr.index, at: fr.at });
        f++;
      }
      meta.push(m);
    });
    const id = this.nextReq++;
    this.inflight.set(id, { sessions, meta });
    if (sessions.length > this.st.maxBatch) this.st.maxBatch = sessions.length;
    this.post({ op: 'score', id, slots, counts, frames }, [frames.buffer]);
  }

  private onReply(m: VadReply): void {
    if (m.op === 'failed') {
      this.failure = m.message;
      return;
    }
    if (m.op !== 'scored') return;
    const req = this.inflight.get(m.id);
    this.inflight.delete(m.id);
    if (!req) return;
    this.st.runs += m.runs;
    this.st.computeMs += m.computeMs;
    this.st.frames += m.probs.length;
    this.onBatch?.({ frames: m.probs.length, runs: m.runs, computeMs: m.computeMs });
    const now = performance.now();
    let k = 0;
    req.sessions.forEach((s, i) => {
      for (const fr of req.meta[i]) {
        const prob = m.probs[k++];
        if (!s.closed) s.onResult({ index: fr.index, prob, latencyMs: now - fr.at });
      }
    });
    // Frames that completed while this request was out go now rather than waiting for the next tick.
    if (this.pending.size) setImmediate(() => this.flush());
  }

  /** Gives up this user's hold; the worker stays for the process (see start). */
  async close(): Promise<void> {
    this.users = Math.max(0, this.users - 1);
  }
}

export { VAD_FRAME, VAD_FRAME_MS };
