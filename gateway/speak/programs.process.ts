// The programs helper process (programs.ts): runs ffmpeg and espeak-ng for the gateway, so that starting either is a
// fork of this small process, never of the gateway's (OffProcess.ts says why that stalls every call).
import { serveOffProcess } from '../infer/OffProcess.js';
import type { ProgramRequest } from './programs.js';
import { decodeInThisThread, PromptImportError } from './promptImport.js';
import { espeakWav } from './tts/espeakProgram.js';

await serveOffProcess<ProgramRequest, unknown>(
  (req) => (req.kind === 'decode' ? decodeInThisThread(req.path, req.rate, req.opts) : espeakWav(req.bin, req.voice, req.speed, req.text)),
  // A decode's detail: whether ffmpeg was killed for its timeout.
  (e) => e instanceof PromptImportError && e.timedOut,
);
