// Timestamped event-loop stalls, for the soak (bench/soak.ts) to join each late call to what held a thread then.
// prom-client's lag histogram (and perf_hooks' monitorEventLoopDelay) says how bad the stalls were over a scrape, not
// when: a late call cannot be matched to one. Off by default; `EARSHOT_STALL_LOG=FILE` turns it on in the gateway's
// main thread and its listen and ASR workers (each line names its thread), and the soak records its own loop too.
//
// A fine interval timer: a tick that comes more than `thresholdMs` after it was due is a stall that began when the
// previous tick ran. Each of V8's collections of at least `gcMinMs` is written too (a PerformanceObserver on 'gc':
// start, duration, kind), so a stall can be told to be a collection or the thread's own work (or waiting for a core).
// Each stall also says how much of it the thread ran (`run`) and how much it was ready but waiting for a core
// (`wait`, the host's other work or the process's other threads), from the kernel's per-thread schedstat; the rest
// it was blocked (a synchronous wait). Lines go out in batches through an asynchronous append, never a synchronous
// write on the thread being measured.
import { appendFile, openSync, readlinkSync, readSync } from 'node:fs';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

export interface StallLine {
  /** Thread: 'main', 'listen-0', 'asr-1', 'soak', … */
  th: string;
  /**
   * 'stall' (the loop late), 'gc' (a collection: kind minor / major / incremental / weakcb), or 'tid' (once, at
   * start: kind is "PID/TID", so that bench/threadSampler.worker.ts's per-thread CPU can be named).
   */
  ev: 'stall' | 'gc' | 'tid';
  /** Start, ms since the epoch (sub-millisecond: performance.timeOrigin + performance.now()). */
  t: number;
  /** Duration, ms. */
  ms: number;
  kind?: string;
  /** Stalls: ms of it the thread was on a core, and ms it was runnable but waiting for one (schedstat). */
  run?: number;
  wait?: number;
}

/** This thread's cumulative (on-core ns, runqueue-wait ns) from /proc/thread-self/schedstat; null off Linux. */
export function threadSchedReader(): (() => [number, number] | null) {
  let fd: number;
  try {
    fd = openSync('/proc/thread-self/schedstat', 'r');
  } catch {
    return () => null;
  }
  const buf = Buffer.alloc(96);
  return () => {
    try {
      const n = readSync(fd, buf, 0, buf.length, 0);
      const [run, wait] = buf.toString('latin1', 0, n).split(' ');
      return [Number(run), Number(wait)];
    } catch {
      return null;
    }
  };
}

export interface StallRecorderOptions {
  file: string;
  thread: string;
  intervalMs?: number;
  thresholdMs?: number;
  gcMinMs?: number;
  /** For tests: the clock (ms, monotonic) and where a batch goes. */
  now?: () => number;
  write?: (text: string) => void;
  sched?: () => [number, number] | null;
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** The stall a tick reveals, or null: the loop was due at `prev + interval` and ran at `now`. */
export function stallOf(prev: number, now: number, intervalMs: number, thresholdMs: number): { start: number; ms: number } | null {
  const late = now - prev - intervalMs;
  return late > thresholdMs ? { start: prev, ms: late } : null;
}

export class StallRecorder {
  private readonly lines: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flusher: NodeJS.Timeout | null = null;
  private observer: PerformanceObserver | null = null;
  private last = 0;
  private lastSched: [number, number] | null = null;
  private readonly sched: () => [number, number] | null;
  private readonly interval: number;
  private readonly threshold: number;
  private readonly now: () => number;
  private readonly write: (text: string) => void;
  constructor(private readonly o: StallRecorderOptions) {
    this.interval = o.intervalMs ?? 5;
    this.threshold = o.thresholdMs ?? 15;
    this.now = o.now ?? (() => performance.now());
    this.write = o.write ?? ((text) => appendFile(o.file, text, () => undefined));
    this.sched = o.sched ?? threadSchedReader();
  }

  start(): this {
    this.last = this.now();
    this.lastSched = this.sched();
    const tid = threadKey();
    if (tid) this.push({ th: this.o.thread, ev: 'tid', t: performance.timeOrigin + performance.now(), ms: 0, kind: tid });
    this.timer = setInterval(() => this.tick(), this.interval);
    this.timer.unref();
    this.flusher = setInterval(() => this.flush(), 1000);
    this.flusher.unref();
    const gcMin = this.o.gcMinMs ?? 2;
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
        if (e.duration >= gcMin) this.push({ th: this.o.thread, ev: 'gc', t: performance.timeOrigin + e.startTime, ms: round(e.duration), kind: GC_KINDS[e.detail?.kind ?? -1] ?? String(e.detail?.kind) });
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
    return this;
  }

  /** One tick of the timer (public for tests). */
  tick(): void {
    const now = this.now();
    const s = stallOf(this.last, now, this.interval, this.threshold);
    const sched = this.sched();
    if (s) {
      const line: StallLine = { th: this.o.thread, ev: 'stall', t: performance.timeOrigin + s.start, ms: round(s.ms) };
      if (sched && this.lastSched) {
        line.run = round((sched[0] - this.lastSched[0]) / 1e6);
        line.wait = round((sched[1] - this.lastSched[1]) / 1e6);
      }
      this.push(line);
    }
    this.last = now;
    this.lastSched = sched;
  }

  push(line: StallLine): void {
    this.lines.push(JSON.stringify(line));
  }

  flush(): void {
    if (!this.lines.length) return;
    this.write(this.lines.join('\n') + '\n');
    this.lines.length = 0;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.flusher) clearInterval(this.flusher);
    this.observer?.disconnect();
    this.flush();
  }
}

const round = (x: number) => Math.round(x * 10) / 10;

/** "PID/TID" of the calling thread (Linux), else null. */
export function threadKey(): string | null {
  try {
    const [pid, , tid] = readlinkSync('/proc/thread-self').split('/');
    return `${pid}/${tid}`;
  } catch {
    return null;
  }
}

/** Starts a recorder on this thread when `EARSHOT_STALL_LOG` names a file (bench only); else does nothing. */
export function recordStallsFromEnv(thread: string, env: NodeJS.ProcessEnv = process.env, intervalMs = 5): StallRecorder | null {
  const file = env.EARSHOT_STALL_LOG;
  return file ? new StallRecorder({ file, thread, intervalMs }).start() : null;
}
