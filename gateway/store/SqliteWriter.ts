// Durable writes to the process's SQLite database in a worker thread with its own connection to the same file. A
// commit with synchronous=FULL waits on an fsync (milliseconds, 146 ms once in the soak's profile), and on the main
// thread that wait held every call's audio; here it only holds the writer. A write is a transaction given as data
// (SQL and parameters, no functions cross threads): steps run in order under BEGIN IMMEDIATE, after an optional
// guard — a query whose first row must equal what the caller expects (the evidence chain's head it sealed against),
// else nothing is written and the caller hears the row it found ("stale") and may retry. Jobs run in arrival order.
// Bounded: at most MAX_PENDING writes wait; more are refused at once. If the worker dies, its pending writes fail
// with WriterDied (each was all-or-nothing, so none is half-written; but one may have committed just before the
// death, so its caller must look before it treats the write as lost) and the next write starts a new one.
import type { Worker } from 'node:worker_threads';
import { spawnWorker } from '../infer/spawn.js';
import type { Db } from './Database.js';

/** One statement: `params` an array (positional) or an object (named, `@name`). Values must survive postMessage. */
export interface WriteStep {
  sql: string;
  params?: unknown[] | Record<string, unknown>;
}

export interface WriteJob {
  steps: WriteStep[];
  /** Checked first, inside the write lock: the query's first row (or null) must deep-equal `expect`. */
  guard?: { sql: string; params?: unknown[]; expect: Record<string, unknown> | null };
  /**
   * NORMAL: this transaction commits to the WAL without an fsync of its own (bookkeeping such as call records; the
   * next FULL commit or checkpoint syncs it). Default: the connection's FULL.
   */
  synchronous?: 'NORMAL';
}

/** `changes`: rows each step changed. `stale`: the guard's row did not match (nothing written). */
export type WriteResult = { ok: true; changes: number[] } | { ok: false; stale: Record<string, unknown> | null };

export type WriterRequest = { id: number; job: WriteJob };
export type WriterReply = { id: number; result: WriteResult } | { id: number; error: string };

/** More waiting writes than this is a stalled disk, not load: refuse rather than grow. */
export const MAX_PENDING = 1024;

const writers = new WeakMap<Db, SqliteWriter>();

/** The writer thread ended with the write pending: it committed entirely or not at all, and the caller cannot tell which. */
export class WriterDied extends Error {}

export class SqliteWriter {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, { resolve: (r: WriteResult) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private idleCheck: NodeJS.Timeout | null = null;

  /**
   * The writer for `db`'s file, one per main-thread handle (so one per database in the gateway); null for
   * handles a second connection cannot share (in-memory, read-only): their stores write on their own connection.
   */
  static for(db: Db): SqliteWriter | null {
    if (db.memory || db.readonly) return null;
    let w = writers.get(db);
    if (!w) writers.set(db, (w = new SqliteWriter(db)));
    return w;
  }

  private constructor(private readonly db: Db) {}

  /** Starts the worker ahead of the first write (loading it takes a few hundred ms). */
  warm(): void {
    this.started();
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Runs `job` as one transaction; resolves once it committed (durable per `synchronous`) or the guard refused it. */
  run(job: WriteJob): Promise<WriteResult> {
    if (!this.db.open) return Promise.reject(new Error('database writer: the database is closed'));
    if (this.pending.size >= MAX_PENDING) {
      return Promise.reject(new Error(`database writer: ${MAX_PENDING} writes already waiting (disk stalled?); write refused`));
    }
    const w = this.started();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ id, job } satisfies WriterRequest);
    });
  }

  /** Stops the worker (tests; shutdown after the last write). Pending writes fail. */
  async close(): Promise<void> {
    const w = this.worker;
    if (w) await w.terminate();
  }

  /** Test hook: the worker dies as if it crashed (native fault, out of memory), pending writes in flight. */
  crashForTest(): Promise<number> {
    return this.worker ? this.worker.terminate() : Promise.resolve(0);
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const w = spawnWorker(new URL('./sqliteWriter.worker.ts', import.meta.url), { dbFile: this.db.name });
    w.on('message', (m: WriterReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (!this.pending.size) this.idle(w);
      if ('error' in m) p.reject(new Error(m.error));
      else p.resolve(m.result);
    });
    // Only at 'exit' is the thread gone, so nothing it had pending can still commit after the callers looked.
    let error: string | null = null;
    w.on('error', (e) => (error = e.message));
    w.on('exit', (code) => {
      if (this.worker !== w) return;
      this.worker = null;
      const e = new WriterDied(`database writer thread failed (${error ?? `exited with code ${code}`}): the write may not have been committed`);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
    this.idle(w);
    return (this.worker = w);
  }

  /** No write waiting: the worker must not keep the process alive, and it goes once the main handle is closed. */
  private idle(w: Worker): void {
    w.unref();
    if (this.idleCheck) return;
    const check = () => {
      this.idleCheck = null;
      if (this.worker !== w || this.pending.size) return;
      if (!this.db.open) void w.terminate();
      else (this.idleCheck = setTimeout(check, 5000)).unref();
    };
    (this.idleCheck = setTimeout(check, 5000)).unref();
  }
}
