// niceThisThread lowers the priority of the thread that calls it and of no other (the ASR workers are niced so the
// event loop and the listen workers get a core first; a process-wide nice would slow those too).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';

const niceOf = (tid: number) => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16]);

describe.skipIf(process.platform !== 'linux')('niceThisThread', () => {
  it('sets the calling worker thread’s nice value, not the process’s', async () => {
    const mainBefore = niceOf(process.pid);
    const w = new Worker(new URL('../gateway/infer/worker-entry.mjs', import.meta.url), {
      workerData: { __entry: new URL('./fixtures/niceWorker.ts', import.meta.url).href, niceness: 7 },
    });
    const tid = await new Promise<number>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    try {
      expect(niceOf(tid)).toBe(7);
      expect(niceOf(process.pid)).toBe(mainBefore);
    } finally {
      await w.terminate();
    }
  });
});
