// AdmissionBuffer: caller audio held during admission, replayed in order, bounded by keeping the newest.
import { describe, expect, it } from 'vitest';
import { AdmissionBuffer } from '../gateway/wires/shared/AdmissionBuffer.js';

describe('AdmissionBuffer', () => {
  it('replays what it holds in arrival order, once', () => {
    const b = new AdmissionBuffer<number>(1000);
    for (let i = 0; i < 10; i++) b.push(i, 20);
    expect(b.drain()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(b.drain()).toEqual([]);
    expect(b.dropped).toBe(0);
  });

  it('past its bound drops the oldest audio and counts it', () => {
    const b = new AdmissionBuffer<number>(100);
    for (let i = 0; i < 8; i++) b.push(i, 20);
    expect(b.drain()).toEqual([3, 4, 5, 6, 7]);
    expect(b.dropped).toBe(3);
  });
});
