// gateway/listen/interruption/contentPossible.ts: when content verdicts can exist at all, and so when the listen
// workers load the interruption classifier (its band energies and score run on every frame of every call).
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../gateway/config.js';
import { contentDecisionsPossible, interruptionClassifierUsed } from '../gateway/listen/interruption/contentPossible.js';

const cfg = (o: Record<string, unknown>) => ConfigSchema.parse(o);

describe('contentDecisionsPossible / interruptionClassifierUsed', () => {
  it('defaults: content decisions with a recogniser, so the classifier is loaded (withContent)', () => {
    expect(contentDecisionsPossible(cfg({}))).toBe(true);
    expect(interruptionClassifierUsed(cfg({}))).toBe(true);
  });

  it('no recogniser, keyword spotting, or content decisions off: withContent loads nothing', () => {
    for (const o of [{ asr: { model: '' } }, { asr: { mode: 'kws' } }, { bargeIn: { content: { enabled: false } } }]) {
      expect(contentDecisionsPossible(cfg(o))).toBe(false);
      expect(interruptionClassifierUsed(cfg(o))).toBe(false);
    }
    expect(contentDecisionsPossible(cfg({ bargeIn: { content: { enabled: 'wideband' } } }))).toBe(true);
  });

  it('true loads it whatever content decisions do; false never', () => {
    expect(interruptionClassifierUsed(cfg({ asr: { model: '' }, bargeIn: { interruption: { enabled: true } } }))).toBe(true);
    expect(interruptionClassifierUsed(cfg({ bargeIn: { interruption: { enabled: false } } }))).toBe(false);
  });
});
