// bench/traceSummary.ts: self thread time of nested slices, by process and thread, as bench/monitorCost.ts --trace
// prints it; a wrong nesting would charge a frame's paint to the task around it.
import { describe, expect, it } from 'vitest';
import { summarizeTrace, type TraceEvent } from '../bench/traceSummary.js';

const meta = (pid: number, tid: number, process: string, thread: string): TraceEvent[] => [
  { ph: 'M', name: 'process_name', pid, tid, ts: 0, args: { name: process } },
  { ph: 'M', name: 'thread_name', pid, tid, ts: 0, args: { name: thread } },
];
const x = (pid: number, tid: number, name: string, ts: number, dur: number, tdur = dur): TraceEvent => ({ ph: 'X', name, pid, tid, ts, dur, tdur });

describe('trace summary', () => {
  it('charges each slice its own thread time, without its children, per process and thread', () => {
    const events = [
      ...meta(1, 1, 'Renderer', 'CrRendererMain'),
      ...meta(2, 5, 'GPU Process', 'VizCompositorThread'),
      // a task (10 ms wall, 8 ms CPU) holding a main frame (6 ms CPU) holding a paint (4 ms CPU)
      x(1, 1, 'RunTask', 0, 10_000, 8_000),
      x(1, 1, 'ProxyMain::BeginMainFrame', 1_000, 7_000, 6_000),
      x(1, 1, 'Paint', 2_000, 5_000, 4_000),
      // a later task on the same thread, and one on another process
      x(1, 1, 'RunTask', 500_000, 1_000),
      x(2, 5, 'Display::DrawAndSwap', 100, 2_000),
      { ph: 'X', name: 'Paint', pid: 1, tid: 1, ts: 999_000, dur: 1_000, tdur: 1_000 },
    ];
    const s = summarizeTrace(events);
    const self = (name: string) => s.slices.filter((t) => t.name === name).reduce((a, t) => a + t.selfUs, 0);
    expect(self('Paint')).toBe(5_000);
    expect(self('ProxyMain::BeginMainFrame')).toBe(2_000);
    expect(self('RunTask')).toBe(2_000 + 1_000);
    expect(s.threads.find((t) => t.thread === 'CrRendererMain')).toMatchObject({ process: 'Renderer', us: 8_000 + 1_000 + 1_000 });
    expect(s.threads.find((t) => t.process === 'GPU Process')?.us).toBe(2_000);
    expect(s.spanS).toBeCloseTo(1, 3);
    expect(s.rates.Paint).toBe(2);
    expect(s.rates['ProxyMain::BeginMainFrame']).toBe(1);
  });
});
