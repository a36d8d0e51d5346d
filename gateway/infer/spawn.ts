// Starts a TypeScript module as a worker thread. The entry is plain JS that installs tsx's loader first, so the
// same call works under `tsx`, vitest and the Docker image.
import { Worker, type TransferListItem } from 'node:worker_threads';

const ENTRY = new URL('./worker-entry.mjs', import.meta.url);

/** `transferList`: objects in workerData handed over rather than copied (a MessagePort). */
export function spawnWorker(url: URL, workerData: Record<string, unknown>, transferList?: TransferListItem[]): Worker {
  return new Worker(ENTRY, { workerData: { ...workerData, __entry: url.href }, transferList });
}
