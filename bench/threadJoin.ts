// What ran while the gateway's main thread stalled: bench/threadSampler.worker.ts's per-thread on-core times, set
// beside each stall of the main thread (bench/stallJoin.ts's stalls.jsonl), summed by who: the gateway's main thread,
// its listen workers, its ASR workers, its other threads (V8's GC helpers, libuv's pool, onnxruntime's), the soak's
// main thread (the normal calls), the soak's other threads (the abusive clients, mostly), and the host's other
// processes (busy time on /proc/stat that none of those threads account for).
import type { StallLine } from '../gateway/ops/stallRecorder.js';

export interface ThreadSample {
  t: number;
  /** Host busy ms so far, all cores. */
  host: number;
  /** "PID/TID" → on-core ms so far. */
  cpu: Record<string, number>;
}

export type Who = 'gateway main' | 'gateway listen' | 'gateway asr' | 'gateway other threads' | 'soak main' | 'soak other threads' | 'other processes';
export const WHO: Who[] = ['gateway main', 'gateway listen', 'gateway asr', 'gateway other threads', 'soak main', 'soak other threads', 'other processes'];

/** Labels each "PID/TID" from the recorders' `tid` lines (their `kind`) and the two processes' ids. */
export function labeller(stalls: StallLine[], gatewayPid: number, soakPid: number): (key: string) => Who {
  const named = new Map<string, string>();
  // An ASR worker in a helper process (asr.host: process): every thread of that process is the worker's.
  const asrProcesses = new Set<number>();
  for (const s of stalls) {
    if (s.ev !== 'tid' || !s.kind) continue;
    named.set(s.kind, s.th);
    const pid = Number(s.kind.split('/')[0]);
    if (s.th.startsWith('asr') && pid !== gatewayPid) asrProcesses.add(pid);
  }
  return (key) => {
    const th = named.get(key);
    const pid = Number(key.split('/')[0]);
    if (pid === soakPid) return key === `${soakPid}/${soakPid}` ? 'soak main' : 'soak other threads';
    if (asrProcesses.has(pid)) return 'gateway asr';
    if (pid !== gatewayPid) return 'other processes';
    if (th === 'main' || key === `${gatewayPid}/${gatewayPid}`) return 'gateway main';
    if (th?.startsWith('listen')) return 'gateway listen';
    if (th?.startsWith('asr')) return 'gateway asr';
    return 'gateway other threads';
  };
}

/** CPU ms by who between two samples (the host's other processes: busy time no sampled thread accounts for). */
export function cpuBetween(a: ThreadSample, b: ThreadSample, label: (key: string) => Who): Record<Who, number> {
  const out = Object.fromEntries(WHO.map((w) => [w, 0])) as Record<Who, number>;
  let ours = 0;
  for (const [key, v] of Object.entries(b.cpu)) {
    const d = v - (a.cpu[key] ?? v);
    if (d <= 0) continue;
    out[label(key)] += d;
    ours += d;
  }
  out['other processes'] += Math.max(0, b.host - a.host - ours);
  return out;
}

/** Sums, over spans, what each ran (samples bracketing each span); spans overlapping the same samples count once. */
export function whoRan(spans: { t: number; ms: number }[], samples: ThreadSample[], label: (key: string) => Who): { ms: number; spans: number; cpu: Record<Who, number> } {
  const total = Object.fromEntries(WHO.map((w) => [w, 0])) as Record<Who, number>;
  let ms = 0;
  let lastB = -1;
  let n = 0;
  for (const s of [...spans].sort((x, y) => x.t - y.t)) {
    // The last sample at or before the start, the first at or after the end.
    let i = lowerBound(samples, s.t) - 1;
    if (i < 0) continue;
    let j = lowerBound(samples, s.t + s.ms);
    if (j >= samples.length) continue;
    if (i < lastB) i = lastB;
    if (j <= i) continue;
    const c = cpuBetween(samples[i], samples[j], label);
    for (const w of WHO) total[w] += c[w];
    ms += samples[j].t - samples[i].t;
    lastB = j;
    n++;
  }
  for (const w of WHO) total[w] = Math.round(total[w]);
  return { ms: Math.round(ms), spans: n, cpu: total };
}

function lowerBound(xs: ThreadSample[], t: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid].t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Reads threads.jsonl (one sample a line). */
export function parseSamples(text: string): ThreadSample[] {
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as ThreadSample).sort((a, b) => a.t - b.t);
}

/** What ran during the main thread's stalls of at least `minMs` (all, and only those `keep` selects) and the late calls' spans. */
export function printWhoRan(
  stalls: StallLine[],
  samples: ThreadSample[],
  late: { from: number; to: number }[],
  label: (key: string) => Who,
  out: (line: string) => void,
  keep: (t: number) => boolean = () => true,
  minMs = 30,
): void {
  const fmt = (r: ReturnType<typeof whoRan>) => `${r.spans} spans, ${r.ms} ms of wall: ` + WHO.map((w) => `${w} ${r.cpu[w]}`).join(', ') + ' ms of CPU';
  const main = stalls.filter((s) => s.th === 'main' && s.ev === 'stall' && s.ms >= minMs && keep(s.t));
  out(`threads: during the main thread's stalls ≥ ${minMs} ms: ${fmt(whoRan(main, samples, label))}`);
  out(`threads: during the late calls' spans: ${fmt(whoRan(late.filter((c) => keep(c.from)).map((c) => ({ t: c.from, ms: c.to - c.from })), samples, label))}`);
}
