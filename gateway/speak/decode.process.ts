// The decode helper process (promptImport.ts): runs ffmpeg for the gateway, so that starting it is a fork of this
// small process, never of the gateway's (OffProcess.ts says why that stalls every call).
import { serveOffProcess } from '../infer/OffProcess.js';
import { decodeInThisThread, PromptImportError, type DecodeOptions } from './promptImport.js';

serveOffProcess<{ path: string; rate: number; opts: DecodeOptions }, Int16Array>(
  ({ path, rate, opts }) => decodeInThisThread(path, rate, opts),
  (e) => e instanceof PromptImportError && e.timedOut,
);
