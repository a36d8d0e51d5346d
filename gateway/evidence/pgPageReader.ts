// Synchronous page reads from PostgreSQL for the engine-neutral verifyChain (verify.ts), which walks an Iterable of
// records: a worker thread holds the connection and runs the query; this thread posts a request and sleeps on a
// shared flag (Atomics.wait) until the page is there, then takes it off the port (receiveMessageOnPort). One page
// (200 records with their WAVs) in memory at a time, however long the chain. For the CLI and audits only: it blocks
// its thread while it waits, so the gateway never calls it on its event loop.
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { spawnWorker } from '../infer/spawn.js';
import type { StoredEvidence } from './EvidenceLedger.js';

export interface PageRequest {
  afterSeq: number;
}
export type PageReply = { ok: true; page: StoredEvidence[] } | { ok: false; error: string };

const WAIT_MS = 60_000;

export class PgPageReader {
  private constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly flag: Int32Array,
  ) {}

  static async start(url: string): Promise<PgPageReader> {
    const { port1, port2 } = new MessageChannel();
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const worker = spawnWorker(new URL('./pgPage.worker.ts', import.meta.url), { url, port: port2, flag }, [port2]);
    await new Promise<void>((resolve, reject) => {
      worker.once('message', (m: { ready?: boolean; error?: string }) => (m.ready ? resolve() : reject(new Error(m.error ?? 'page reader failed'))));
      worker.once('error', reject);
    });
    return new PgPageReader(worker, port1, flag);
  }

  /** The records after `afterSeq`, in chain order (an empty page: the end of the chain). Blocks until it is read. */
  page(afterSeq: number): StoredEvidence[] {
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage({ afterSeq } satisfies PageRequest);
    if (Atomics.wait(this.flag, 0, 0, WAIT_MS) === 'timed-out') throw new Error(`no page from the database within ${WAIT_MS / 1000} s`);
    const m = receiveMessageOnPort(this.port)?.message as PageReply | undefined;
    if (!m) throw new Error('page reader answered nothing');
    if (!m.ok) throw new Error(m.error);
    return m.page.map((p) => ({ record: p.record, wav: p.wav ? Buffer.from(p.wav) : null }));
  }

  close(): void {
    this.port.close();
    void this.worker.terminate();
  }
}
