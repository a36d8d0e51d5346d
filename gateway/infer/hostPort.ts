// The module's side of a Host (Host.ts): its start-up data, its name, and its line to the owner, the same whether it
// runs as a worker thread or as a helper process.
import { parentPort, threadId, workerData } from 'node:worker_threads';
import type { FatalNotice, HostKind } from './Host.js';

export interface HostPort<Data, In, Out> {
  readonly kind: HostKind;
  readonly data: Data;
  /** For logs and stall records: the thread id or the process id. */
  readonly name: string;
  post(message: Out, transfer?: ArrayBuffer[]): void;
  onMessage(cb: (message: In) => void): void;
  /** Ends the module after `message` (its last word, e.g. why it cannot start) has reached the owner. */
  fail(message: Out, error: Error): void;
}

export function hostPort<Data, In, Out>(): HostPort<Data, In, Out> {
  if (parentPort) {
    const port = parentPort;
    return {
      kind: 'thread',
      data: workerData as Data,
      name: `thread-${threadId}`,
      post: (m, transfer) => port.postMessage(m, transfer),
      onMessage: (cb) => port.on('message', cb),
      fail: (m, e) => {
        port.postMessage(m);
        // Uncaught: the owner's Worker reports it as an 'error' with this message.
        throw e;
      },
    };
  }
  const raw = process.env.EARSHOT_HOST_DATA;
  if (!process.send || raw === undefined) throw new Error('hostPort: not started by a Host (no parent port, no IPC channel)');
  const send = process.send.bind(process);
  // The owner is gone (or closed the channel to stop us): nothing more will be asked.
  process.on('disconnect', () => process.exit(0));
  // A signal to the whole process group (a terminal's Ctrl-C, `kill -TERM -<pgid>`) is meant for the gateway, which
  // drains its calls — and needs its helpers meanwhile — then closes their channels.
  process.on('SIGTERM', () => {});
  process.on('SIGINT', () => {});
  // An unexpected error ends the helper as it would end a worker thread, with its message sent ahead.
  process.on('uncaughtException', (e) => {
    const exit = () => process.exit(1);
    if (!process.connected) exit();
    else send({ __hostFatal: e.message } satisfies FatalNotice, exit);
  });
  return {
    kind: 'process',
    data: JSON.parse(raw) as Data,
    name: `process-${process.pid}`,
    post: (m) => {
      if (process.connected) send(m);
    },
    onMessage: (cb) => process.on('message', cb as (m: unknown) => void),
    fail: (m) => {
      const exit = () => process.exit(1);
      if (!process.connected) exit();
      else send(m, exit);
    },
  };
}
