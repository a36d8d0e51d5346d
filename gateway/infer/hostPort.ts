// The module's side of a Host (Host.ts): its start-up data, its name, and its line to the owner, the same whether it
// runs as a worker thread or as a helper process.
import { parentPort, threadId, workerData } from 'node:worker_threads';
import type { FatalNotice, HostKind, StartNotice } from './Host.js';

export interface HostPort<Data, In, Out> {
  readonly kind: HostKind;
  readonly data: Data;
  /** For logs and stall records: the thread id or the process id. */
  readonly name: string;
  post(message: Out): void;
  onMessage(cb: (message: In) => void): void;
  /** Ends the module after `message` (its last word, e.g. why it cannot start) has reached the owner. */
  fail(message: Out, error: Error): void;
}

/**
 * The module's port; call once, first thing. A helper process gets its start-up data as the first message on its
 * channel (Host.ts), so this waits for it there.
 */
export async function hostPort<Data, In, Out>(): Promise<HostPort<Data, In, Out>> {
  if (parentPort) {
    const port = parentPort;
    return {
      kind: 'thread',
      data: workerData as Data,
      name: `thread-${threadId}`,
      post: (m) => port.postMessage(m),
      onMessage: (cb) => port.on('message', cb),
      fail: (m, e) => {
        port.postMessage(m);
        // Uncaught: the owner's Worker reports it as an 'error' with this message.
        throw e;
      },
    };
  }
  if (!process.send) throw new Error('hostPort: not started by a Host (no parent port, no IPC channel)');
  const send = process.send.bind(process);
  /** Exits once `last` has reached the owner (at once when the channel is gone). */
  const sendAndExit = (last: unknown) => {
    const exit = () => process.exit(1);
    if (!process.connected) exit();
    else send(last, exit);
  };
  // One listener for good: the start-up data, then requests, held until the module takes them.
  let take: ((m: In) => void) | null = null;
  const early: In[] = [];
  let gotData: ((d: Data) => void) | null = null;
  const data = new Promise<Data>((resolve) => (gotData = resolve));
  process.on('message', (m: unknown) => {
    if (gotData && m && typeof m === 'object' && '__hostData' in m) {
      gotData((m as StartNotice<Data>).__hostData);
      gotData = null;
    } else if (take) take(m as In);
    else early.push(m as In);
  });
  // The owner is gone (or closed the channel to stop us): nothing more will be asked.
  process.on('disconnect', () => process.exit(0));
  // A signal to the whole process group (a terminal's Ctrl-C, `kill -TERM -<pgid>`) is meant for the gateway, which
  // drains its calls — and needs its helpers meanwhile — then closes their channels.
  process.on('SIGTERM', () => {});
  process.on('SIGINT', () => {});
  // An unexpected error ends the helper as it would end a worker thread, with its message sent ahead.
  process.on('uncaughtException', (e) => sendAndExit({ __hostFatal: e.message } satisfies FatalNotice));
  return {
    kind: 'process',
    data: await data,
    name: `process-${process.pid}`,
    post: (m) => {
      if (process.connected) send(m);
    },
    onMessage: (cb) => {
      take = cb;
      for (const m of early.splice(0)) cb(m);
    },
    fail: (m) => sendAndExit(m),
  };
}
