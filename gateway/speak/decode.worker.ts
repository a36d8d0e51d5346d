// The decode worker (promptImport.ts): runs ffmpeg for the main thread, so that starting it (a fork of the whole
// gateway process) stalls this thread, never the calls' event loop.
import { serveOffThread } from '../infer/OffThread.js';
import { decodeInThisThread, PromptImportError, type DecodeOptions } from './promptImport.js';

serveOffThread<{ path: string; rate: number; opts: DecodeOptions }, Int16Array>(
  async ({ path, rate, opts }) => {
    const pcm = await decodeInThisThread(path, rate, opts);
    return { value: pcm, transfer: [pcm.buffer as ArrayBuffer] };
  },
  (e) => e instanceof PromptImportError && e.timedOut,
);
