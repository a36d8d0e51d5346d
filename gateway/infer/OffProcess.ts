// Calls into a small helper process for work that must not start in the gateway's own process: starting a program.
// fork() of a process holding ~700 MB and a dozen threads takes the whole address space's lock while it copies the
// page tables and then makes every thread's next write to each page fault (copy-on-write), so a spawn from any thread
// of the gateway — a worker's too — stalls the calls' event loop and the listen workers (the soak's upload attack:
// ~50 % of the main thread's stalled time while it ran, branch soak7). The helper is a fresh node process of a few
// tens of MB, forked once, that spawns the program itself. One request, one reply, like OffThread: it starts on first
// use, holds the gateway open only while a call is pending, dies with the gateway (its IPC channel closes), and if it
// dies, its pending calls fail and the next call starts a new one.
import { fork, type ChildProcess } from 'node:child_process';
import { PendingCalls, type Reply } from './PendingCalls.js';

const ENTRY = new URL('./process-entry.mjs', import.meta.url);

export class OffProcess<Req, Res> {
  private child: ChildProcess | null = null;
  private readonly pending: PendingCalls<Req, Res>;

  /** `failure` turns the helper's error (message and detail) into the caller's error type. */
  constructor(
    private readonly entry: URL,
    failure: (req: Req, message: string, detail?: unknown) => Error,
  ) {
    this.pending = new PendingCalls(failure);
  }

  /** Starts the helper ahead of the first call (node and tsx take a few hundred ms), idle and unref'd. */
  warm(): void {
    this.started();
  }

  call(req: Req): Promise<Res> {
    const c = this.started();
    const { id, reply } = this.pending.add(req);
    this.hold(c, true);
    c.send({ id, req });
    return reply;
  }

  /** Ends the helper (its pending calls fail). */
  stop(): void {
    this.child?.kill();
  }

  /** While a call is pending the helper keeps the gateway's event loop alive; idle, it does not. */
  private hold(c: ChildProcess, on: boolean): void {
    const ch = c.channel as { ref(): void; unref(): void } | undefined;
    if (on) {
      c.ref();
      ch?.ref();
    } else {
      c.unref();
      ch?.unref();
    }
  }

  private started(): ChildProcess {
    if (this.child) return this.child;
    // Advanced serialisation carries typed arrays (decoded PCM) as they are; no inherited flags (vitest's, the
    // inspector's): the entry installs the loader itself. stdout is ignored, stderr shared, so a crash is visible.
    const c = fork(ENTRY, [this.entry.href], { serialization: 'advanced', execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    c.on('message', (m: Reply<Res>) => {
      if (this.pending.settle(m) && !this.pending.size) this.hold(c, false);
    });
    const died = (why: string) => {
      if (this.child !== c) return;
      this.child = null;
      this.pending.failAll(`helper process failed: ${why}`);
    };
    c.on('error', (e) => died(e.message));
    c.on('exit', (code, signal) => died(`exited with ${signal ?? `code ${code}`}`));
    this.hold(c, false);
    return (this.child = c);
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
