// gateway/call/InboundRateBudget.ts: inbound audio against the wall clock.
import { describe, expect, it } from 'vitest';
import { InboundRateBudget } from '../gateway/call/InboundRateBudget.js';

const limits = { maxRatio: 1.5, burstMs: 3000 };

/** Sends `audioMs` in 20 ms frames at `ratio` × real time from wall time `t0`; returns the first refused frame's audio time, or null. */
function run(b: InboundRateBudget, t0: number, audioMs: number, ratio: number): { refusedAt: number | null; t: number } {
  let t = t0;
  for (let a = 0; a < audioMs; a += 20) {
    if (!b.spend(20, t)) return { refusedAt: a, t };
    t += 20 / ratio;
  }
  return { refusedAt: null, t };
}

describe('InboundRateBudget', () => {
  it('real time, and anything up to the ratio, runs for an hour', () => {
    expect(run(new InboundRateBudget(limits, 0), 0, 3_600_000, 1).refusedAt).toBeNull();
    expect(run(new InboundRateBudget(limits, 0), 0, 3_600_000, 1.45).refusedAt).toBeNull();
  });

  it('just over the ratio is refused once the burst allowance is used up, not before', () => {
    // 1.6× earns 1.5/1.6 of what it spends: 3000 ms of allowance lasts ~48 s of audio.
    const r = run(new InboundRateBudget(limits, 0), 0, 120_000, 1.6);
    expect(r.refusedAt).not.toBeNull();
    expect(r.refusedAt!).toBeGreaterThan(40_000);
    expect(r.refusedAt!).toBeLessThan(56_000);
  });

  it('a flood (thousands × real time) is refused after about the burst allowance', () => {
    const r = run(new InboundRateBudget(limits, 0), 0, 8_400_000, 2900);
    expect(r.refusedAt).not.toBeNull();
    expect(r.refusedAt!).toBeGreaterThanOrEqual(3000);
    expect(r.refusedAt!).toBeLessThanOrEqual(3040);
  });

  it('a stall and its catch-up (audio held 2.5 s by the network, then delivered at once) is accepted', () => {
    const b = new InboundRateBudget(limits, 0);
    const { t } = run(b, 0, 10_000, 1);
    // Nothing for 2.5 s, then the 2.5 s that were held, all in one moment, then real time again.
    for (let a = 0; a < 2500; a += 20) expect(b.spend(20, t + 2500)).toBe(true);
    expect(run(b, t + 2520, 10_000, 1).refusedAt).toBeNull();
  });

  it('silence does not bank more than the burst: a long pause buys no bigger flood', () => {
    const b = new InboundRateBudget(limits, 0);
    let taken = 0;
    while (b.spend(20, 600_000)) taken += 20;
    expect(taken).toBe(3000);
    expect(b.available).toBe(0);
  });
});
