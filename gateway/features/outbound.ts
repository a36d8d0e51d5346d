// The outbound-calling features in the order they must run: `say` (speech), approved scripts (their admission runs
// before the policy's so a refused script does not use up a frequency-cap slot), call policy and records.
import type { Plugin } from '../Gateway.js';
import { PolicyFeature } from './policy.js';
import { ScriptsFeature } from './scripts.js';
import { SpeechFeature } from './speech.js';

export function outboundFeatures(opts: { now?: () => Date } = {}): Plugin[] {
  const speech = new SpeechFeature();
  const policy = new PolicyFeature({ now: opts.now });
  return [speech, new ScriptsFeature(speech, policy), policy];
}
