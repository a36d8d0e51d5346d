// `--monitor N`: the gateway's live monitor (/ui) open in a real headless Chromium on N running calls during the
// bench (bench/monitorWorker.ts drives it, in its own process), and what those pages received: a step's figures
// are only "with the monitor open" if every page kept plotting frames and showing events the whole step.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { summarize, type Summary } from './stats.js';
import type { MonitorSetup } from './monitorWorker.js';

/** The counters a monitor page keeps (gateway/monitor/index.html, window.earshotMonitorStats). */
export interface PageStats {
  framesPlotted: number;
  eventsShown: number;
  callUpdates: number;
  callsWatched: number;
  delaysMs: number[];
  /** The renderer's main-thread time by kind (Performance.getMetrics: TaskDuration, ScriptDuration, LayoutDuration, RecalcStyleDuration in s; LayoutCount, RecalcStyleCount). */
  render?: Record<string, number>;
}

/** VAD frames a second of one call's inbound audio (32 ms frames). */
const FRAMES_PER_SECOND = 1000 / 32;
/**
 * A page counts as idle below this share of the frames one call streaming the whole step would give: the gaps
 * between a call's end and the page's next call, and the silence after a call's last frame, cost some; a page that
 * stopped receiving loses nearly all.
 */
export const MIN_FRAME_SHARE = 0.5;

export interface MonitorStep {
  /** What was checked: pages (a page per call), or watched call views (slots of the pages' watch walls). */
  pages: number;
  /** Pages open, and the calls each page's watch wall followed at once (0: each page its one selected call). */
  pagesOpen: number;
  watchPerPage: number;
  nice: number;
  /** Per page, over the step: frames plotted, timeline events shown, call-list updates received, calls watched. */
  perPage: { framesPlotted: number; eventsShown: number; callUpdates: number; callsWatched: number; visible: string }[];
  /** Fewest frames any page plotted, and the floor below which a page counts as idle. */
  minFramesPlotted: number;
  minFramesExpected: number;
  minEventsShown: number;
  /** Pages (or watched views) that plotted fewer frames than the floor, or showed no event, or received no call update. */
  idlePages: number;
  /** Gateway wall clock → the page's handler, of every call-list update the pages received (ms). */
  updateDelayMs: Summary;
  /**
   * A page's renderer main thread, mean over the pages, in ms per second of the step: all its tasks, and of them
   * script, layout and style recalculation (DevTools Performance.getMetrics). Wall time, so on a saturated host it
   * includes waiting for a core; the CPU is `cpuPercent`.
   */
  renderMsPerS: { task: number; script: number; layout: number; style: number } | null;
  /** The pages' side: the driver process and the whole Chromium tree (100 = one core). */
  cpuPercent: { mean: number | null; p95: number | null; max: number | null } | null;
}

/** Reduces one step's page counters (pure, so it is tested without a browser). */
export function reduceMonitor(pages: (PageStats & { visible: string })[], durationS: number, nice: number, cpuPercent: MonitorStep['cpuPercent'], watch: { pagesOpen: number; watchPerPage: number } = { pagesOpen: pages.length, watchPerPage: 0 }): MonitorStep {
  const floor = Math.round(durationS * FRAMES_PER_SECOND * MIN_FRAME_SHARE);
  const perPage = pages.map(({ delaysMs: _d, render: _r, ...p }) => p);
  return {
    pages: pages.length,
    pagesOpen: watch.pagesOpen,
    watchPerPage: watch.watchPerPage,
    nice,
    perPage,
    minFramesPlotted: pages.length ? Math.min(...pages.map((p) => p.framesPlotted)) : 0,
    minFramesExpected: floor,
    minEventsShown: pages.length ? Math.min(...pages.map((p) => p.eventsShown)) : 0,
    idlePages: pages.filter((p) => p.framesPlotted < floor || p.eventsShown === 0 || p.callUpdates === 0).length,
    updateDelayMs: summarize(pages.flatMap((p) => p.delaysMs)),
    renderMsPerS: renderOf(pages, durationS),
    cpuPercent,
  };
}

function renderOf(pages: PageStats[], durationS: number): MonitorStep['renderMsPerS'] {
  const withRender = pages.filter((p) => p.render && p.render.TaskDuration !== undefined);
  if (!withRender.length) return null;
  const mean = (k: string) => Math.round((withRender.reduce((x, p) => x + (p.render![k] ?? 0), 0) / withRender.length / durationS) * 1000 * 10) / 10;
  return { task: mean('TaskDuration'), script: mean('ScriptDuration'), layout: mean('LayoutDuration'), style: mean('RecalcStyleDuration') };
}

type Reply = { type: string; message?: string; pages?: (PageStats & { visible: string })[]; watchPerPage?: number; pagesOpen?: number };

/** The forked driver process; `pid` is the root of the tree (driver + Chromium) whose CPU the bench samples. */
export class MonitorPages {
  private waiting: { type: string; resolve: (m: Reply) => void; reject: (e: Error) => void } | null = null;

  private constructor(private readonly child: ChildProcess, readonly setup: MonitorSetup) {
    child.on('message', (m: Reply) => {
      const w = this.waiting;
      if (!w) return;
      this.waiting = null;
      if (m.type === 'error') w.reject(new Error(`monitor pages: ${m.message}`));
      else if (m.type !== w.type) w.reject(new Error(`monitor pages: expected ${w.type}, got ${m.type}`));
      else w.resolve(m);
    });
    child.on('exit', (code) => {
      const w = this.waiting;
      this.waiting = null;
      w?.reject(new Error(`monitor pages: the driver exited (${code})`));
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(setup: MonitorSetup): Promise<MonitorPages> {
    const child = fork(fileURLToPath(new URL('./monitorWorker.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const m = new MonitorPages(child, setup);
    await m.ask({ type: 'start', setup }, 'ready', 60_000);
    return m;
  }

  private ask(msg: object, reply: string, timeoutMs = 15_000): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new Error(`monitor pages: no ${reply} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = { type: reply, resolve: (r) => (clearTimeout(timer), resolve(r)), reject: (e) => (clearTimeout(timer), reject(e)) };
      this.child.send(msg);
    });
  }

  /** The step starts: counters from here on. */
  async mark(): Promise<void> {
    await this.ask({ type: 'mark' }, 'marked');
  }

  /** Records a Chromium trace of every process for `seconds` into `path` (JSON, chrome://tracing's format). */
  async trace(path: string, seconds: number): Promise<void> {
    await this.ask({ type: 'trace', path, seconds }, 'traced', seconds * 1000 + 60_000);
  }

  /** The step ended: what each page (or each watched view of a watch wall) received since the mark. */
  async collect(): Promise<(PageStats & { visible: string })[]> {
    return (await this.ask({ type: 'collect' }, 'collected')).pages ?? [];
  }

  /** How the pages watch: for reduceMonitor. */
  get watch(): { pagesOpen: number; watchPerPage: number } {
    return { pagesOpen: this.setup.pages, watchPerPage: this.setup.watch ?? 0 };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await this.ask({ type: 'stop' }, 'stopped', 10_000).catch(() => this.child.kill('SIGKILL'));
  }
}
