// The bookkeeping of one-request-one-reply calls to a helper (OffThread: a worker thread; OffProcess: a process):
// each call waits under an id for its reply, and when the helper dies every waiting call fails with the caller's
// error type. The transports differ; this does not.

/** A helper's reply to the request with this id: its value, or its error's message and detail. */
export type Reply<T> = { id: number; ok: true; value: T } | { id: number; ok: false; error: string; detail?: unknown };

export class PendingCalls<Req, Res> {
  private readonly pending = new Map<number, { req: Req; resolve: (v: Res) => void; reject: (e: Error) => void }>();
  private nextId = 1;

  /** `failure` turns the helper's error (message and detail) into the caller's error type. */
  constructor(private readonly failure: (req: Req, message: string, detail?: unknown) => Error) {}

  get size(): number {
    return this.pending.size;
  }

  /** A new call: its id, to send with the request, and the promise of its reply. */
  add(req: Req): { id: number; reply: Promise<Res> } {
    const id = this.nextId++;
    const reply = new Promise<Res>((resolve, reject) => this.pending.set(id, { req, resolve, reject }));
    return { id, reply };
  }

  /** Settles the call a reply answers; false for an id no call waits under. */
  settle(m: Reply<Res>): boolean {
    const p = this.pending.get(m.id);
    if (!p) return false;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(this.failure(p.req, m.error, m.detail));
    return true;
  }

  /** The helper is gone: every waiting call fails with `why`. */
  failAll(why: string): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(this.failure(p.req, why));
    }
  }
}
