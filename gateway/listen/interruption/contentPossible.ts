// Whether a gateway's configuration lets any call take content verdicts: content decisions on at some rate and a
// recogniser in recognizer mode. The interruption feature attaches its probes only then, and the listen workers load
// the interruption classifier for `bargeIn.interruption.enabled: withContent` only then — otherwise every frame of
// every call would pay for band energies and a score nobody reads.
import type { Config } from '../../config.js';

export function contentDecisionsPossible(c: Pick<Config, 'bargeIn' | 'asr'>): boolean {
  return c.bargeIn.content.enabled !== false && c.asr.model !== '' && c.asr.mode === 'recognizer';
}

/** Whether the listen workers should load the interruption classifier (bargeIn.interruption.enabled). */
export function interruptionClassifierUsed(c: Pick<Config, 'bargeIn' | 'asr'>): boolean {
  const e = c.bargeIn.interruption.enabled;
  return e === true || (e === 'withContent' && contentDecisionsPossible(c));
}
