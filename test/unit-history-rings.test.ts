// Consent sessions' audio rings are reused between calls (gateway/listen/consent/HistoryRings.ts): a reused ring
// must hold nothing of the call before, and the pool stays bounded.
import { describe, expect, it } from 'vitest';
import { HistoryRings } from '../gateway/listen/consent/HistoryRings.js';

describe('history rings', () => {
  it('hands back a ring of the call before, zeroed', () => {
    const rings = new HistoryRings(1000);
    const a = rings.take();
    a.fill(0.5);
    rings.give(a);
    const b = rings.take();
    expect(b).toBe(a);
    expect(b.every((x) => x === 0)).toBe(true);
  });

  it('keeps at most `max` spare rings, each once, and only of its own length', () => {
    const rings = new HistoryRings(10, 2);
    const [a, b, c] = [rings.take(), rings.take(), rings.take()];
    rings.give(a);
    rings.give(a);
    expect(rings.spare).toBe(1);
    rings.give(b);
    rings.give(c);
    expect(rings.spare).toBe(2);
    rings.give(new Float32Array(11));
    expect(rings.spare).toBe(2);
    expect(new Set([rings.take(), rings.take(), rings.take()]).size).toBe(3);
  });
});
