// What a live monitor page costs the machine it runs on, without the gateway's audio pipeline: the real monitor
// feature (gateway/features/monitor.ts) on a bare HTTP server, fed by synthetic calls that emit a bench-like event
// script and 32 ms VAD frames, and N headless Chromium pages driven exactly as `bench/run.ts --monitor N` drives
// them (bench/monitorWorker.ts). It prints the pages' CPU (the driver and the whole Chromium tree), split by
// process type and thread, and the pages' own counters. Cheap enough to try a page change in a minute; the
// bench's `--monitor` step is still what says whether budgets hold.
//
//   npx tsx bench/monitorCost.ts [--calls 100] [--pages 10] [--watch N] [--seconds 40] [--warmup 8] [--nice 0] [--render-metrics on|off]
//                                [--page FILE] [--trace FILE [--trace-seconds 8]]
import { createServer } from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { MonitorFeature } from '../gateway/features/monitor.js';
import { HttpError, Router, sendJson } from '../gateway/ops/http.js';
import type { CallEvent } from '../gateway/call/events.js';
import type { FrameSample } from '../gateway/call/Call.js';
import { MonitorPages, reduceMonitor } from './monitorPages.js';
import { ProcSampler } from './procSampler.js';
import { formatTrace, summarizeTrace } from './traceSummary.js';

const { values: a } = parseArgs({
  options: {
    calls: { type: 'string', default: '100' },
    pages: { type: 'string', default: '10' },
    /** Each page's watch wall follows this many calls at once (0: each page its one selected call). */
    watch: { type: 'string', default: '0' },
    seconds: { type: 'string', default: '40' },
    warmup: { type: 'string', default: '8' },
    nice: { type: 'string', default: '0' },
    /** off: no DevTools Performance domain on the pages (what the bench's own measuring costs them). */
    'render-metrics': { type: 'string', default: 'on' },
    /** Record a Chromium trace of this many seconds into this file after the step, and print where its CPU went. */
    trace: { type: 'string' },
    'trace-seconds': { type: 'string', default: '8' },
    /** Serve this file as the page instead of gateway/monitor/index.html (to try a change to the page). */
    page: { type: 'string' },
  },
});
const CALLS = Number(a.calls);
const PAGES = Number(a.pages);
const SECONDS = Number(a.seconds);

type Ev = { type: string; [k: string]: unknown };
/** A call as the monitor sees one: id, init, events to observers, frames to taps. */
class FakeCall {
  readonly init: { wire: string; callee: string; callType: string };
  readonly startedAt = Date.now();
  isEnded = false;
  private readonly observers = new Set<(ev: CallEvent) => void>();
  private readonly taps = new Set<(f: FrameSample) => void>();
  private readonly t0 = performance.now();
  constructor(readonly id: string, slot: number) {
    this.init = { wire: slot % 3 ? 'ws' : 'twilio', callee: `+86138${String(10000000 + slot * 7919).slice(-8)}`, callType: slot % 2 ? 'marketing' : 'notification' };
  }
  get t(): number {
    return Math.round(performance.now() - this.t0);
  }
  observe(fn: (ev: CallEvent) => void): () => void {
    this.observers.add(fn);
    return () => this.observers.delete(fn);
  }
  tapFrames(fn: (f: FrameSample) => void): () => void {
    this.taps.add(fn);
    return () => this.taps.delete(fn);
  }
  emit(ev: Ev): void {
    const full = { ...ev, t: this.t } as CallEvent;
    for (const o of [...this.observers]) o(full);
  }
  frame(): void {
    if (!this.taps.size) return;
    const t = this.t;
    const f = { t, prob: Math.abs(Math.sin(t / 700)), echo: Math.sin(t / 1300) > 0.6, levelDb: -60 + 40 * Math.abs(Math.sin(t / 400)) };
    for (const fn of this.taps) fn(f);
  }
}

/**
 * One call's events, as (ms after start, event): a barge-in scenario (prompt, speech over it, pause, barge-in, a
 * reply) or a consent scenario (question, answer with partial transcripts, decision), then the summary. Rates are
 * those of the bench's full-pipeline calls (a handful of events a second a call).
 */
function script(slot: number, lengthMs: number): [number, Ev][] {
  const p = `bench.p0${slot % 5}.16k`;
  const s: [number, Ev][] = [[50, { type: 'prompt_started', promptId: p }]];
  if (slot % 2 === 0) {
    const on = 2500 + (slot % 7) * 300;
    s.push([on, { type: 'speech_started', onsetT: on - 200 }], [on + 100, { type: 'prompt_paused', promptId: p, playedMs: on }],
      [on + 350, { type: 'barge_in', promptId: p, playedMs: on + 250, onsetT: on - 200 }],
      [on + 360, { type: 'prompt_finished', promptId: p, interrupted: true, playedMs: on + 250, reason: 'barge_in' }],
      [on + 2000, { type: 'speech_ended', startT: on - 200 }]);
  } else {
    const q = 3000 + (slot % 5) * 200;
    s.push([q, { type: 'prompt_finished', promptId: p, interrupted: false, playedMs: q, reason: 'completed' }], [q + 600, { type: 'speech_started', onsetT: q + 500 }]);
    for (let k = 1; k <= 8; k++) s.push([q + 600 + k * 200, { type: 'transcript', text: 'hao de '.repeat(k).trim(), final: false }]);
    s.push([q + 2500, { type: 'speech_ended', startT: q + 500 }], [q + 2700, { type: 'transcript', text: 'hao de wo tong yi', final: true }],
      [q + 2900, { type: 'consent', decision: 'granted', phrase: 'tong yi', transcript: 'hao de wo tong yi', confidence: 0.9, complaint: false, reason: 'lexicon', speechEndT: q + 2500, evidenceId: `ev-${slot}-${q}` }]);
  }
  s.push([lengthMs, { type: 'call_summary', callId: '', reason: 'hangup', inboundMs: lengthMs, wallMs: lengthMs, echo: { locked: true, delayMs: 40 }, prompts: [], bargeIns: [], pausesResumed: 0, inboundFrameMs: { p50: 1, p95: 2, max: 3, n: 10 }, vadFrameMs: { p50: 1, p95: 2, max: 3, n: 10 }, firstAudioMs: { p50: 10, p95: 20, n: 1 } }]);
  return s;
}

const log = pino({ level: 'warn' });
const router = new Router();
const calls = new Map<string, FakeCall>();
const gw = { router, log, calls, config: { playout: { maxSocketBufferBytes: 1 << 20 } } };
const monitor = new MonitorFeature();
await monitor.start(gw as never);
if (a.page) (monitor as unknown as { page: string }).page = readFileSync(a.page, 'utf8');
const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const m = router.match(req.method ?? 'GET', url.pathname);
  try {
    if (!m || m === 'method') throw new HttpError(404, 'not_found', url.pathname);
    await m.route.handler(req, res, m.params, url);
  } catch (e) {
    const h = e instanceof HttpError ? e : new HttpError(500, 'internal', (e as Error).message);
    if (!res.headersSent) sendJson(res, h.status, { error: h.code, message: h.message });
    else res.destroy();
  }
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as { port: number }).port;

// Slots as the bench's: each slot runs calls back to back, ~8–16 s each.
let gen = 0;
function startSlot(slot: number, j: number): void {
  const id = `bench-1-h-${slot}-${j}`;
  const c = new FakeCall(id, slot + j);
  calls.set(id, c);
  monitor.callStarted(c as never);
  const len = 8000 + ((slot * 37 + j * 11) % 9) * 1000;
  for (const [at, ev] of script(slot + j, len)) {
    setTimeout(() => {
      if (ev.type === 'call_summary') {
        c.emit({ ...ev, callId: id } as Ev);
        c.isEnded = true;
        calls.delete(id);
        startSlot(slot, j + 1);
      } else c.emit(ev);
    }, at);
  }
}
for (let s = 0; s < CALLS; s++) setTimeout(() => startSlot(s, 0), (s * 3000) / CALLS);
const frameTimer = setInterval(() => { for (const c of calls.values()) c.frame(); gen++; }, 32);

const pages = await MonitorPages.start({ base: `http://127.0.0.1:${port}`, token: null, pages: PAGES, watch: Number(a.watch), nice: Number(a.nice), renderMetrics: a['render-metrics'] !== 'off' });
await new Promise((r) => setTimeout(r, Number(a.warmup) * 1000));

/** CPU ticks of every thread under the driver, keyed by process type and thread name. */
function threads(root: number): Map<string, number> {
  const kids = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(d)]);
    } catch { /* gone */ }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(kids.get(tree[i]) ?? []));
  const out = new Map<string, number>();
  for (const pid of tree) {
    let type = 'driver';
    try {
      // Chromium's child processes rewrite their command line (one string, spaces, no NULs).
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const t = /--type=(\S+)/.exec(cmd)?.[1];
      const sub = /--utility-sub-type=(\S+)/.exec(cmd)?.[1];
      type = t ? t + (sub ? `:${sub.split('.').pop()}` : '') : /chrom/.test(basename(cmd.split(' ')[0])) ? 'browser' : pid === root ? 'driver' : basename(cmd.split(' ')[0]);
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const st = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')')).replace(/\d+$/, '#');
        const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
        const key = `${type}\t${name}\t${pid}:${tid}`;
        out.set(key, Number(f[11]) + Number(f[12]));
      }
    } catch { /* gone */ }
  }
  return out;
}

const sampler = new ProcSampler(pages.pid);
sampler.start();
const before = threads(pages.pid);
const t0 = performance.now();
await pages.mark();
await new Promise((r) => setTimeout(r, SECONDS * 1000));
const stats = await pages.collect();
const dt = (performance.now() - t0) / 1000;
const after = threads(pages.pid);
sampler.stop();
const cpu = sampler.samples.filter((s) => s.cpuPercent > 0).map((s) => s.cpuPercent);
const step = reduceMonitor(stats, SECONDS, Number(a.nice), { mean: cpu.reduce((x, y) => x + y, 0) / Math.max(1, cpu.length), p95: null, max: null }, pages.watch);

const byType = new Map<string, number>();
const byThread = new Map<string, number>();
let total = 0;
for (const [k, v] of after) {
  const d = v - (before.get(k) ?? 0);
  const [type, name] = k.split('\t');
  byType.set(type, (byType.get(type) ?? 0) + d);
  byThread.set(`${type} ${name}`, (byThread.get(`${type} ${name}`) ?? 0) + d);
  total += d;
}
const pct = (ticks: number) => ((ticks / dt)).toFixed(1); // 100 ticks a second = one core = 100 %
console.log(`monitorCost: ${CALLS} calls, ${PAGES} pages${Number(a.watch) ? ` each watching ${a.watch} calls` : ''}, ${dt.toFixed(1)} s, nice ${a.nice}, load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
console.log(`  driver + Chromium: ${pct(total)} % of a core (${(Number(pct(total)) / PAGES).toFixed(1)} % a page)`);
for (const [t, v] of [...byType].sort((x, y) => y[1] - x[1])) console.log(`    ${t.padEnd(28)} ${pct(v).padStart(6)} %`);
console.log('  threads:');
for (const [t, v] of [...byThread].sort((x, y) => y[1] - x[1]).slice(0, 16)) if (v) console.log(`    ${t.padEnd(44)} ${pct(v).padStart(6)} %`);
console.log(`  ${Number(a.watch) ? 'watched views' : 'pages'}: frames min ${step.minFramesPlotted} (floor ${step.minFramesExpected}), events shown min ${step.minEventsShown}, idle ${step.idlePages}, update delay p50/p95/p99 ${step.updateDelayMs.p50}/${step.updateDelayMs.p95}/${step.updateDelayMs.p99} ms, updates/${Number(a.watch) ? 'view' : 'page'} ${Math.round(stats.reduce((x, p) => x + p.callUpdates, 0) / stats.length)}`);
console.log(`  a page's renderer main thread (ms/s): ${JSON.stringify(step.renderMsPerS)}`);
// Per page: in watch mode only each page's first view carries the page's renderer figures.
const withRender = stats.filter((p) => p.render && p.render.TaskDuration !== undefined);
const perS = (k: string) => (withRender.reduce((x, p) => x + (p.render?.[k] ?? 0), 0) / Math.max(1, withRender.length) / SECONDS).toFixed(1);
console.log(`  a page's layouts / style recalculations a second: ${perS('LayoutCount')} / ${perS('RecalcStyleCount')}`);
if (a.trace) {
  await pages.trace(a.trace, Number(a['trace-seconds']));
  const raw = JSON.parse(readFileSync(a.trace, 'utf8'));
  console.log(formatTrace(summarizeTrace(Array.isArray(raw) ? raw : raw.traceEvents)).join('\n'));
}
clearInterval(frameTimer);
await pages.stop();
await monitor.stop();
server.close();
process.exit(0);
