// Where log lines go: a bounded, asynchronous writer to a file descriptor that can never stop the event loop.
//
// pino's default destination writes synchronously, and on a pipe whose reader stalls or went away it retried every
// 100 ms in Atomics.wait, forever: no call was served and SIGTERM was never handled. Here a line is appended to an
// in-memory queue and written by fs.write (libuv's thread pool) one chunk at a time; the event loop never waits.
//   - queue over `maxBytes`: the line is dropped and counted (a stalled reader costs log lines, not calls);
//   - EAGAIN (a non-blocking pipe that is full): retried after a short pause, the queue still bounded;
//   - EPIPE / EBADF / anything else: the descriptor is dead; nothing more is written to it, every later line is
//     dropped and counted.
// Drops are reported through `onDrop` (a Prometheus counter in log.ts) and, once the destination can write
// again, by one summary line.
import { write as fsWrite } from 'node:fs';

export interface LogDestinationOptions {
  fd: number;
  /** Most bytes queued; a line that would exceed it is dropped. */
  maxBytes: number;
  /** Lines dropped: `full` (queue over maxBytes) or `dead` (descriptor gone). */
  onDrop?(reason: 'full' | 'dead', lines: number): void;
  /** Tests: the write call (fs.write's signature). */
  write?: (fd: number, buf: Buffer, cb: (err: NodeJS.ErrnoException | null, written: number) => void) => void;
}

const RETRY_MS = 50;

export class LogDestination {
  private queue: string[] = [];
  private queuedBytes = 0;
  private writing = false;
  private retry: NodeJS.Timeout | null = null;
  private droppedSinceReport = 0;
  private idleWaiters: (() => void)[] = [];
  maxBytes: number;
  /** Set when the descriptor failed for good; its error code. */
  dead: string | null = null;
  readonly counts = { written: 0, droppedFull: 0, droppedDead: 0 };
  private readonly writeFn: NonNullable<LogDestinationOptions['write']>;

  constructor(private readonly opts: LogDestinationOptions) {
    this.maxBytes = opts.maxBytes;
    this.writeFn = opts.write ?? ((fd, buf, cb) => fsWrite(fd, buf, 0, buf.length, null, cb));
  }

  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** pino's stream interface: one serialized line (with its newline). Never blocks, never throws. */
  write(line: string): boolean {
    if (this.dead) {
      this.drop('dead');
      return false;
    }
    const n = Buffer.byteLength(line);
    if (this.queuedBytes + n > this.maxBytes) {
      this.drop('full');
      return false;
    }
    this.queue.push(line);
    this.queuedBytes += n;
    if (!this.writing && !this.retry) this.next();
    return true;
  }

  /** Resolves once everything queued is written (or dropped), or after `timeoutMs` whatever the state. */
  flush(timeoutMs: number): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, timeoutMs);
      t.unref();
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.idleWaiters.push(done);
    });
  }

  private get idle(): boolean {
    return !this.writing && this.queue.length === 0;
  }

  private drop(reason: 'full' | 'dead'): void {
    if (reason === 'full') this.counts.droppedFull++;
    else this.counts.droppedDead++;
    this.droppedSinceReport++;
    this.opts.onDrop?.(reason, 1);
  }

  private next(): void {
    if (this.dead || !this.queue.length) {
      this.writing = false;
      if (this.dead) this.discard();
      for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    this.writing = true;
    if (this.droppedSinceReport) {
      // The reader is back: say how much it missed, once, ahead of what is queued.
      this.queue.unshift(`${JSON.stringify({ level: 40, time: Date.now(), svc: 'earshot', dropped: this.droppedSinceReport, msg: 'log lines dropped: the log reader was not keeping up' })}\n`);
      this.droppedSinceReport = 0;
    }
    const text = this.queue.join('');
    this.queue = [];
    this.queuedBytes = 0;
    this.writeChunk(Buffer.from(text));
  }

  private writeChunk(buf: Buffer): void {
    this.writeFn(this.opts.fd, buf, (err, written) => {
      if (err) {
        if (err.code === 'EAGAIN' || err.code === 'EWOULDBLOCK' || err.code === 'EINTR') {
          // A full non-blocking pipe: try again shortly (the chunk was within the bound when it was queued).
          this.retry = setTimeout(() => {
            this.retry = null;
            this.writeChunk(buf);
          }, RETRY_MS);
          this.retry.unref();
          return;
        }
        this.dead = err.code ?? 'EIO';
        this.drop('dead');
        return this.next();
      }
      this.counts.written += written;
      if (written < buf.length) return this.writeChunk(buf.subarray(written));
      this.next();
    });
  }

  private discard(): void {
    for (let i = 0; i < this.queue.length; i++) this.drop('dead');
    this.queue = [];
    this.queuedBytes = 0;
  }
}
