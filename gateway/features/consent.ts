// Consent on live calls: the recogniser pool, the classifier and the evidence store, wired into every call and
// exposed as `expect_consent` (all wires) and the evidence HTTP routes.
import type { Call } from '../call/Call.js';
import type { EvidenceLedger } from '../evidence/EvidenceLedger.js';
import { openEvidenceLedger } from '../evidence/open.js';
import type { Gateway, Plugin } from '../Gateway.js';
import type { Config } from '../config.js';
import { startAsrPool, type AsrWorkerPool, type BesideSpec, type DecodingSpec } from '../listen/asr/index.js';
import { ConsentSession, type ConsentDecisionEvent, type ConsentSessionDeps } from '../listen/ConsentSession.js';
import type { BargeInAction } from '../listen/BargeInPolicy.js';
import {
  ConsentClassifier,
  RECOMMENDED_KWS_SETTINGS,
  buildKeywords,
  decideConsent,
  keywordsFileText,
  lexiconHotwordBoosts,
  loadCalibration,
  loadLexiconFile,
  readTokenSet,
  type Calibration,
  type DecisionRules,
  type LexiconFile,
  type TokenType,
} from '../listen/consent/index.js';
import { isResolved, resolveModel, type ResolvedModel } from '../models.js';
import { HttpError, sendJson } from '../ops/http.js';
import { metrics } from '../ops/metrics.js';
import type { WebhookAnnouncer } from '../webhooks/Announcer.js';

export class ConsentFeature implements Plugin {
  readonly name = 'consent';
  pool: AsrWorkerPool | null = null;
  evidence!: EvidenceLedger;
  private closeEvidence: (() => Promise<void>) | null = null;
  private classifier = new ConsentClassifier();
  private model: ResolvedModel | null = null;
  private sessions = new Map<Call, ConsentSession>();
  private calibration: Calibration | null = null;

  /** `announcer`: the webhook rows announcing decisions, written in their evidence records' transactions. */
  constructor(private readonly opts: { announcer?: WebhookAnnouncer } = {}) {}

  async start(gw: Gateway): Promise<void> {
    const cfg = gw.config;
    const handle = openEvidenceLedger(cfg);
    this.closeEvidence = handle.close;
    this.evidence = await handle.ledger;
    this.routes(gw);
    if (!cfg.asr.model) {
      gw.log.warn('asr.model is empty: speech recognition and consent decisions are disabled');
      return;
    }
    const r = resolveModel(cfg.asr.model, cfg.modelsDir);
    if (!isResolved(r)) {
      gw.log.warn({ model: cfg.asr.model, looked: r.missing }, `recogniser model missing: consent decisions disabled; run \`npm run models -- ${cfg.asr.model}\``);
      return;
    }
    this.model = r;
    const lang = (r.entry.language ?? 'zh') as 'zh' | 'en';
    const tokenType = (r.entry.tokenType ?? 'char') as TokenType;
    const lex = loadLexiconFile(lang, cfg.consent.lexiconFile);
    const extra: Record<string, unknown> = {};
    if (cfg.asr.mode === 'kws') {
      Object.assign(extra, spotterSettings(lex, r.files.tokens!));
    } else {
      const { decoding, note } = recogniserSearch(cfg, lex, tokenType, r.files.tokens);
      if (note) gw.log.warn(note);
      Object.assign(extra, { decoding, narrowband: narrowbandSearch(cfg, decoding), beside: secondOpinion(cfg, lex, tokenType, r.files.tokens, decoding) });
    }
    this.pool = await startAsrPool(cfg, extra);
    this.calibration = loadCalibration(lang, cfg.consent.calibrationFile);
    // Warm the lexicon so the first call does not pay for compiling it.
    this.classifier.lexicon(lang, tokenType);
    gw.commands.expectConsent = (call, m) => {
      const s = this.sessions.get(call);
      if (!s) throw Object.assign(new Error('consent is not available on this call'), { code: 'consent_unavailable' });
      s.expect(m.promptId, m.windowMs ?? cfg.consent.windowMs);
    };
    gw.log.info({ model: r.entry.id, mode: cfg.asr.mode, engine: this.pool.stats().engine, workers: cfg.asr.workers ?? 'one per core', calibrated: !!this.calibration }, 'consent recognition ready');
  }

  callStarted(call: Call, gw: Gateway): void {
    const pool = this.pool;
    const model = this.model;
    if (!pool || !model) return;
    if (call.init.language !== (model.entry.language ?? 'zh')) {
      call.log.warn({ model: model.entry.id }, `no ${call.init.language} recogniser configured: consent unavailable on this call`);
      return;
    }
    const cfg = gw.config;
    const tokenType = (model.entry.tokenType ?? 'char') as TokenType;
    const language = call.init.language;
    const narrowband = call.init.format.sampleRate < 16000;
    const rules: DecisionRules = {
      minGrantConfidence: cfg.consent.minGrantConfidence,
      maxUnheardLeadMs: cfg.consent.maxUnheardLeadMs,
      maxUnheardGapMs: cfg.consent.maxUnheardGapMs,
      minUnclearSpeechMs: 250,
      minGrantSpeechMs: cfg.consent.minGrantSpeechMs,
      fragmentGrants: cfg.consent.fragmentGrants,
      fragmentUnplaced: cfg.consent.fragmentUnplaced,
      unplacedHold: cfg.consent.unplacedHold,
      minGrantLogProb: cfg.consent.minGrantLogProb,
      // The shifted decode's yes counts only where the first placed nothing (a second hearing's, consent.rehear, always may).
      grantFromAlternative: cfg.consent.secondOpinion === 'shifted',
      corroborate: cfg.consent.corroborate,
    };
    const ctx = { classifier: this.classifier, tokenType, language, calibration: this.calibration ?? undefined };
    // An 8 kHz call's utterances are cut by Silero's own 8 kHz mode while a window is open (consent.narrowbandVad):
    // upsampled, a short fricative yes (是, 行) is a 32 ms fragment. Barge-in keeps the shared VAD.
    const ownVad = narrowband && cfg.consent.narrowbandVad === 'native' && call.hasNarrowVad;
    const session = new ConsentSession({
      // The decision waits on this stream's finals: they go before barge-in looks and streaming decode.
      openStream: () => pool.open(call.id, { priority: 0, narrowband }),
      judge: (heard) => {
        const v = decideConsent(heard, ctx, rules);
        // What was said is personal data: only at debug level.
        if (v) call.log.debug({ decision: v.decision, transcript: v.transcript, opinions: v.opinions.map((o) => `${o.source}: ${o.text} → ${o.result.decision}`) }, 'consent heard');
        return v;
      },
      main: cfg.asr.mode === 'kws' ? 'spotter' : 'recogniser',
      now: () => call.t,
      preRollMs: cfg.asr.preRollMs,
      endSilenceMs: cfg.consent.endSilenceMs,
      rehear: cfg.asr.mode === 'kws' ? [] : rehearing(cfg, narrowband),
      ownVad: ownVad ? (on) => void call.narrowCuts(on) : undefined,
      emitTranscript: (text, final) => call.emit({ type: 'transcript', text, final }),
      decide: (d) => void this.decide(call, d, model.entry.id, cfg.asr.mode),
    });
    this.sessions.set(call, session);
    call.addListener({
      audio: (s, start) => session.audio(s, start),
      ...(ownVad ? { narrowSpeech: (a: BargeInAction) => session.speech(a) } : { speech: (a: BargeInAction) => session.speech(a) }),
      close: () => {
        session.close();
        this.sessions.delete(call);
      },
    });
  }

  /**
   * Records the decision, then reports it: the `consent` event leaves only once its evidence is durable (the
   * engine's append resolved), so a decision that was sent is never lost; the webhook announcing it is written in
   * the evidence record's own transaction, so a stored decision is always announced. The append runs off the audio
   * path (a PostgreSQL round trip; with SQLite the WAV is written in a worker thread and only the row's commit runs
   * on the event loop).
   */
  private async decide(call: Call, decided: ConsentDecisionEvent, modelId: string, mode: string): Promise<void> {
    let d = decided;
    const t = call.t;
    const event = (evidenceId: string | null) => ({
      type: 'consent' as const,
      decision: d.decision,
      phrase: d.phrase,
      transcript: d.transcript,
      confidence: d.confidence,
      complaint: d.complaint,
      reason: d.reason,
      promptId: d.promptId,
      speechEndT: d.speechEndT,
      evidenceId,
      t,
    });
    const announcer = this.opts.announcer;
    let evidenceId: string | null = null;
    try {
      // Durable before the client hears of it: a decision that was sent is never lost.
      const rec = await this.evidence.append(
        {
          callId: call.id,
          callee: call.init.callee,
          promptId: d.promptId,
          decision: d.decision,
          phrase: d.phrase,
          transcript: d.transcript,
          confidence: d.confidence,
          complaint: d.complaint,
          speechStartT: d.speechStartT ?? undefined,
          speechEndT: d.speechEndT ?? t,
          decidedT: t,
          wallTime: new Date().toISOString(),
          audio: d.audio && d.audio.length ? { sampleRate: 16000, samples: d.audio } : undefined,
          model: modelId,
          mode,
        },
        announcer && ((r) => announcer.callEvent(call, event(r.id))),
      );
      evidenceId = rec.id;
    } catch (e) {
      call.log.error({ err: e }, 'evidence append failed');
      metrics.errors.inc({ code: 'evidence_failed' });
      call.emit({ type: 'error', code: 'evidence_failed', message: 'the decision could not be recorded; it is reported as unclear' });
      d = { ...d, decision: 'unclear', reason: 'evidence store failed' };
      // Nothing recorded it: the decision reported as unclear is announced on its own.
      announcer?.alone(announcer.callEvent(call, event(null)));
    }
    // What the callee said is personal data: it is in the evidence record, and in the log only at debug.
    call.log.info({ decision: d.decision, evidenceId }, 'consent decided');
    call.log.debug({ phrase: d.phrase, transcript: d.transcript, evidenceId }, 'consent transcript');
    metrics.consentDecisions.inc({ decision: d.decision, complaint: String(d.complaint) });
    // The event's own latency (decided at t), so the metric and the event stream agree.
    if (d.speechEndT !== null) metrics.consentDecisionSeconds.observe(Math.max(0, t - d.speechEndT) / 1000);
    call.emit(event(evidenceId));
  }

  private routes(gw: Gateway): void {
    gw.router.add('GET', '/v1/evidence/:id', async (_q, res, p) => {
      const rec = await this.evidence.get(p.id);
      if (!rec) throw new HttpError(404, 'not_found', `no evidence ${p.id}`);
      sendJson(res, 200, rec);
    });
    gw.router.add('GET', '/v1/evidence/:id/audio', async (_q, res, p) => {
      const body = await this.evidence.audio(p.id);
      if (!body) throw new HttpError(404, 'not_found', `no audio for evidence ${p.id}`);
      res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': body.length });
      res.end(body);
    });
    gw.router.add('GET', '/v1/calls/:callId/evidence', async (_q, res, p) => sendJson(res, 200, { evidence: await this.evidence.listByCall(p.callId) }));
  }

  async stop(): Promise<void> {
    for (const s of this.sessions.values()) s.close();
    await this.pool?.close();
    await this.closeEvidence?.(); // checkpoints the chain head (gateway/evidence/README.md)
  }
}

/** Keyword-spotting mode: the lexicon as the spotter's keywords, with the measured settings. */
function spotterSettings(lex: LexiconFile, tokensPath: string): Record<string, unknown> {
  const { keywords } = buildKeywords(lex, { tokens: readTokenSet(tokensPath) });
  return { keywords: keywordsFileText(keywords), ...RECOMMENDED_KWS_SETTINGS };
}

/** `asr.search` as a decoding spec: the lexicon becomes the hotwords of a pinyin-token transducer. */
export function recogniserSearch(cfg: Config, lex: LexiconFile, tokenType: TokenType, tokensPath: string | undefined): { decoding: DecodingSpec; note?: string } {
  const { search, beamPaths, hotwordBoost, refusalHotwordBoost } = cfg.asr;
  if (search === 'greedy') return { decoding: { method: 'greedy' } };
  if (search === 'beam') return { decoding: { method: 'beam', maxActivePaths: beamPaths } };
  if (tokenType !== 'pinyin-initial-final') {
    // The lexicon is compiled to pinyin tokens only; other models get the search without the biasing.
    return { decoding: { method: 'beam', maxActivePaths: beamPaths }, note: `asr.search "hotwords" needs a pinyin-token model (${tokenType}): beam search without hotwords` };
  }
  const { hotwords, boosts } = lexiconHotwordBoosts(lex, tokensPath, hotwordBoost, refusalHotwordBoost);
  return { decoding: { method: 'beam', maxActivePaths: beamPaths, hotwords, boost: hotwordBoost, phraseBoosts: boosts } };
}

/** The search of 8 kHz calls' streams when `asr.narrowbandBeamPaths` makes it differ from the wideband one. */
export function narrowbandSearch(cfg: Config, decoding: DecodingSpec): DecodingSpec | undefined {
  const paths = cfg.asr.narrowbandBeamPaths;
  if (paths === undefined || decoding.method !== 'beam' || paths === (decoding.maxActivePaths ?? 4)) return undefined;
  return { ...decoding, maxActivePaths: paths };
}

/** `consent.rehear` for a call of this rate: how its unplaced answers are heard again (empty: they are not). */
export function rehearing(cfg: Config, narrowband: boolean): ConsentSessionDeps['rehear'] {
  return cfg.consent.rehear[narrowband ? 'narrowband' : 'wideband'].map((r) =>
    r.input === 'extended' ? { shiftMs: r.shiftMs, transform: { kind: 'extendBandwidth', db: r.extensionDb } } : { shiftMs: r.shiftMs },
  );
}

/** `consent.secondOpinion` as engines beside the recogniser. */
export function secondOpinion(cfg: Config, lex: LexiconFile, tokenType: TokenType, tokensPath: string | undefined, decoding: DecodingSpec): BesideSpec[] | undefined {
  const which = cfg.consent.secondOpinion;
  if (which === 'none') return undefined;
  // Greedy beside the biased search: what the audio says without the bias, over the same cut (skip 0).
  if (which === 'unbiased') return decoding.method === 'greedy' ? undefined : [{ mode: 'recognizer', decoding: { method: 'greedy' }, skipMs: 0 }];
  if (which === 'shifted') {
    // Beside the first decode the second can only start later in the same audio (consent.shiftMs ≥ 0).
    return [{ mode: 'recognizer', decoding, skipMs: cfg.consent.shiftMs }];
  }
  if (tokenType !== 'pinyin-initial-final' || !tokensPath) return undefined;
  return [{ mode: 'kws', ...spotterSettings(lex, tokensPath) }];
}
