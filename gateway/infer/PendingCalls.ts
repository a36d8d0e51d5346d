// One-request-one-reply calls to a helper (OffThread: a worker thread; OffProcess: a process). What both share is
// here: each call waits under an id for its reply; the helper starts on first use, holds the gateway's event loop
// open only while a call is pending, and when it dies every waiting call fails with the caller's error type and the
// next call starts a new one. A transport says only how to start its helper, post to it and hold it.

/** A helper's reply to the request with this id: its value, or its error's message and detail. */
export type Reply<T> = { id: number; ok: true; value: T } | { id: number; ok: false; error: string; detail?: unknown };

/** How one kind of helper is started, written to and held; `replied` / `died` are the book's to call back. */
export interface HelperTransport<H> {
  start(replied: (m: Reply<unknown>) => void, died: (why: string) => void): H;
  post(helper: H, message: { id: number; req: unknown }, transfer?: readonly unknown[]): void;
  /** Whether the helper keeps the gateway's event loop alive. */
  hold(helper: H, on: boolean): void;
  /** Ends the helper and waits until it is gone (its death is not reported). */
  stop?(helper: H): Promise<void>;
}

export class PendingCalls<Req, Res, H = unknown> {
  private readonly pending = new Map<number, { req: Req; resolve: (v: Res) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private helper: H | null = null;

  /** `failure` turns the helper's error (message and detail) into the caller's error type. */
  constructor(
    private readonly failure: (req: Req, message: string, detail?: unknown) => Error,
    private readonly transport?: HelperTransport<H>,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** Starts the helper ahead of the first call, idle and not holding the event loop. */
  warm(): void {
    this.started();
  }

  /** Sends a request to the helper (started if need be) and waits for its reply. */
  call(req: Req, transfer?: readonly unknown[]): Promise<Res> {
    const t = this.transport!;
    const h = this.started();
    const { id, reply } = this.add(req);
    t.hold(h, true);
    t.post(h, { id, req }, transfer);
    return reply;
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

  /** Ends the helper, if one runs: waiting calls fail, the next call starts a new one. */
  async stop(why: string): Promise<void> {
    const h = this.helper;
    if (!h) return;
    this.helper = null;
    this.failAll(why);
    await this.transport!.stop?.(h);
  }

  private started(): H {
    if (this.helper) return this.helper;
    const t = this.transport!;
    const h: H = t.start(
      (m) => {
        if (this.settle(m as Reply<Res>) && !this.pending.size) t.hold(h, false);
      },
      (why) => {
        if (this.helper !== h) return;
        this.helper = null;
        this.failAll(why);
      },
    );
    t.hold(h, false);
    return (this.helper = h);
  }
}
