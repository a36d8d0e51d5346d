// The file that signed checkpoints (checkpoint.ts) are appended to, one JSON line each. It should live on storage
// the gateway can append to but not rewrite (a `chattr +a` file, a WORM or remote mount); by default it sits beside
// the database, where it only catches tampering with the database alone. Checkpoints after appends are written off
// the event loop (libuv's pool) and coalesced — only the newest head matters, so at most one write is in flight and
// one waits, however fast records come; the ones at start and shutdown are written synchronously.
import { closeSync, fdatasync, fsyncSync, mkdirSync, openSync, readSync, statSync, write, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fsyncDir } from './audioFile.js';
import { parseCheckpoints, signCheckpoint, type ChainHead, type Checkpoint } from './checkpoint.js';
import type { EvidenceKey } from './keyring.js';

export class CheckpointLog {
  private fd: number | null;
  private busy = false;
  private waiting: ChainHead | null = null;
  private written: ChainHead | null = null;
  private closing = false;

  constructor(
    readonly path: string,
    private readonly key: EvidenceKey,
    private readonly onError: (e: Error) => void,
    private readonly now: () => Date = () => new Date(),
  ) {
    const dir = dirname(resolve(path));
    const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.fd = openSync(path, 'a', 0o600);
    if (created) fsyncDir(dirname(resolve(created)));
    fsyncDir(dir);
  }

  /** The newest checkpoint in `path` (reads only the end of the file), or null when there is none. */
  static readLast(path: string): Checkpoint | null {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return null;
    }
    try {
      const size = statSync(path).size;
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      const { checkpoints } = parseCheckpoints(buf.toString('utf8').split('\n').slice(size > len ? 1 : 0).join('\n'));
      return checkpoints.at(-1) ?? null;
    } finally {
      closeSync(fd);
    }
  }

  /** Writes a checkpoint of `head` and fsyncs it before returning (start-up, shutdown). */
  writeSync(head: ChainHead): Checkpoint {
    if (this.fd === null) throw new Error('checkpoint log is closed');
    const cp = signCheckpoint(head, this.key, this.now());
    writeSync(this.fd, `${JSON.stringify(cp)}\n`);
    fsyncSync(this.fd);
    this.written = head;
    return cp;
  }

  /** Queues a checkpoint of `head`; returns at once. */
  write(head: ChainHead): void {
    if (this.fd === null || this.closing) return;
    if (this.busy) {
      this.waiting = head;
      return;
    }
    this.busy = true;
    const fd = this.fd;
    const cp = signCheckpoint(head, this.key, this.now());
    write(fd, `${JSON.stringify(cp)}\n`, null, 'utf8', (err) => {
      if (err) return this.done(err);
      fdatasync(fd, (e) => {
        if (!e) this.written = head;
        this.done(e);
      });
    });
  }

  /** The last head known to be on disk. */
  get lastWritten(): ChainHead | null {
    return this.written;
  }

  /** Writes `head` synchronously unless it is already on disk, then closes the file once no write is in flight. */
  close(head: ChainHead | null): void {
    if (this.fd === null || this.closing) return;
    this.waiting = null;
    if (head && (this.written?.seq !== head.seq || this.written.hash !== head.hash)) {
      try {
        this.writeSync(head);
      } catch (e) {
        this.onError(e as Error);
      }
    }
    this.closing = true;
    if (!this.busy) this.release();
  }

  private done(err: Error | null): void {
    this.busy = false;
    if (err) this.onError(err);
    if (this.closing) return this.release();
    const next = this.waiting;
    this.waiting = null;
    if (next) this.write(next);
  }

  private release(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
