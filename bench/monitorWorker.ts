// A forked process (see monitorPages.ts) that keeps the gateway's live monitor open in a real headless Chromium
// (Debian's chromium, driven by playwright-core as test/monitor.e2e.test.ts does) while the bench runs: N pages,
// each with the live view (timeline + level/VAD/echo plot) open on one running call, and switching to another
// running call when its call ends, as an operator following a campaign would. Its own process, so that the
// automation's traffic (Playwright hears every page's network events) never lags the load generator's event loop.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import type { PageStats } from './monitorPages.js';

/**
 * How often a page without a live call looks for one (at the step's start, or when none of its calls was live as
 * its call ended). A page whose call ends moves on at once, on the page's own `earshot:live-ended` event.
 */
const FOLLOW_MS = 500;

export interface MonitorSetup {
  base: string;
  token: string | null;
  pages: number;
  /**
   * Calls each page watches at once on its watch wall (the page's own `earshotMonitor.follow(n)`: n slots kept on
   * the newest live calls, a slot whose call ended taking the next one at once); 0 = each page follows one call
   * in its selected view, clicked by the driver as below.
   */
  watch?: number;
  /** Run Chromium at this nice level (0 = as the gateway). */
  nice: number;
  /**
   * Read each page's renderer time split over DevTools (Performance.enable + getMetrics); default on. Off, to see
   * what the measuring itself costs the pages (bench/monitorCost.ts --render-metrics off).
   */
  renderMetrics?: boolean;
}

/**
 * Installed in each page: page k of n watches calls from the bench's call slots k, k+n, k+2n, … (the slot is in
 * the call id, `bench-<gen>-<label>-<slot>-<j>`), so no two pages watch the same call; a call id without a slot
 * (another client's) falls back to the k-th live row. It clicks rows as an operator would; the page does the rest.
 * When the watched call ends the page says so (`earshot:live-ended`) and the next call is clicked in the same task:
 * polling for it (every 500 ms, and the list marks a call ended only with its next update, up to a second later)
 * left a page without a call for ~1 s of every ~5 s call. Calls the page saw end are skipped although the list
 * may still show them live; of the page's live calls it takes the newest (listed last), which has the most of its
 * call ahead. The page keeps only the rows in view in the document, so the driver reads the list from the page
 * (window.earshotMonitor.calls()) and scrolls the row it picks into view before clicking it, as an operator would.
 * Source text, not a function: tsx would compile a function with helpers that do not exist in the page.
 */
const follow = (k: number, n: number) => `(() => {
  const slotOf = (id) => { const m = /-(\\d+)-\\d+$/.exec(id); return m ? Number(m[1]) : null; };
  const mine = (id) => { const s = slotOf(id); return s !== null && s % ${n} === ${k}; };
  const ended = new Set();
  // A page from before 2026-12-06 10:30 (every row in the document; bench/monitorCost.ts --page) is read from its rows.
  const m = window.earshotMonitor || {
    calls: () => [...document.querySelectorAll('tr.call')].map((tr) => ({ callId: tr.dataset.callId, live: !tr.classList.contains('ended') })),
    selected: () => document.querySelector('tr.call.selected')?.dataset.callId ?? null,
    reveal: (id) => document.querySelector('tr.call[data-call-id="' + CSS.escape(id) + '"]'),
  };
  const next = () => {
    const sel = m.selected();
    const live = m.calls().filter((c) => c.live && !ended.has(c.callId)).map((c) => c.callId);
    const selLive = sel !== null && live.includes(sel);
    if (selLive && mine(sel)) return;
    const pick = live.filter(mine).pop() || (selLive ? null : live[${k} % Math.max(1, live.length)]);
    if (pick && pick !== sel) m.reveal(pick)?.click();
  };
  window.addEventListener('earshot:live-ended', (e) => {
    ended.add(e.detail.callId);
    if (ended.size > 1000) ended.delete(ended.values().next().value);
    next();
  });
  setInterval(next, ${FOLLOW_MS});
})()`;

/** The page's own counters (window.earshotMonitorStats, and per watch-wall slot), copied out. */
const READ = `(() => {
  const s = window.earshotMonitorStats;
  const views = (s.views || []).map((v) => ({ ...v, delaysMs: [...v.delaysMs] }));
  return { ...s, views, delaysMs: [...s.delaysMs], visible: document.visibilityState };
})()`;
type Read = PageStats & { visible: string; views?: PageStats[] };
const ZERO: PageStats = { framesPlotted: 0, eventsShown: 0, callUpdates: 0, callsWatched: 0, delaysMs: [] };

/** Counters since the mark; delays: those received since it (the page keeps its last few thousand). */
function since(n: PageStats, b: PageStats, visible: string, render?: Record<string, number>, renderMark?: Record<string, number>) {
  const newUpdates = n.callUpdates - b.callUpdates;
  return {
    framesPlotted: n.framesPlotted - b.framesPlotted,
    eventsShown: n.eventsShown - b.eventsShown,
    callUpdates: newUpdates,
    callsWatched: n.callsWatched - b.callsWatched,
    delaysMs: n.delaysMs.slice(Math.max(0, n.delaysMs.length - newUpdates)),
    visible,
    ...(render ? { render: Object.fromEntries(Object.entries(render).map(([k, v]) => [k, v - (renderMark?.[k] ?? 0)])) } : {}),
  };
}

let browser: Browser | null = null;
let pages: Page[] = [];
/** Each page's DevTools session, for the renderer's own time split (Performance.getMetrics). */
let sessions: CDPSession[] = [];
/** Renderer main-thread time by kind (s, cumulative) from Performance.getMetrics: where a page's CPU goes. */
const RENDER_METRICS = ['TaskDuration', 'ScriptDuration', 'LayoutDuration', 'RecalcStyleDuration', 'LayoutCount', 'RecalcStyleCount'] as const;
/** Trace categories: the rendering pipeline (main thread, compositor, raster, viz), script and the scheduler's tasks. */
const TRACE_CATEGORIES = ['toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline', 'disabled-by-default-devtools.timeline.frame', 'blink', 'cc', 'viz', 'v8', 'gpu', 'renderer.scheduler', 'loading', 'benchmark'];
let wrapperDir: string | null = null;
let marks: PageStats[] = [];
let watchPerPage = 0;

async function start(s: MonitorSetup): Promise<void> {
  let executablePath = execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim();
  if (s.nice) {
    // Nice is per thread and inherited: the browser must start niced for all of its processes and threads to be.
    // Playwright starts it detached, i.e. in a session and so a scheduler autogroup of its own
    // (kernel.sched_autogroup_enabled), and autogroups share the CPU by the group's nice, not their threads': the
    // wrapper sets both. (A plain `nice -n 10` measured no change: Chromium kept 138 % against the gateway's 40 %.)
    wrapperDir = mkdtempSync(join(tmpdir(), 'earshot-bench-chromium-'));
    const wrapper = join(wrapperDir, 'chromium');
    writeFileSync(wrapper, `#!/bin/sh\necho ${s.nice} > /proc/self/autogroup 2>/dev/null\nexec nice -n ${s.nice} ${executablePath} "$@"\n`);
    chmodSync(wrapper, 0o755);
    executablePath = wrapper;
  }
  browser = await chromium.launch({ executablePath, headless: true, args: [
    '--no-sandbox',
    '--mute-audio',
    // No GPU process: the page draws one 2D canvas and a table, which Skia's software raster does directly; with
    // the GPU process on a host without a GPU, every frame goes through SwiftShader's emulated GL instead.
    '--disable-gpu',
  ] });
  const problems: string[] = [];
  const url = `${s.base}/ui${s.token ? `?token=${encodeURIComponent(s.token)}` : ''}`;
  pages = await Promise.all(Array.from({ length: s.pages }, () => browser!.newPage()));
  for (const p of pages) {
    p.on('pageerror', (e) => problems.push(e.message));
    await p.goto(url);
    await p.waitForFunction(() => document.getElementById('status')?.textContent === 'live', undefined, { timeout: 15_000 });
  }
  sessions = s.renderMetrics === false ? [] : await Promise.all(pages.map(async (p) => {
    const cdp = await p.context().newCDPSession(p);
    await cdp.send('Performance.enable');
    return cdp;
  }));
  watchPerPage = s.watch ?? 0;
  if (watchPerPage) {
    const set = await Promise.all(pages.map((p) => p.evaluate(`window.earshotMonitor.follow(${watchPerPage})`)));
    if (set.some((n) => n !== watchPerPage)) throw new Error(`a page follows ${set} calls, not ${watchPerPage}`);
  } else await Promise.all(pages.map((p, k) => p.evaluate(follow(k, s.pages))));
  if (problems.length) throw new Error(`monitor page errors: ${problems.join('; ')}`);
}

async function readAll(): Promise<Read[]> {
  return Promise.all(pages.map(async (p, i) => {
    const stats = (await p.evaluate(READ)) as Read;
    if (!sessions[i]) return stats;
    const { metrics } = await sessions[i].send('Performance.getMetrics');
    const render: Record<string, number> = {};
    for (const m of metrics) if ((RENDER_METRICS as readonly string[]).includes(m.name)) render[m.name] = m.value;
    return { ...stats, render };
  }));
}

async function stop(): Promise<void> {
  await browser?.close().catch(() => undefined);
  browser = null;
  if (wrapperDir) rmSync(wrapperDir, { recursive: true, force: true });
}

process.on('message', async (m: { type: string; setup?: MonitorSetup; path?: string; seconds?: number }) => {
  try {
    if (m.type === 'start') {
      await start(m.setup!);
      process.send!({ type: 'ready' });
    }
    else if (m.type === 'mark') {
      marks = await readAll();
      process.send!({ type: 'marked' });
    } else if (m.type === 'collect') {
      const now = await readAll();
      // What the first page looked like at the step's end (e.g. to check a change to the page's layout).
      if (process.env.BENCH_MONITOR_SCREENSHOT) await pages[0]?.screenshot({ path: process.env.BENCH_MONITOR_SCREENSHOT });
      // A page per call: each page's counters. Watch walls: each slot's, as if it were a page (the same idle check
      // per watched call); a page's renderer time goes with its first slot (renderMsPerS is then per page).
      const pagesOut = now.flatMap((n, i) => {
        const b = (marks[i] ?? ZERO) as Read;
        if (!watchPerPage) return [since(n, b, n.visible, n.render, b.render)];
        return Array.from({ length: watchPerPage }, (_, k) => since(n.views?.[k] ?? ZERO, b.views?.[k] ?? ZERO, n.visible, k === 0 ? n.render : undefined, b.render));
      });
      process.send!({ type: 'collected', pages: pagesOut, watchPerPage, pagesOpen: pages.length });
    } else if (m.type === 'trace') {
      // A Chromium trace of every process for a few seconds (bench/monitorCost.ts --trace): where the pages' CPU goes.
      await browser!.startTracing(undefined, { categories: TRACE_CATEGORIES });
      await new Promise((r) => setTimeout(r, m.seconds! * 1000));
      writeFileSync(m.path!, await browser!.stopTracing());
      process.send!({ type: 'traced' });
    } else if (m.type === 'stop') {
      await stop();
      process.send!({ type: 'stopped' }, () => process.exit(0));
    }
  } catch (e) {
    await stop();
    process.send!({ type: 'error', message: (e as Error).message }, () => process.exit(1));
  }
});
process.on('disconnect', () => void stop().then(() => process.exit(0)));
