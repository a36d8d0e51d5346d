// From what was heard of one answer to one decision. Pure: ConsentSession calls it on every finished utterance, and
// the offline replay (bench/consent/) calls the same code on recorded hypotheses, so what is tuned there is what runs
// here.
//
// Safety first, in this order:
//  1. every opinion is classified on its own: the recogniser's transcript, its other hypotheses (the same answer
//     decoded again, see asr/Ensemble.ts), the keyword spotter's phrases;
//  2. a refusal or complaint heard by any of them decides `refused`, unless it contradicts the recogniser's own
//     `granted`, which then becomes `unclear` (one ear heard yes, another no: ask again);
//  3. `granted` needs the main opinion (the recogniser's transcript, or the spotter in keyword-spotting mode) to
//     grant, no other opinion to doubt it (a question or hesitation), and the recogniser to have heard the whole
//     answer: its start, every stretch of it, and most of what was said;
//  4. everything else is `unclear`, which costs a re-prompt, never a pitch without consent.
// The reported `confidence` is the classifier's match score, or with a calibration file (consent.calibrationFile,
// ./calibration.ts) a probability that the decision is right; no calibration is bundled yet.
import { calibrated, type Calibration } from './calibration.js';
import type { ConsentClassifier, ConsentResult } from './ConsentClassifier.js';
import { soundsLikeComplaint } from './complaint.js';
import { spottedToInput, type SpottedKeyword } from './keywords.js';
import type { Language, TokenType } from './lexicon.js';
import { INITIALS } from './pinyin.js';
import { tokensToSyllables } from '../asr/syllables.js';

export interface Hypothesis {
  /** Recogniser output as the classifier reads it (space-separated model tokens for pinyin models). */
  text: string;
  tokens?: string[];
  /** Per-token log-probabilities, when the recogniser reports them. */
  logProbs?: number[];
  /** Per-token emission times, ms from the VAD onset. */
  tokenMs?: number[];
  /** Speech before the first recognised token, ms from the VAD onset; null when the recogniser gave no times. */
  leadMs: number | null;
  /**
   * From the second hearing of the answer (ConsentSession: the same answer fed again, because the first hearing
   * placed no lexicon phrase): its yes may grant where the first hearing placed nothing, under every rule below.
   */
  reheard?: boolean;
}

export interface Heard {
  /** Whose opinion carries a grant: the recogniser's transcript, or the spotter's (keyword-spotting mode). */
  main: 'recogniser' | 'spotter';
  /** Best first: [0] is the recogniser's transcript, the rest are other decodes of the same audio. */
  hypotheses: Hypothesis[];
  /** Keyword spotter phrases (seconds from the VAD onset), when a spotter listened. */
  spotted?: SpottedKeyword[];
  /** VAD onset to end of speech, ms. */
  speechMs: number;
  /**
   * Set when this utterance follows held speech (a provisional decision it supersedes): ms from the held utterance's
   * VAD onset to this one's. The answer began there, so a grant's unheard lead is measured from there — the words
   * of the held part must be in this hearing (its pre-roll), not merely before it.
   */
  heldOnsetMs?: number;
}

export interface DecisionRules {
  /** A `granted` whose phrase covers less of the answer than this (classifier match score) is `unclear`. */
  minGrantConfidence: number;
  /** A `granted` with more speech than this before its first recognised token is `unclear`. */
  maxUnheardLeadMs: number;
  /** A `granted` with a stretch longer than this between two recognised syllables is `unclear` (a lost 不, 吗). */
  maxUnheardGapMs: number;
  /** Speech at least this long with nothing recognised is `unclear`; shorter is ignored (a click, a cough). */
  minUnclearSpeechMs: number;
  /** A `granted` needs every other recogniser hypothesis to grant too (not merely not to doubt it). */
  requireAgreement?: boolean;
  /**
   * What a grant of the biased search needs from the other recogniser hearings of the same answer (the unbiased
   * greedy decode beside it, consent.secondOpinion "unbiased"): `agree`, each grants too; `syllable`, each heard at
   * least one syllable (tone-blind) of the granting transcript — the bias may repair a tone or a final, not invent
   * a word the audio never suggested (算了 heard 好好好 under the bias, 算了 without it); `repeats`, a grant made of
   * one syllable repeated (好好好, 对对) needs another hearing to grant. `none` (default): only their refusals and
   * doubts count.
   */
  corroborate?: 'none' | 'agree' | 'syllable' | 'repeats';
  /**
   * A grant heard only by another hypothesis decoded beside the recogniser (consent.secondOpinion "shifted") counts
   * when the best hypothesis heard no lexicon phrase at all. A second hearing's (`reheard`) always may: that hearing
   * only happens when the first placed nothing.
   */
  grantFromAlternative?: boolean;
  /**
   * A `granted` from less speech than this is `unclear`: a VAD fragment (什 of 什么, 48 ms) heard as 是 is no
   * answer. Default 0 (off).
   */
  minGrantSpeechMs?: number;
  /**
   * What such a fragment's grant decides: `unclear` (default), or `listen` — nothing, as speech too short to be an
   * answer, so the window keeps listening and the next utterance decides (at 8 kHz the VAD often marks a 32 ms
   * fragment ahead of the answer itself: 算了 preceded by a fragment heard 好好).
   */
  fragmentGrants?: 'unclear' | 'listen';
  /**
   * What a fragment (less speech than `minGrantSpeechMs`) decides when no hearing placed a lexicon phrase in it (words
   * it could not place: the pre-roll's noise or an onset heard as 你 / 谢谢): `unclear` (default: it ends the window),
   * or `listen` — a provisional `unclear` (ConsentVerdict.provisional), so the utterance after it decides when there
   * is one (at 8 kHz the VAD splits a fricative onset off a yes: 行 as x + íng, 是 as sh + ì) and the fragment only
   * when the callee says nothing more. Refusals, questions and hesitations from a fragment still decide.
   */
  fragmentUnplaced?: 'unclear' | 'listen';
  /**
   * Which unplaced utterances `fragmentUnplaced: listen` holds (no hearing placed a lexicon phrase): `fragment`
   * (default), those shorter than `minGrantSpeechMs`; `unfinished`, also any whose transcript ends in an initial
   * without its final (the VAD ended the utterance inside a syllable: 没问 t | 题); `any`, every one (a pause inside an
   * answer: 没 | 问题). What follows within the hold decides, its lead measured from the held onset (Heard.heldOnsetMs).
   */
  unplacedHold?: 'fragment' | 'unfinished' | 'any';
  /**
   * A `granted` whose hypothesis holds a token the model itself gave a log-probability below this (without any
   * hotword boost: what the audio, not the bias, says) is `unclear`. Default -Infinity (off).
   */
  minGrantLogProb?: number;
}

export type OpinionSource = 'recogniser' | 'alternative' | 'spotter';

export interface Opinion {
  source: OpinionSource;
  text: string;
  result: ConsentResult;
  /** Heard (also) by the second hearing of the answer (Hypothesis.reheard). */
  reheard?: boolean;
}

export interface ConsentVerdict extends ConsentResult {
  /** The recogniser transcript the decision is reported with (the spotted phrases in keyword-spotting mode). */
  transcript: string;
  /** Every opinion that was weighed, for logs and tuning. */
  opinions: Opinion[];
  /** The classifier's match score of the deciding phrase (what `minGrantConfidence` is compared with). */
  match: number;
  /**
   * Decides only if nothing follows (`fragmentUnplaced: listen`): a fragment nobody could place may be the onset the
   * VAD split off the answer, so the session waits briefly for more speech, which then decides instead.
   */
  provisional?: boolean;
}

export interface DecideContext {
  classifier: ConsentClassifier;
  tokenType: TokenType;
  language: Language;
  /** Maps the decision's features to a calibrated probability; without it `confidence` is the match score. */
  calibration?: Calibration;
}

function classifyText(ctx: DecideContext, text: string): ConsentResult {
  const c = ctx.classifier.classify({ text, tokenType: ctx.tokenType, language: ctx.language });
  // A complaint misheard past every lexicon phrase (别打了 → "b ié d ǎ d é") still refuses.
  if (c.decision !== 'granted' && !c.complaint && soundsLikeComplaint(text)) {
    return { ...c, decision: 'refused', complaint: true, cue: 'complaint', reason: `${c.reason}; heard as a complaint` };
  }
  return c;
}

const INITIAL_SET: ReadonlySet<string> = new Set(INITIALS);

/**
 * Longest stretch between two recognised syllables, ms: from the last token of one syllable to the first of the
 * next (pinyin models spell a syllable as initial + final; other models' tokens are units of their own).
 */
export function longestGapMs(h: Hypothesis, tokenType: TokenType): number {
  const t = h.tokenMs;
  const tok = h.tokens;
  if (!t || !tok || t.length !== tok.length) return 0;
  let gap = 0;
  for (let i = 1; i < t.length; i++) {
    const insideSyllable = tokenType === 'pinyin-initial-final' && INITIAL_SET.has(tok[i - 1]!);
    if (!insideSyllable) gap = Math.max(gap, t[i]! - t[i - 1]!);
  }
  return gap;
}

/** Tone-blind syllables of a hypothesis (pinyin models), or its tokens (other models). */
function syllablesOf(h: Hypothesis, tokenType: TokenType): string[] {
  const tokens = h.tokens?.length ? h.tokens : h.text.split(/\s+/).filter(Boolean);
  return tokenType === 'pinyin-initial-final' ? tokensToSyllables(tokens).toneless : tokens;
}

/**
 * The other recogniser hearing that does not corroborate a grant under `mode`, with why, if any. A hearing that
 * heard nothing corroborates nothing: a VAD fragment of 24 ms that the biased search turned into 是 is exactly
 * where the unbiased one hears silence.
 */
function uncorroboratedBy(mode: NonNullable<DecisionRules['corroborate']>, granterHyp: Hypothesis, opinions: Opinion[], heard: Heard, tokenType: TokenType): { text: string; why: string } | undefined {
  if (mode === 'none' || heard.main !== 'recogniser') return undefined;
  const others = heard.hypotheses.filter((h) => h !== granterHyp && h.text.trim() !== granterHyp.text.trim());
  const grants = (h: Hypothesis) => opinions.find((o) => o.source !== 'spotter' && o.text === h.text.trim())?.result.decision === 'granted';
  const mine = syllablesOf(granterHyp, tokenType);
  for (const h of others) {
    const text = h.text.trim();
    if (mode === 'agree' && !grants(h)) return { text, why: 'it does not grant' };
    if (mode === 'syllable') {
      const own = new Set(mine);
      if (!syllablesOf(h, tokenType).some((x) => own.has(x))) return { text, why: 'no syllable of the grant in it' };
    }
    if (mode === 'repeats' && mine.length > 1 && mine.every((x) => x === mine[0]) && !grants(h)) return { text, why: 'a repeated syllable it did not grant' };
  }
  return undefined;
}

/** Whether an utterance nobody placed is held for what follows (DecisionRules.unplacedHold). */
function holdsUnplaced(heard: Heard, primary: Hypothesis, tokenType: TokenType, rules: DecisionRules): boolean {
  if (heard.speechMs < (rules.minGrantSpeechMs ?? 0)) return true;
  const hold = rules.unplacedHold ?? 'fragment';
  if (hold === 'any') return true;
  const last = primary.tokens?.[primary.tokens.length - 1];
  return hold === 'unfinished' && tokenType === 'pinyin-initial-final' && last !== undefined && INITIAL_SET.has(last);
}

/**
 * The decision for one finished utterance, or null when nothing was heard in speech too short to be an answer (the
 * window keeps listening).
 */
export function decideConsent(heard: Heard, ctx: DecideContext, rules: DecisionRules): ConsentVerdict | null {
  const primary: Hypothesis = heard.hypotheses[0] ?? { text: '', leadMs: null };
  const opinions: Opinion[] = [];
  const seen = new Set<string>();
  heard.hypotheses.forEach((h, i) => {
    const t = h.text.trim();
    if (!t) return;
    if (seen.has(t)) {
      // The second hearing heard what another hypothesis had: that opinion is the second hearing's too.
      const o = h.reheard ? opinions.find((x) => x.text === t && x.source === 'alternative') : undefined;
      if (o) o.reheard = true;
      return;
    }
    seen.add(t);
    opinions.push({ source: i === 0 ? 'recogniser' : 'alternative', text: t, result: classifyText(ctx, t), ...(h.reheard && i > 0 ? { reheard: true } : {}) });
  });
  let spottedText = '';
  if (heard.spotted?.length) {
    const input = spottedToInput(heard.spotted);
    spottedText = input.text;
    if (input.text) opinions.push({ source: 'spotter', text: input.text, result: ctx.classifier.classify(input) });
  }
  const transcript = heard.main === 'recogniser' ? primary.text.trim() : spottedText;
  const done = (r: ConsentResult, deciding: Opinion | null): ConsentVerdict => {
    const v: ConsentVerdict = { ...r, transcript, opinions, match: r.confidence };
    v.confidence = ctx.calibration ? calibrated(ctx.calibration, v, heard) : r.confidence;
    void deciding;
    return v;
  };

  if (opinions.length === 0) {
    if (heard.speechMs < rules.minUnclearSpeechMs) return null;
    // The callee clearly said something nobody could make out: that is an answer, not a yes.
    return done({ decision: 'unclear', phrase: null, confidence: 0, complaint: false, cue: 'empty', reason: `${Math.round(heard.speechMs)} ms of speech, nothing recognised` }, null);
  }

  const mainSource: OpinionSource = heard.main;
  const own = opinions.find((o) => o.source === mainSource);
  const refusal = opinions.find((o) => o.result.decision === 'refused' && o.result.complaint) ?? opinions.find((o) => o.result.decision === 'refused');
  if (refusal) {
    const r = refusal.result;
    const who = refusal.source === mainSource ? '' : ` (the ${refusal.source} heard "${refusal.text}")`;
    if (own && own.result.decision === 'granted' && refusal !== own) {
      return done({ ...own.result, decision: 'unclear', complaint: false, cue: 'refusal', reason: `${own.result.reason}, but ${r.reason}${who}` }, own);
    }
    return done({ ...r, reason: `${r.reason}${who}` }, refusal);
  }

  if (!own) {
    const o = opinions[0]!;
    return done({ ...o.result, decision: 'unclear', reason: `the ${mainSource} heard nothing to confirm what the ${o.source} heard ("${o.text}": ${o.result.reason})` }, o);
  }
  let granter = own;
  let granterHyp = primary;
  if (own.result.decision !== 'granted') {
    // The recogniser's other hearings are its n-best: when its best hypothesis heard no lexicon phrase at all (not a
    // refusal, question, hesitation or filler — words it could not place), a yes another hearing of the same answer
    // heard is weighed, under every check below, instead of being lost.
    const alt = (own.result.cue === 'none' || own.result.cue === 'empty') && heard.main === 'recogniser'
      ? opinions.find((o) => o.source === 'alternative' && (rules.grantFromAlternative || o.reheard) && o.result.decision === 'granted')
      : undefined;
    if (!alt) {
      const v = done(own.result, own);
      if (rules.fragmentUnplaced === 'listen' && own.result.cue === 'none' && holdsUnplaced(heard, primary, ctx.tokenType, rules)) v.provisional = true;
      return v;
    }
    granter = alt;
    granterHyp = heard.hypotheses.find((h, i) => i > 0 && h.text.trim() === alt.text && (rules.grantFromAlternative || h.reheard)) ?? primary;
  }
  const c = granter === own ? own.result : { ...granter.result, reason: `${granter.result.reason}, heard by another hearing (the first heard "${own.text}")` };

  const doubt = opinions.find((o) => o !== granter && (o.result.cue === 'question' || o.result.cue === 'hesitation'));
  const dissent = rules.requireAgreement ? opinions.find((o) => o !== granter && o.source !== 'spotter' && o.result.decision !== 'granted') : undefined;
  const uncorroborated = doubt || dissent ? undefined : uncorroboratedBy(rules.corroborate ?? 'none', granterHyp, opinions, heard, ctx.tokenType);
  if (uncorroborated) {
    return done({ ...c, decision: 'unclear', reason: `${c.reason}; another hearing of the answer did not corroborate it ("${uncorroborated.text}": ${uncorroborated.why})` }, granter);
  }
  if (dissent && !doubt) {
    return done({ ...c, decision: 'unclear', reason: `${c.reason}; another hearing of the answer did not confirm it ("${dissent.text}": ${dissent.result.reason})` }, granter);
  }
  if (doubt) {
    return done({ ...c, decision: 'unclear', cue: doubt.result.cue, reason: `${c.reason}; the ${doubt.source} heard "${doubt.text}" (${doubt.result.reason})` }, granter);
  }
  if (heard.main === 'recogniser') {
    const lead = granterHyp.leadMs === null ? null : granterHyp.leadMs + (heard.heldOnsetMs ?? 0);
    if (lead !== null && lead > rules.maxUnheardLeadMs) {
      // Speech before the first recognised token was not understood (你 of 你是谁 lost, leaving 是): it may hold a
      // negation or a question, so the yes is not explicit.
      return done({ ...c, decision: 'unclear', reason: `${c.reason}; ${Math.round(lead)} ms of speech before the consent phrase was not recognised` }, granter);
    }
    const lp = granterHyp.logProbs;
    const weakest = lp?.length ? Math.min(...lp) : null;
    if (weakest !== null && weakest < (rules.minGrantLogProb ?? -Infinity)) {
      // The bias may have carried a token the audio hardly supports (否 heard as 好): not explicit enough to grant.
      return done({ ...c, decision: 'unclear', reason: `${c.reason}; a token of it was heard with log-probability ${weakest.toFixed(2)} < ${rules.minGrantLogProb}` }, granter);
    }
    const last = granterHyp.tokens?.[granterHyp.tokens.length - 1];
    if (ctx.tokenType === 'pinyin-initial-final' && last !== undefined && INITIAL_SET.has(last)) {
      // The answer ends in an initial whose final never came out (可以吗 heard 可以 m when the recogniser's tail was
      // short): the unfinished syllable may be 吗 or 不, so the yes is not explicit.
      return done({ ...c, decision: 'unclear', reason: `${c.reason}; its last syllable was cut off ("${last}")` }, granter);
    }
    const gap = longestGapMs(granterHyp, ctx.tokenType);
    if (gap > rules.maxUnheardGapMs) {
      // The same inside the answer: 我…愿意 with a stretch nothing was recognised in may be 我不愿意.
      return done({ ...c, decision: 'unclear', reason: `${c.reason}; ${Math.round(gap)} ms between two recognised syllables` }, granter);
    }
  }
  if (heard.speechMs < (rules.minGrantSpeechMs ?? 0)) {
    // Too little speech to hold an answer: with `fragmentGrants: 'listen'` it is treated like a cough (the window
    // keeps listening and the answer that follows decides), else it decides `unclear`.
    if (rules.fragmentGrants === 'listen') return null;
    return done({ ...c, decision: 'unclear', reason: `${c.reason}; only ${Math.round(heard.speechMs)} ms of speech (< ${rules.minGrantSpeechMs} ms)` }, granter);
  }
  if (c.confidence < rules.minGrantConfidence) {
    // A yes-word that covers only part of what was heard (是 in 你是谁 misheard) is not explicit consent.
    return done({ ...c, decision: 'unclear', reason: `${c.reason}; consent phrase covers too little of the answer (match ${c.confidence} < ${rules.minGrantConfidence})` }, granter);
  }
  return done(c, granter);
}
