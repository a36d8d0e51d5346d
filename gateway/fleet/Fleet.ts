// What an instance needs to serve calls it does not hold: where a call is (the directory), waiting for a call that
// has not started yet anywhere in the fleet (`?wait=`), and forwarding to the holder. The control API and the event
// stream ask this only when the call is not local, so a single gateway (no database) never touches it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RemoteCall, RemoteCalls } from '../call/remote.js';
import type { CallDirectory } from './CallDirectory.js';
import { forward, FORWARDED_HEADER } from './forward.js';

export class Fleet implements RemoteCalls {
  constructor(
    readonly directory: CallDirectory,
    private readonly token: string | null,
  ) {}

  get instanceId(): string {
    return this.directory.instanceId;
  }

  /** A request another instance already forwarded here: it is answered here, never forwarded again. */
  isForwarded(req: IncomingMessage): boolean {
    return req.headers[FORWARDED_HEADER] !== undefined;
  }

  /**
   * Where `callId` is, if another instance holds it or refused it: a live entry of this instance is not remote
   * (the caller looked locally first; such an entry is a call that is just ending here).
   */
  async locate(callId: string): Promise<RemoteCall | null> {
    const e = await this.directory.lookup(callId);
    if (!e) return null;
    if (e.state === 'live') return e.instanceId === this.instanceId ? null : e;
    // A refusal made here was announced locally already; one made elsewhere is news.
    return e.instanceId === this.instanceId ? null : e;
  }

  /**
   * Waits up to `timeoutMs` for `callId` to start on another instance or be refused there. Resolves null on
   * timeout or cancel. Subscribes before it looks, so a start between the two is not missed.
   */
  awaitRemote(callId: string, timeoutMs: number): { result: Promise<RemoteCall | null>; cancel: () => void } {
    let finish: (e: RemoteCall | null) => void = () => undefined;
    const result = new Promise<RemoteCall | null>((resolve) => (finish = resolve));
    let done = false;
    let checking = false;
    let again = false;
    const end = (e: RemoteCall | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unwatch();
      finish(e);
    };
    const check = async () => {
      if (done) return;
      if (checking) {
        again = true;
        return;
      }
      checking = true;
      try {
        do {
          again = false;
          const e = await this.locate(callId).catch(() => null);
          if (e) return end(e);
        } while (again && !done);
      } finally {
        checking = false;
      }
    };
    const unwatch = this.directory.watch(callId, () => void check());
    const timer = setTimeout(() => end(null), timeoutMs);
    void check();
    return { result, cancel: () => end(null) };
  }

  /** Forwards the request to the instance holding the call; see forward.ts. */
  forward(req: IncomingMessage, res: ServerResponse, e: { address: string }, o: { path: string; body?: Buffer; kind: 'command' | 'events' }): Promise<void> {
    return forward(req, res, { address: e.address, path: o.path, method: req.method ?? 'GET', body: o.body, token: this.token, instanceId: this.instanceId, kind: o.kind });
  }
}
