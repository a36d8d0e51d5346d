// gateway/listen/BackgroundLevel.ts: a frame's level over the call's speech-like background (median of 3 s).
import { describe, expect, it } from 'vitest';
import { BACKGROUND_FRAMES, BackgroundLevel, SPEECHY_MIN_FRAMES } from '../gateway/listen/BackgroundLevel.js';

const L = 512;
/** Energy summed over a 512-sample frame whose mean power is `dbfs` dB. */
const energy = (dbfs: number) => L * 10 ** (dbfs / 10);

describe('BackgroundLevel', () => {
  it('steady speech-like background around −40 dB: a frame at −38 is a few dB over it, a callee at −25 is ~14 dB over', () => {
    const bg = new BackgroundLevel(L);
    for (let i = 0; i < BACKGROUND_FRAMES; i++) bg.next(energy(i % 2 ? -39 : -41), 0.8);
    // Lower median of 47 × −41 and 47 × −39: −41.
    expect(bg.next(energy(-38), 0.8)).toBeCloseTo(3, 2);
    const callee = bg.next(energy(-25), 0.9);
    expect(callee).toBeGreaterThan(13.5);
    expect(callee).toBeLessThan(16);
  });
  it('a background the VAD does not call speech (hum, hiss) is not compared: +Infinity', () => {
    const bg = new BackgroundLevel(L);
    for (let i = 0; i < BACKGROUND_FRAMES; i++) bg.next(energy(-33), 0.01);
    expect(bg.next(energy(-29), 0.95)).toBe(Infinity);
  });
  it('before SPEECHY_MIN_FRAMES the background is taken as speech-like (the first frame is 0 dB over itself)', () => {
    const bg = new BackgroundLevel(L);
    expect(bg.next(energy(-30), 0)).toBe(0);
    for (let i = 1; i < SPEECHY_MIN_FRAMES - 1; i++) expect(bg.next(energy(-50), 0)).toBeLessThan(Infinity);
    bg.next(energy(-50), 0);
    expect(bg.next(energy(-50), 0)).toBe(Infinity);
  });
  it('the history is the last 3 s only: a background that went quiet is forgotten', () => {
    const bg = new BackgroundLevel(L);
    for (let i = 0; i < BACKGROUND_FRAMES; i++) bg.next(energy(-30), 0.9);
    for (let i = 0; i < BACKGROUND_FRAMES; i++) bg.next(energy(-60), 0.5);
    expect(bg.next(energy(-45), 0.9)).toBeCloseTo(15, 2);
  });
});
