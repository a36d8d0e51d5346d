// Calls into a worker thread for work that must not run on the event loop that carries the calls (a fork, an
// fsync): one request, one reply. The worker starts on first use and holds the process open only while a call is
// pending; if it dies, its pending calls fail and the next call starts a new one.
import { parentPort, type TransferListItem, type Worker } from 'node:worker_threads';
import { PendingCalls, type Reply } from './PendingCalls.js';
import { spawnWorker } from './spawn.js';

export class OffThread<Req, Res> {
  private readonly calls: PendingCalls<Req, Res, Worker>;

  /** `failure` turns the worker's error (message and detail) into the caller's error type. */
  constructor(entry: URL, failure: (req: Req, message: string, detail?: unknown) => Error) {
    this.calls = new PendingCalls(failure, {
      start: (replied, died) => {
        const w = spawnWorker(entry, {});
        w.on('message', replied);
        w.on('error', (e) => died(`worker thread failed: ${e.message}`));
        w.on('exit', (code) => died(`worker thread failed: exited with code ${code}`));
        return w;
      },
      post: (w, m, transfer) => w.postMessage(m, (transfer ?? []) as TransferListItem[]),
      hold: (w, on) => (on ? w.ref() : w.unref()),
    });
  }

  /** Starts the worker ahead of the first call (loading it takes a few hundred ms), idle and unref'd. */
  warm(): void {
    this.calls.warm();
  }

  call(req: Req, transfer: TransferListItem[] = []): Promise<Res> {
    return this.calls.call(req, transfer);
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
