// Where a Chromium trace's CPU went: self thread time (tdur, CPU, not wall) of every complete slice, summed by
// process type, thread and slice name, and how often each renderer's compositor produced a frame. Used by
// bench/monitorCost.ts --trace to see what the monitor pages spend their time on (a flat DevTools "task" total
// says nothing about which part of the rendering pipeline a page keeps busy).
//
//   npx tsx bench/traceSummary.ts TRACE.json [--top 40]

export interface TraceEvent {
  ph: string;
  name: string;
  cat?: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
  args?: Record<string, unknown>;
}

export interface SliceTotal {
  process: string;
  thread: string;
  name: string;
  /** Self thread time (µs): the slice's own CPU, without its children's. */
  selfUs: number;
  count: number;
}

export interface TraceSummary {
  /** Seconds between the first and the last event. */
  spanS: number;
  slices: SliceTotal[];
  /** Thread CPU (µs) inside top-level slices, by process type and thread name. */
  threads: { process: string; thread: string; us: number }[];
  /** Per slice name, how many a second over all renderers (e.g. frames drawn), for names worth counting. */
  rates: Record<string, number>;
}

/** Names whose rate says how often the pages go through the rendering pipeline. */
const COUNTED = ['ProxyMain::BeginMainFrame', 'LayerTreeHostImpl::PrepareToDraw', 'Graphics.Pipeline.DrawAndSwap', 'Display::DrawAndSwap', 'Paint', 'Layout', 'UpdateLayoutTree', 'PaintImage', 'RasterTask', 'TileManager::FlushAndIssueSignals', 'Commit', 'EventDispatch', 'FunctionCall', 'ParseHTML', 'ThreadControllerImpl::RunTask'];

/** Pure: self CPU per (process, thread, slice) from a trace's events. */
export function summarizeTrace(events: TraceEvent[]): TraceSummary {
  const processName = new Map<number, string>();
  const threadName = new Map<string, string>();
  for (const e of events) {
    if (e.ph !== 'M') continue;
    if (e.name === 'process_name') processName.set(e.pid, String(e.args?.name ?? e.pid));
    if (e.name === 'thread_name') threadName.set(`${e.pid}:${e.tid}`, String(e.args?.name ?? e.tid).replace(/\d+$/, '#'));
  }
  // Complete slices per thread, in start order; a slice's self time is its thread time minus its direct children's.
  const byThread = new Map<string, TraceEvent[]>();
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const e of events) {
    if (e.ts) { t0 = Math.min(t0, e.ts); t1 = Math.max(t1, e.ts + (e.dur ?? 0)); }
    if (e.ph !== 'X' || e.dur === undefined) continue;
    const k = `${e.pid}:${e.tid}`;
    (byThread.get(k) ?? byThread.set(k, []).get(k)!).push(e);
  }
  const totals = new Map<string, SliceTotal>();
  const threadTotals = new Map<string, { process: string; thread: string; us: number }>();
  const counts = new Map<string, number>();
  for (const [k, list] of byThread) {
    const pid = Number(k.split(':')[0]);
    const process = processName.get(pid) ?? String(pid);
    const thread = threadName.get(k) ?? k;
    list.sort((x, y) => x.ts - y.ts || (y.dur ?? 0) - (x.dur ?? 0));
    const stack: { end: number; e: TraceEvent; childUs: number }[] = [];
    const close = (until: number) => {
      while (stack.length && stack[stack.length - 1].end <= until) {
        const top = stack.pop()!;
        const own = (top.e.tdur ?? top.e.dur ?? 0);
        const self = Math.max(0, own - top.childUs);
        const key = `${process}\t${thread}\t${top.e.name}`;
        const t = totals.get(key) ?? { process, thread, name: top.e.name, selfUs: 0, count: 0 };
        t.selfUs += self;
        t.count++;
        totals.set(key, t);
        if (stack.length) stack[stack.length - 1].childUs += own;
        else {
          const tk = `${process}\t${thread}`;
          const tt = threadTotals.get(tk) ?? { process, thread, us: 0 };
          tt.us += own;
          threadTotals.set(tk, tt);
        }
      }
    };
    for (const e of list) {
      close(e.ts);
      stack.push({ end: e.ts + (e.dur ?? 0), e, childUs: 0 });
      if (COUNTED.includes(e.name)) counts.set(e.name, (counts.get(e.name) ?? 0) + 1);
    }
    close(Infinity);
  }
  const spanS = Number.isFinite(t0) ? (t1 - t0) / 1e6 : 0;
  return {
    spanS,
    slices: [...totals.values()].sort((x, y) => y.selfUs - x.selfUs),
    threads: [...threadTotals.values()].sort((x, y) => y.us - x.us),
    rates: Object.fromEntries([...counts].map(([n, c]) => [n, Math.round((c / Math.max(1e-9, spanS)) * 10) / 10])),
  };
}

/** Printable lines: % of a core per thread and per slice (self time), and rates. */
export function formatTrace(s: TraceSummary, top = 40): string[] {
  const pct = (us: number) => ((us / 1e6 / Math.max(1e-9, s.spanS)) * 100).toFixed(2).padStart(7);
  const out = [`trace: ${s.spanS.toFixed(1)} s; thread CPU inside top-level slices, % of a core:`];
  for (const t of s.threads.slice(0, 16)) out.push(`  ${pct(t.us)} %  ${t.process} / ${t.thread}`);
  out.push('slices by self thread time, % of a core (count):');
  for (const t of s.slices.slice(0, top)) out.push(`  ${pct(t.selfUs)} %  ${t.process} / ${t.thread} / ${t.name} (${t.count})`);
  out.push(`a second, over all pages: ${JSON.stringify(s.rates)}`);
  return out;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const { readFileSync } = await import('node:fs');
  const raw = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  const top = process.argv.includes('--top') ? Number(process.argv[process.argv.indexOf('--top') + 1]) : 40;
  console.log(formatTrace(summarizeTrace(Array.isArray(raw) ? raw : raw.traceEvents), top).join('\n'));
}
