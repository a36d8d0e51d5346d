// The frequency-cap check-and-record, off the event loop. It must be durable before a call is admitted (a crash
// must not forget an attempt and let the callee be called again), so every admission commits with an fsync;
// on the main thread that blocked every call's audio for milliseconds per call start (5 % of the event loop at
// 250 calls, profiled). A worker thread with its own connection to the same database does it instead, and
// commits whatever admissions queued up meanwhile in one transaction (group commit: one fsync for all of them).
import type { Worker } from 'node:worker_threads';
import { spawnWorker } from '../infer/spawn.js';
import type { CallAttempt, FrequencyCap } from './types.js';

export type AttemptRequest = { id: number; attempt: CallAttempt; caps: readonly FrequencyCap[] };
export type AttemptReply = { id: number; full: FrequencyCap | null } | { id: number; error: string };

export class AttemptWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (c: FrequencyCap | null) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failure: Error | null = null;

  constructor(dbFile: string) {
    this.worker = spawnWorker(new URL('./attemptWriter.worker.ts', import.meta.url), { dbFile });
    this.worker.on('message', (m: AttemptReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if ('error' in m) p.reject(new Error(m.error));
      else p.resolve(m.full);
    });
    const fail = (e: Error) => {
      this.failure = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`attempt writer exited (${code})`)));
    // An idle writer must not keep the process alive; pending admissions hold it through their promises' callers.
    this.worker.unref();
  }

  /** Same contract as PolicyStore.recordAttemptWithinCaps. */
  record(attempt: CallAttempt, caps: readonly FrequencyCap[]): Promise<FrequencyCap | null> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, attempt, caps } satisfies AttemptRequest);
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
