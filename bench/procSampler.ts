// CPU % and RSS of a process and its descendants from /proc, every 500 ms. Worker threads are inside the
// process's own counters; child processes (if the server forks any) are added by walking the parent links.
import { readFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const CLK_TCK = 100; // Linux USER_HZ; `getconf CLK_TCK` is 100 on every mainstream kernel build
const PAGE_MB = 4096 / (1024 * 1024);

export interface ProcSample {
  wall: number; // performance.now()
  cpuMs: number; // cumulative user+system CPU of the tree
  rssMB: number;
  cpuPercent: number; // since the previous sample; 100 = one core
}

function statOf(pid: number): { ppid: number; cpuMs: number; rssMB: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // fields from #3 (state) on; comm may hold spaces
    const utime = Number(f[11]);
    const stime = Number(f[12]);
    return { ppid: Number(f[1]), cpuMs: ((utime + stime) * 1000) / CLK_TCK, rssMB: Number(f[21]) * PAGE_MB };
  } catch {
    return null;
  }
}

function rssFromStatus(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

function treeOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = statOf(Number(d));
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(Number(d));
    children.set(st.ppid, list);
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]) ?? []));
  return out;
}

export class ProcSampler {
  readonly samples: ProcSample[] = [];
  private timer: NodeJS.Timeout | null = null;
  private tree: number[];
  private ticks = 0;

  constructor(private readonly pid: number) {
    this.tree = treeOf(pid);
  }

  sample(): ProcSample | null {
    if (this.ticks++ % 10 === 0) this.tree = treeOf(this.pid); // re-walk every 5 s for late-forked children
    let cpuMs = 0;
    let rssMB = 0;
    let alive = false;
    for (const p of this.tree) {
      const st = statOf(p);
      if (!st) continue;
      alive = true;
      cpuMs += st.cpuMs;
      rssMB += rssFromStatus(p) ?? st.rssMB;
    }
    if (!alive) return null;
    const wall = performance.now();
    const prev = this.samples[this.samples.length - 1];
    const cpuPercent = prev ? (100 * (cpuMs - prev.cpuMs)) / Math.max(1, wall - prev.wall) : 0;
    const s = { wall, cpuMs, rssMB, cpuPercent };
    this.samples.push(s);
    return s;
  }

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), 500);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Samples whose wall time lies in [from, to]. */
  between(from: number, to: number): ProcSample[] {
    return this.samples.filter((s) => s.wall >= from && s.wall <= to);
  }
}

/** CPU ms used between two wall times, from the nearest samples. */
export function cpuMsBetween(samples: readonly ProcSample[], from: number, to: number): number {
  const a = [...samples].reverse().find((s) => s.wall <= from) ?? samples[0];
  const b = [...samples].reverse().find((s) => s.wall <= to) ?? samples[samples.length - 1];
  return a && b ? Math.max(0, b.cpuMs - a.cpuMs) : 0;
}
