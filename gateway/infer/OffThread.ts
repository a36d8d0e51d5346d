// Calls into a worker thread for work that must not run on the event loop that carries the calls (a fork, an
// fsync): one request, one reply. The worker starts on first use and holds the process open only while a call is
// pending; if it dies, its pending calls fail and the next call starts a new one.
import { parentPort, type TransferListItem, type Worker } from 'node:worker_threads';
import { PendingCalls, type Reply } from './PendingCalls.js';
import { spawnWorker } from './spawn.js';

export class OffThread<Req, Res> {
  private worker: Worker | null = null;
  private readonly pending: PendingCalls<Req, Res>;

  /** `failure` turns the worker's error (message and detail) into the caller's error type. */
  constructor(
    private readonly entry: URL,
    failure: (req: Req, message: string, detail?: unknown) => Error,
  ) {
    this.pending = new PendingCalls(failure);
  }

  /** Starts the worker ahead of the first call (loading it takes a few hundred ms), idle and unref'd. */
  warm(): void {
    this.started();
  }

  call(req: Req, transfer: TransferListItem[] = []): Promise<Res> {
    const w = this.started();
    const { id, reply } = this.pending.add(req);
    w.ref();
    w.postMessage({ id, req }, transfer);
    return reply;
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const w = spawnWorker(this.entry, {});
    w.on('message', (m: Reply<Res>) => {
      if (this.pending.settle(m) && !this.pending.size) w.unref();
    });
    const died = (why: string) => {
      if (this.worker !== w) return;
      this.worker = null;
      this.pending.failAll(`worker thread failed: ${why}`);
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
