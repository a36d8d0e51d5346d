// The calibrated `confidence`: the bundled weights load and are sane, a bad file is refused with its name, and the
// fitting (bench/consent/calibrate.ts) recovers what the data says.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fitLogistic, reliability } from '../bench/consent/calibrate.js';
import { FEATURES, decisionFeatures, loadCalibration, logistic } from '../gateway/listen/consent/calibration.js';

describe('bundled calibration', () => {
  it('loads for Mandarin, names its source, and is none for a language without one', () => {
    const cal = loadCalibration('zh');
    expect(cal).not.toBeNull();
    expect(cal!.features).toEqual([...FEATURES]);
    expect(cal!.source).toMatch(/natural/);
    expect(loadCalibration('en')).toBeNull();
  });

  it('is more confident in a grant the classifier matched cleanly than in one it barely matched', () => {
    const cal = loadCalibration('zh')!;
    const heard = { main: 'recogniser' as const, hypotheses: [{ text: 'k ě y ǐ', logProbs: [-0.3, -0.2, -0.4, -0.3], leadMs: 40 }], speechMs: 500 };
    const opinion = { source: 'recogniser' as const, text: 'k ě y ǐ', result: { decision: 'granted' as const, phrase: '可以', confidence: 0.95, complaint: false, reason: '' } };
    const clean = logistic(cal.granted, decisionFeatures({ decision: 'granted', match: 0.95, opinions: [opinion] }, heard));
    const weak = logistic(cal.granted, decisionFeatures({ decision: 'granted', match: 0.8, opinions: [opinion] }, { ...heard, hypotheses: [{ ...heard.hypotheses[0]!, logProbs: [-3, -3, -3, -3] }] }));
    expect(clean).toBeGreaterThan(0.5);
    expect(clean).toBeGreaterThanOrEqual(weak);
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
