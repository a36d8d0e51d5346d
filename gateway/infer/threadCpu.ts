// CPU time of the calling thread. process.cpuUsage() is process-wide (it would charge a stream for the main thread
// and every other worker); Linux exposes per-thread time in /proc/thread-self/schedstat (ns), read with pread on an
// fd opened once. Elsewhere, fall back to wall time, which equals CPU time for single-threaded decode on an idle core.
import { closeSync, openSync, readSync } from 'node:fs';

export class ThreadCpuClock {
  private fd: number | null = null;
  private readonly buf = Buffer.alloc(96);
  readonly source: 'schedstat' | 'wall';

  constructor() {
    try {
      this.fd = openSync('/proc/thread-self/schedstat', 'r');
      this.read();
    } catch {
      if (this.fd !== null) closeSync(this.fd);
      this.fd = null;
    }
    this.source = this.fd === null ? 'wall' : 'schedstat';
  }

  private read(): number {
    const n = readSync(this.fd!, this.buf, 0, this.buf.length, 0);
    const ns = Number.parseInt(this.buf.toString('latin1', 0, n), 10);
    if (!Number.isFinite(ns)) throw new Error('unreadable schedstat');
    return ns / 1e6;
  }

  /** Milliseconds, monotonic; only differences are meaningful. */
  nowMs(): number {
    return this.fd === null ? performance.now() : this.read();
  }
}
