// Content-aware barge-in: a ContentProbe on every call whose language the recogniser serves, sharing the consent
// feature's recogniser pool (it runs only while a pause is pending), and the interruption lexicon for that language.
import client from 'prom-client';
import type { Gateway, Plugin } from '../Gateway.js';
import type { Call } from '../call/Call.js';
import { ContentProbe } from '../listen/interruption/ContentProbe.js';
import { contentDecisionsPossible } from '../listen/interruption/contentPossible.js';
import { InterruptionLexicon } from '../listen/interruption/InterruptionLexicon.js';
import type { TokenType } from '../listen/consent/index.js';
import { isResolved, resolveModel } from '../models.js';
import { registry } from '../ops/metrics.js';
import type { ConsentFeature } from './consent.js';

const looks = new client.Counter({ name: 'earshot_bargein_content_looks_total', help: 'Recogniser looks at paused stretches', registers: [registry] });
const asrCpu = new client.Counter({
  name: 'earshot_bargein_content_asr_cpu_seconds_total',
  help: 'Recogniser worker CPU spent on paused stretches (barge-in content decisions)',
  registers: [registry],
});
const heard = new client.Counter({ name: 'earshot_bargein_content_heard_seconds_total', help: 'Paused speech the content probe listened to (after the onset)', registers: [registry] });

export class InterruptionFeature implements Plugin {
  readonly name = 'interruption';
  private lexicon: InterruptionLexicon | null = null;

  constructor(private readonly consent: ConsentFeature) {}

  async start(gw: Gateway): Promise<void> {
    const cfg = gw.config;
    if (cfg.bargeIn.content.enabled === false) return;
    const r = contentDecisionsPossible(cfg) ? resolveModel(cfg.asr.model, cfg.modelsDir) : null;
    if (!this.consent.pool || !r || !isResolved(r)) {
      gw.log.info('no recogniser in recognizer mode: barge-in decides by duration alone');
      return;
    }
    const lang = (r.entry.language ?? 'zh') as 'zh' | 'en';
    this.lexicon = InterruptionLexicon.load(lang, (r.entry.tokenType ?? 'char') as TokenType, cfg.bargeIn.content.lexiconFile);
    gw.log.info({ language: lang, model: r.entry.id }, 'content-aware barge-in ready');
  }

  callStarted(call: Call, gw: Gateway): void {
    const pool = this.consent.pool;
    const lex = this.lexicon;
    if (!pool || !lex || call.init.language !== lex.language || !call.takesContentVerdicts) return;
    const c = gw.config.bargeIn.content;
    const probe = new ContentProbe({
      preRollMs: c.preRollMs,
      firstAtMs: c.firstAtMs,
      everyMs: c.everyMs,
      maxMs: c.maxMs,
      // The judge reads the transcript alone: the ensemble's second opinions (shifted hearing, keyword spotting) would
      // be recogniser time spent for nothing.
      openStream: () => pool.open(call.id, { secondOpinions: false }),
      judge: (text) => lex.judge(text),
      verdict: (v) => call.contentVerdict(v),
      done: (s) => {
        looks.inc(s.looks);
        asrCpu.inc(s.cpuMs / 1000);
        heard.inc(s.heardMs / 1000);
        call.log.debug(s, 'barge-in content probe cost');
      },
      log: call.log,
    });
    call.addListener(probe);
    call.setContentAware(true);
  }
}
