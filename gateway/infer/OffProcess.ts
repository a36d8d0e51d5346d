// Calls into a small helper process for work that must not start in the gateway's own process: starting a program.
// fork() of a process holding ~700 MB and a dozen threads takes the whole address space's lock while it copies the
// page tables and then makes every thread's next write to each page fault (copy-on-write), so a spawn from any thread
// of the gateway — a worker's too — stalls the calls' event loop and the listen workers (the soak's upload attack:
// ~50 % of the main thread's stalled time while it ran, branch soak7). The helper is a fresh node process (~90 MB
// RSS with tsx loaded), forked once, that spawns the program itself — best forked by `warm` at start-up, while the
// gateway is still small (its own fork is the same stall otherwise). One request, one reply, like OffThread: it
// starts on first use if not warmed, holds the gateway open only while a call is pending, dies with the gateway (its
// IPC channel closes), and if it dies, its pending calls fail and the next call starts a new one. The process itself is
// a Host's (Host.ts), as the recogniser's helpers are.
import { startHost, type Host } from './Host.js';
import { hostPort } from './hostPort.js';
import { PendingCalls, type Reply } from './PendingCalls.js';

export class OffProcess<Req, Res> {
  private readonly calls: PendingCalls<Req, Res, Host>;

  /** `failure` turns the helper's error (message and detail) into the caller's error type. */
  constructor(entry: URL, failure: (req: Req, message: string, detail?: unknown) => Error) {
    this.calls = new PendingCalls(failure, {
      start: (replied, died) => {
        const h = startHost('process', entry, {});
        h.onMessage(replied);
        h.onDeath((why) => died(why));
        return h;
      },
      post: (h, m) => h.post(m),
      hold: (h, on) => h.hold(on),
      stop: (h) => h.stop(),
    });
  }

  /** Starts the helper ahead of the first call (node and tsx take a few hundred ms), idle and unref'd. */
  warm(): void {
    this.calls.warm();
  }

  call(req: Req): Promise<Res> {
    return this.calls.call(req);
  }

  /** Ends the helper now (calls still waiting fail); a later call starts a new one. */
  stop(): Promise<void> {
    return this.calls.stop('helper process stopped');
  }
}

/** The helper's side: answers each request with `handle`'s value or its error; exits when the gateway goes away. */
export async function serveOffProcess<Req, Res>(handle: (req: Req) => Promise<Res>, detail?: (e: Error) => unknown): Promise<void> {
  const port = await hostPort<Record<string, never>, { id: number; req: Req }, Reply<Res>>();
  if (port.kind !== 'process') throw new Error('serveOffProcess: not started by OffProcess (no IPC channel)');
  port.onMessage((m) => {
    handle(m.req).then(
      (value) => port.post({ id: m.id, ok: true, value }),
      (e: Error) => port.post({ id: m.id, ok: false, error: e.message, detail: detail?.(e) }),
    );
  });
}
