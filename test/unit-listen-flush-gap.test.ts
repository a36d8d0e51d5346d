// gateway/listen/ListenService.ts: how long a shard waits between two messages to its worker, by its load.
import { describe, expect, it } from 'vitest';
import { flushGapMs } from '../gateway/listen/ListenService.js';

describe('listen shard flush gap', () => {
  it('is short while the shard holds few calls, so a completed frame is scored at once', () => {
    expect(flushGapMs(0)).toBe(2.5);
    expect(flushGapMs(25)).toBe(2.5);
    expect(flushGapMs(32)).toBe(2.5);
  });

  it('grows to 10 ms on a busy shard, so frames are batched when CPU is scarce', () => {
    expect(flushGapMs(64)).toBe(10);
    expect(flushGapMs(125)).toBe(10);
    expect(flushGapMs(10_000)).toBe(10);
  });

  it('never shrinks as calls are added', () => {
    let last = 0;
    for (let calls = 0; calls <= 100; calls++) {
      const gap = flushGapMs(calls);
      expect(gap).toBeGreaterThanOrEqual(last);
      last = gap;
    }
    expect(flushGapMs(48)).toBeCloseTo(6.25, 5);
  });
});
