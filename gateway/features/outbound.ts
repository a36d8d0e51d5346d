// The outbound-calling features in the order they must run: `say` (speech), approved scripts (their admission runs
// before the policy's so a refused script does not use up a frequency-cap slot), call policy and records.
import type { Plugin } from '../Gateway.js';
import type { WebhookAnnouncer } from '../webhooks/Announcer.js';
import { PolicyFeature } from './policy.js';
import { ScriptsFeature, type Recordings } from './scripts.js';
import { SpeechFeature } from './speech.js';

/**
 * `recordings`: the recorded-prompt library approved scripts may play (available once its feature started).
 * `announcer`: webhook rows the call records carry (call ends, refused starts).
 */
export function outboundFeatures(opts: { now?: () => Date; recordings?: () => Recordings | undefined; announcer?: WebhookAnnouncer } = {}): Plugin[] {
  const speech = new SpeechFeature();
  const policy = new PolicyFeature({ now: opts.now, announcer: opts.announcer });
  return [speech, new ScriptsFeature(speech, policy, opts.recordings), policy];
}
