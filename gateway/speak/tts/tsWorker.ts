// Starts a worker thread from a TypeScript file. `new Worker(url.ts, { execArgv: ['--import', 'tsx'] })` fails on
// Node 20.20 ("Unknown file extension .ts": the worker's entry is resolved before the --import hooks apply), in
// vitest and under tsx alike. A tiny eval'd bootstrap registers tsx's ESM loader inside the worker first, then
// imports the real entry, which works in both.
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startTsWorker(entry: URL, opts: Omit<WorkerOptions, 'eval'> = {}): Worker {
  // Resolved here, so the worker finds tsx wherever the process was started from.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const src = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(src, { ...opts, eval: true });
}
