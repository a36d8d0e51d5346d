// Durable WAV writes for evidence audio. The file must be complete and on disk before the row that names it is
// committed, so a crash can leave an orphan WAV (harmless) but never a row whose audio is missing or truncated.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { OffThread } from '../infer/OffThread.js';

/** Writes `bytes` to `path` via a temp file in the same directory: write, fsync, rename, fsync the directory. */
export function writeFileDurable(path: string, bytes: Uint8Array): void {
  const dir = resolve(dirname(path));
  // Owner-only: a callee's voice is personal data (0700 directories, 0600 files).
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  // The rename lives in the directory entry; without this fsync a power cut can forget the file although its data
  // blocks were synced.
  fsyncDir(dir);
  if (created) {
    // New directories (a new day) are entries in their parents, which need syncing as well.
    const top = dirname(resolve(created));
    for (let d = dirname(dir); ; d = dirname(d)) {
      fsyncDir(d);
      if (d === top || d === dirname(d)) break;
    }
  }
}

/** The same in a worker thread (wavWriter.worker.ts): the live-call path, whose event loop must not wait on fsync. */
export function writeFileDurableOffThread(path: string, bytes: Uint8Array): Promise<void> {
  return writer.call({ path, bytes }).then(() => undefined);
}

/** Loads the writer's thread now, so that the first decision of a live gateway does not wait for it. */
export function warmWavWriter(): void {
  writer.warm();
}

const writer = new OffThread<{ path: string; bytes: Uint8Array }, null>(new URL('./wavWriter.worker.ts', import.meta.url), (req, message) => new Error(`writing ${req.path}: ${message}`));

/** fsyncs a directory, so a new or renamed entry in it survives a power cut. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
