// Where a long-lived inference loop runs: a worker thread of the gateway's process, or a helper process of its own.
// Native code can end a process from any thread: sherpa-onnx-node threw a C++ exception (`Napi::Error`) while a
// recogniser thread was torn down, and `std::terminate` took the test process — in the gateway it would take every
// call. In a helper process the same abort ends the helper alone; its owner sees a death and restarts it. The cost is
// a copy of each message (a pipe instead of a shared-memory port; buffers cannot be transferred) and a node process
// per helper (README: Models). The module itself is written once (hostPort.ts), for either host.
import { fork, type ChildProcess } from 'node:child_process';
import type { Worker } from 'node:worker_threads';
import { spawnWorker } from './spawn.js';

export type HostKind = 'thread' | 'process';

/** The owner's side of one running module. */
export interface Host {
  readonly kind: HostKind;
  /** The helper's process id (a process host). */
  readonly pid?: number;
  /** `transfer`: buffers handed over (a thread), or copied with the message (a process). */
  post(message: unknown, transfer?: ArrayBuffer[]): void;
  onMessage(cb: (message: any) => void): void;
  /** Called once, the first time the module is seen to end: an uncaught error's message, an exit code or a signal. */
  onDeath(cb: (why: string) => void): void;
  /** Whether the module keeps this process's event loop alive (it does from its start). */
  hold(on: boolean): void;
  /** Ends the module and waits until it is gone. */
  stop(): Promise<void>;
  /** Ends a module that no longer answers, at once; its death is reported as any other. */
  kill(): void;
}

/** A helper process's first message: its start-up data (a lexicon's hotwords would not fit an environment variable). */
export interface StartNotice<Data> {
  __hostData: Data;
}

/** Sent by hostPort in a helper process on an uncaught error, just before it exits: the death's reason. */
export interface FatalNotice {
  __hostFatal: string;
}

const PROCESS_ENTRY = new URL('./process-entry.mjs', import.meta.url);
/** How long a helper may take to exit once its channel is closed before it is killed. */
const STOP_GRACE_MS = 2000;

/** Starts `url` (a module written with hostPort) with `data` as its start-up data. */
export function startHost(kind: HostKind, url: URL, data: Record<string, unknown>): Host {
  return kind === 'thread' ? threadHost(spawnWorker(url, data)) : processHost(url, data);
}

function threadHost(worker: Worker): Host {
  let death: ((why: string) => void) | null = null;
  let dead = false;
  const died = (why: string) => {
    if (dead) return;
    dead = true;
    death?.(why);
  };
  // Both events can fire for one death: the first says why.
  worker.on('error', (e) => died(e.message));
  worker.on('exit', (code) => died(`exited with code ${code}`));
  return {
    kind: 'thread',
    post: (m, transfer) => worker.postMessage(m, transfer),
    onMessage: (cb) => worker.on('message', cb),
    onDeath: (cb) => (death = cb),
    hold: (on) => (on ? worker.ref() : worker.unref()),
    stop: async () => {
      dead = true;
      await worker.terminate();
    },
    // A thread stuck in JavaScript is ended; one stuck in native code cannot be (a process can).
    kill: () => void worker.terminate(),
  };
}

function processHost(url: URL, data: Record<string, unknown>): Host {
  // Advanced serialisation carries typed arrays as they are. No inherited flags (vitest's, the inspector's): the
  // entry installs the loader itself. stdout and stderr are the gateway's, so the helper's log lines land in the same
  // stream. The start-up data is the first message (not an argument, which `ps` would list, nor an environment
  // variable, which holds at most 128 KB on Linux); the channel keeps it until the module listens.
  const child: ChildProcess = fork(PROCESS_ENTRY, [url.href], {
    serialization: 'advanced',
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let death: ((why: string) => void) | null = null;
  let dead = false;
  let fatal = '';
  const died = (why: string) => {
    if (dead) return;
    dead = true;
    death?.(fatal || why);
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('error', (e) => died(`helper process failed: ${e.message}`));
  child.on('exit', (code, signal) => died(signal ? `helper process killed by ${signal}` : `helper process exited with code ${code}`));
  // Writing to a helper that just died fails asynchronously (EPIPE, a closed channel); its exit reports the death.
  const sent = (e: Error | null) => e && died(`helper process failed: ${e.message}`);
  let onMessage: ((m: any) => void) | null = null;
  child.on('message', (m: any) => {
    if (m && typeof m === 'object' && '__hostFatal' in m) fatal = String((m as FatalNotice).__hostFatal);
    else onMessage?.(m);
  });
  child.send({ __hostData: data } satisfies StartNotice<Record<string, unknown>>, sent);
  return {
    kind: 'process',
    pid: child.pid,
    post: (m) => {
      if (!dead && child.connected) child.send(m as object, sent);
    },
    onMessage: (cb) => (onMessage = cb),
    onDeath: (cb) => (death = cb),
    hold: (on) => {
      // The process and its IPC channel each keep the event loop alive.
      const ch = child.channel as { ref(): void; unref(): void } | null | undefined;
      if (on) {
        child.ref();
        ch?.ref();
      } else {
        child.unref();
        ch?.unref();
      }
    },
    stop: async () => {
      dead = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      // A closed channel is the helper's signal to exit (hostPort); a helper stuck in native code is killed.
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
    kill: () => child.kill('SIGKILL'),
  };
}
