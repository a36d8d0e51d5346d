// Calls into a small helper process for work that must not start in the gateway's own process: starting a program.
// fork() of a process holding ~700 MB and a dozen threads takes the whole address space's lock while it copies the
// page tables and then makes every thread's next write to each page fault (copy-on-write), so a spawn from any thread
// of the gateway — a worker's too — stalls the calls' event loop and the listen workers (the soak's upload attack:
// ~50 % of the main thread's stalled time while it ran, branch soak7). The helper is a fresh node process (~90 MB
// RSS with tsx loaded), forked once, that spawns the program itself — best forked by `warm` at start-up, while the
// gateway is still small (its own fork is the same stall otherwise). One request, one reply, like OffThread: it
// starts on first use if not warmed, holds the gateway open only while a call is pending, dies with the gateway (its
// IPC channel closes), and if it dies, its pending calls fail and the next call starts a new one.
import { fork, type ChildProcess } from 'node:child_process';
import { PendingCalls, type Reply } from './PendingCalls.js';

const ENTRY = new URL('./process-entry.mjs', import.meta.url);

export class OffProcess<Req, Res> {
  private readonly calls: PendingCalls<Req, Res, ChildProcess>;

  /** `failure` turns the helper's error (message and detail) into the caller's error type. */
  constructor(entry: URL, failure: (req: Req, message: string, detail?: unknown) => Error) {
    this.calls = new PendingCalls(failure, {
      start: (replied, died) => {
        // Advanced serialisation carries typed arrays (decoded PCM) as they are; no inherited flags (vitest's, the
        // inspector's): the entry installs the loader itself. stdout is ignored, stderr shared, so a crash is visible.
        const c = fork(ENTRY, [entry.href], { serialization: 'advanced', execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
        c.on('message', replied);
        c.on('error', (e) => died(`helper process failed: ${e.message}`));
        c.on('exit', (code, signal) => died(`helper process failed: exited with ${signal ?? `code ${code}`}`));
        return c;
      },
      post: (c, m) => c.send(m),
      hold: (c, on) => {
        // The process and its IPC channel each keep the event loop alive.
        const ch = c.channel as { ref(): void; unref(): void } | undefined;
        if (on) {
          c.ref();
          ch?.ref();
        } else {
          c.unref();
          ch?.unref();
        }
      },
    });
  }

  /** Starts the helper ahead of the first call (node and tsx take a few hundred ms), idle and unref'd. */
  warm(): void {
    this.calls.warm();
  }

  call(req: Req): Promise<Res> {
    return this.calls.call(req);
  }
}

/** The helper's side: answers each request with `handle`'s value or its error; exits when the gateway goes away. */
export function serveOffProcess<Req, Res>(handle: (req: Req) => Promise<Res>, detail?: (e: Error) => unknown): void {
  if (!process.send) throw new Error('serveOffProcess: not started by OffProcess (no IPC channel)');
  const send = process.send.bind(process);
  process.on('message', (m: { id: number; req: Req }) => {
    handle(m.req).then(
      (value) => send({ id: m.id, ok: true, value } satisfies Reply<Res>),
      (e: Error) => send({ id: m.id, ok: false, error: e.message, detail: detail?.(e) } satisfies Reply<Res>),
    );
  });
  // The gateway died or closed the channel: nothing more will be asked.
  process.on('disconnect', () => process.exit(0));
}
