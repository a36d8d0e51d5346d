// Plain-JS entry for worker threads: Node 20 does not carry tsx's loader into workers reliably, so the worker
// registers it itself and then loads the TypeScript module named by the parent.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.__entry);
