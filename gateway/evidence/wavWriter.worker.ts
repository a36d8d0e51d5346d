// Writes evidence WAVs durably (write, fsync, rename, fsync the directory) for the main thread: those fsyncs take
// milliseconds each, far more on a busy disk, and must not hold the event loop that carries every call's audio.
import { serveOffThread } from '../infer/OffThread.js';
import { writeFileDurable } from './audioFile.js';

serveOffThread<{ path: string; bytes: Uint8Array }, null>(async ({ path, bytes }) => {
  writeFileDurable(path, bytes);
  return { value: null };
});
