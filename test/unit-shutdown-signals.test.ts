// gateway/ops/shutdownSignals.ts: one SIGTERM to a process group is one drain, not "second signal: exit now".
import { describe, expect, it } from 'vitest';
import { ShutdownSignals } from '../gateway/ops/shutdownSignals.js';

function setup() {
  let t = 0;
  const calls: string[] = [];
  const s = new ShutdownSignals({ duplicateWindowMs: 1000, drain: (sig) => calls.push(`drain:${sig}`), force: (sig) => calls.push(`force:${sig}`), now: () => t });
  return { s, calls, at: (ms: number) => (t = ms) };
}

describe('ShutdownSignals', () => {
  it('the first signal drains', () => {
    const g = setup();
    expect(g.s.receive('SIGTERM')).toBe('drain');
    expect(g.calls).toEqual(['drain:SIGTERM']);
  });

  it('the same signal again within the window (a wrapper forwarding it) is a duplicate, not a second signal', () => {
    const g = setup();
    g.s.receive('SIGTERM');
    g.at(5);
    expect(g.s.receive('SIGTERM')).toBe('duplicate');
    g.at(999);
    expect(g.s.receive('SIGTERM')).toBe('duplicate');
    expect(g.calls).toEqual(['drain:SIGTERM']);
  });

  it('the same signal after the window, or another signal at any time, forces the exit', () => {
    const late = setup();
    late.s.receive('SIGTERM');
    late.at(1500);
    expect(late.s.receive('SIGTERM')).toBe('force');
    expect(late.calls).toEqual(['drain:SIGTERM', 'force:SIGTERM']);

    const other = setup();
    other.s.receive('SIGTERM');
    other.at(10);
    expect(other.s.receive('SIGINT')).toBe('force');
    expect(other.calls).toEqual(['drain:SIGTERM', 'force:SIGINT']);
  });
});
