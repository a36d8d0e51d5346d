// Calls into a worker thread for work that must not run on the event loop that carries the calls (a fork, an
// fsync): one request, one reply. The worker starts on first use and holds the process open only while a call is
// pending; if it dies, its pending calls fail and the next call starts a new one.
import { parentPort, type TransferListItem, type Worker } from 'node:worker_threads';
import { spawnWorker } from './spawn.js';

type Reply<T> = { id: number; ok: true; value: T } | { id: number; ok: false; error: string; detail?: unknown };

export class OffThread<Req, Res> {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, { req: Req; resolve: (v: Res) => void; reject: (e: Error) => void }>();
  private nextId = 1;

  /** `failure` turns the worker's error (message and detail) into the caller's error type. */
  constructor(
    private readonly entry: URL,
    private readonly failure: (req: Req, message: string, detail?: unknown) => Error,
  ) {}

  /** Starts the worker ahead of the first call (loading it takes a few hundred ms), idle and unref'd. */
  warm(): void {
    this.started();
  }

  call(req: Req, transfer: TransferListItem[] = []): Promise<Res> {
    const w = this.started();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { req, resolve, reject });
      w.ref();
      w.postMessage({ id, req }, transfer);
    });
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const w = spawnWorker(this.entry, {});
    w.on('message', (m: Reply<Res>) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (!this.pending.size) w.unref();
      if (m.ok) p.resolve(m.value);
      else p.reject(this.failure(p.req, m.error, m.detail));
    });
    const died = (why: string) => {
      if (this.worker !== w) return;
      this.worker = null;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(this.failure(p.req, `worker thread failed: ${why}`));
      }
    };
    w.on('error', (e) => died(e.message));
    w.on('exit', (code) => died(`exited with code ${code}`));
    w.unref();
    return (this.worker = w);
  }
}

/** The worker's side: answers each request with `handle`'s value (and what to transfer) or its error. */
export function serveOffThread<Req, Res>(handle: (req: Req) => Promise<{ value: Res; transfer?: TransferListItem[] }>, detail?: (e: Error) => unknown): void {
  const port = parentPort!;
  port.on('message', (m: { id: number; req: Req }) => {
    handle(m.req).then(
      ({ value, transfer }) => port.postMessage({ id: m.id, ok: true, value } satisfies Reply<Res>, transfer ?? []),
      (e: Error) => port.postMessage({ id: m.id, ok: false, error: e.message, detail: detail?.(e) } satisfies Reply<Res>),
    );
  });
}
