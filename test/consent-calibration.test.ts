// The calibrated `confidence`: no file for a language is no calibration, a bad file is refused with its name, and the
// fitting (bench/consent/calibrate.ts) recovers what the data says.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fitLogistic, reliability } from '../bench/consent/calibrate.js';
import { loadCalibration, logistic } from '../gateway/listen/consent/calibration.js';

describe('calibration file', () => {
  it('is none for a language without one (confidence is then the match score)', () => {
    expect(loadCalibration('en')).toBeNull();
  });

  it('refuses a malformed calibration file, naming it', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'earshot-cal-')), 'cal.json');
    writeFileSync(f, JSON.stringify({ features: ['match'], granted: { bias: 0, weights: [1] } }));
    expect(() => loadCalibration('zh', f)).toThrow(new RegExp(`consent calibration ${f}`));
    expect(() => loadCalibration('zh', join(tmpdir(), 'no-such-calibration.json'))).toThrow(/does not exist/);
  });
});

describe('fitting', () => {
  it('learns that a feature separates right from wrong, and gives the base rate when every sample agrees', () => {
    const samples = Array.from({ length: 200 }, (_, i) => {
      const right = i % 4 !== 0;
      return { x: [right ? 0.9 : 0.5, -1, -2, 1, 1], y: (right ? 1 : 0) as 0 | 1 };
    });
    const m = fitLogistic(samples);
    expect(logistic(m, [0.9, -1, -2, 1, 1])).toBeGreaterThan(0.9);
    expect(logistic(m, [0.5, -1, -2, 1, 1])).toBeLessThan(0.2);
    const all = fitLogistic(Array.from({ length: 50 }, () => ({ x: [0.9, -1, -2, 1, 1], y: 1 as const })));
    expect(all.weights.every((w) => w === 0)).toBe(true);
    expect(logistic(all, [0, 0, 0, 0, 0])).toBeCloseTo(51 / 52, 3);
  });

  it('tabulates reliability per confidence bin', () => {
    const t = reliability([{ p: 0.97, right: true }, { p: 0.96, right: false }, { p: 0.6, right: false }]);
    const top = t.find((b) => b.lo === 0.95)!;
    expect(top).toMatchObject({ n: 2, right: 1 });
    expect(t.find((b) => b.lo === 0.5)).toMatchObject({ n: 1, right: 0 });
  });
});
