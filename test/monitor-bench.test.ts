// The bench's `--monitor N`: its options, and how a step's page counters become the result's `monitor` figures,
// including the rule that a page which stopped receiving data breaks the step instead of passing as "open".
import { describe, expect, it } from 'vitest';
import { parseOptions } from '../bench/options.js';
import { MIN_FRAME_SHARE, reduceMonitor, type PageStats } from '../bench/monitorPages.js';

const page = (p: Partial<PageStats>): PageStats & { visible: string } => ({ framesPlotted: 0, eventsShown: 0, callUpdates: 0, callsWatched: 0, delaysMs: [], visible: 'visible', ...p });

describe('bench --monitor', () => {
  it('takes up to the 16 pages the gateway serves, and a nice level only together with pages', () => {
    expect(parseOptions([]).monitor).toBe(0);
    expect(parseOptions(['--monitor', '10']).monitor).toBe(10);
    expect(parseOptions(['--monitor', '10', '--monitor-nice', '10']).monitorNice).toBe(10);
    expect(() => parseOptions(['--monitor', '17'])).toThrow(/--monitor takes 0–16/);
    expect(() => parseOptions(['--monitor', 'x'])).toThrow(/--monitor/);
    expect(() => parseOptions(['--monitor-nice', '5'])).toThrow(/needs --monitor/);
    expect(() => parseOptions(['--monitor', '2', '--monitor-nice', '20'])).toThrow(/0–19/);
  });

  it('watches the N calls on fewer pages only in equal shares (each page’s watch wall follows N/P calls)', () => {
    expect(parseOptions(['--monitor', '10']).monitorPages).toBe(10);
    expect(parseOptions(['--monitor', '10', '--monitor-pages', '1']).monitorPages).toBe(1);
    expect(parseOptions(['--monitor', '10', '--monitor-pages', '2']).monitorPages).toBe(2);
    expect(() => parseOptions(['--monitor', '10', '--monitor-pages', '3'])).toThrow(/must divide/);
    expect(() => parseOptions(['--monitor', '10', '--monitor-pages', '11'])).toThrow(/must divide/);
    expect(() => parseOptions(['--monitor-pages', '1'])).toThrow(/needs --monitor/);
    const busy = page({ framesPlotted: 600, eventsShown: 40, callUpdates: 900, callsWatched: 4 });
    // Views of one page's watch wall are checked one by one, as pages are.
    expect(reduceMonitor([busy, page({ ...busy, framesPlotted: 10 })], 30, 0, null, { pagesOpen: 1, watchPerPage: 2 })).toMatchObject({ pages: 2, pagesOpen: 1, watchPerPage: 2, idlePages: 1 });
  });

  it('counts a page as idle when it plotted under half of one streaming call’s frames, or showed no event', () => {
    const floor = Math.round(30 * (1000 / 32) * MIN_FRAME_SHARE); // 30 s step
    const busy = page({ framesPlotted: floor + 100, eventsShown: 40, callUpdates: 900, callsWatched: 4, delaysMs: [2, 3, 50] });
    const r = reduceMonitor([busy, page({ ...busy, framesPlotted: floor - 1 }), page({ ...busy, eventsShown: 0 }), page({ ...busy, callUpdates: 0 })], 30, 0, null);
    expect(r.minFramesExpected).toBe(469);
    expect(r.idlePages).toBe(3);
    expect(r.minFramesPlotted).toBe(floor - 1);
    expect(r.minEventsShown).toBe(0);
    expect(reduceMonitor([busy, busy], 30, 5, null)).toMatchObject({ pages: 2, nice: 5, idlePages: 0 });
  });

  it('pools every page’s update delays into one distribution and leaves the raw delays out of the per-page rows', () => {
    const r = reduceMonitor([page({ delaysMs: [1, 2, 3] }), page({ delaysMs: [100] })], 10, 0, { mean: 20, p95: 30, max: 40 });
    expect(r.updateDelayMs).toMatchObject({ n: 4, p50: 2, max: 100 });
    expect(r.perPage[0]).not.toHaveProperty('delaysMs');
    expect(r.cpuPercent).toEqual({ mean: 20, p95: 30, max: 40 });
  });
});
