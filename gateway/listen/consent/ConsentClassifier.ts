// Decides whether a callee's answer grants consent. Safe by construction: `granted` needs an explicit consent
// phrase and the absence of every reason to doubt it — any refusal, complaint, question, hesitation or a
// contrast clause without a fresh consent after it makes the answer refused or unclear. A wrong `unclear` costs
// one re-prompt; a wrong `granted` is a pitch without consent.
import { getLexicon, type CompiledLexicon, type Language, type TokenType } from './lexicon.js';
import { segment, type Segment } from './segment.js';
import { utteranceUnits } from './utterance.js';

export type ConsentDecision = 'granted' | 'refused' | 'unclear';

export interface ClassifierInput {
  text: string;
  tokenType: TokenType;
  language: Language;
  /** Recogniser's own confidence in [0, 1]; scales the result's confidence. */
  asrConfidence?: number;
}

export interface ConsentResult {
  decision: ConsentDecision;
  /** The phrase that decided (lexicon text, e.g. "不可以"), or null. */
  phrase: string | null;
  /** [0, 1]: how cleanly the answer matched (exact single phrase high; several phrases, extra words, lower). */
  confidence: number;
  /** The callee objected to being called: refused, and the number should not be called again. */
  complaint: boolean;
  reason: string;
  /** What decided it: the kind of phrase heard (`none`: words but no lexicon phrase; `empty`: nothing). */
  cue?: Cue;
}

export type Cue = 'consent' | 'refusal' | 'complaint' | 'question' | 'hesitation' | 'contrast' | 'filler' | 'none' | 'empty';

export interface ConsentClassifierOptions {
  /** Lexicon file per language, overriding the bundled lexicon.<lang>.yaml. */
  lexiconPaths?: Partial<Record<Language, string>>;
  /** Units allowed between a negator and the consent phrase it negates (不太好, 不是很愿意, not really okay). */
  negationGap?: Partial<Record<Language, number>>;
}

/** A segment after the rules ran: negations merged, questions attached. */
interface Item {
  category: Segment['category'];
  text: string;
  units: number;
  /** A consent/refusal followed by a question particle or '?' (可以吗, 不是吗, yes?). */
  questioned: boolean;
  /** A consent phrase turned into a refusal by a negator before it. */
  negated: boolean;
}

export class ConsentClassifier {
  private readonly options: ConsentClassifierOptions;

  constructor(options: ConsentClassifierOptions = {}) {
    this.options = options;
  }

  lexicon(language: Language, tokenType: TokenType): CompiledLexicon {
    return getLexicon(language, tokenType, this.options.lexiconPaths?.[language]);
  }

  classify(input: ClassifierInput): ConsentResult {
    const lex = this.lexicon(input.language, input.tokenType);
    const units = utteranceUnits(input.text ?? '', input.tokenType, input.language);
    const segs = segment(units, lex);
    const scale = input.asrConfidence === undefined || !Number.isFinite(input.asrConfidence) ? 1 : clamp01(input.asrConfidence);
    const result = (decision: ConsentDecision, phrase: string | null, conf: number, reason: string, cue: Cue, complaint = false): ConsentResult => ({
      decision, phrase, confidence: round3(clamp01(conf) * scale), complaint, reason, cue,
    });

    const content = segs.filter((s) => s.category !== 'fillers' && s.category !== 'break');
    if (units.length === 0) return result('unclear', null, 0, 'empty answer', 'empty');
    if (content.length === 0) return result('unclear', null, 0.5, 'only fillers / backchannel (e.g. a bare 嗯), not explicit consent', 'filler');

    const items = this.applyRules(segs, input.language);
    const contentUnits = items.filter((it) => it.category !== 'fillers' && it.category !== 'break').reduce((n, it) => n + it.units, 0);
    const coverage = (picked: Item[]): number => Math.min(1, picked.reduce((n, it) => n + it.units, 0) / Math.max(1, contentUnits));

    const complaints = items.filter((it) => it.category === 'complaints');
    if (complaints.length > 0) {
      return result('refused', complaints[0]!.text, 0.6 + 0.35 * coverage(items.filter((it) => it.category === 'complaints' || it.category === 'refusal')), `complaint phrase "${complaints[0]!.text}"`, 'complaint', true);
    }

    // A refusal anywhere beats any consent, also across a contrast ("不行，但是可以" stays refused).
    const refusals = items.filter((it) => it.category === 'refusal' && !it.questioned);
    const consents = items.filter((it) => it.category === 'consent' && !it.questioned);
    if (refusals.length > 0) {
      const last = refusals[refusals.length - 1]!;
      const mixed = consents.length > 0 ? 0.15 : 0;
      const extra = 0.08 * (new Set(refusals.map((r) => r.text)).size - 1);
      const why = last.negated ? `negated consent "${last.text}"` : `refusal phrase "${last.text}"`;
      return result('refused', last.text, 0.55 + 0.4 * coverage(refusals) - mixed - extra, consents.length ? `${why} beats consent "${consents[0]!.text}"` : why, 'refusal');
    }

    const questions = items.filter((it) => it.category === 'questions' || it.category === 'mark' || it.questioned);
    if (questions.length > 0) {
      const q = questions[0]!;
      const phrase = q.questioned ? q.text : q.category === 'mark' ? null : q.text;
      return result('unclear', phrase, 0.5 + 0.4 * coverage(questions), q.questioned ? `"${q.text}" asked back as a question` : `question "${q.text}"`, 'question');
    }
    const hesitations = items.filter((it) => it.category === 'hesitations');
    if (hesitations.length > 0) {
      return result('unclear', hesitations[0]!.text, 0.5 + 0.4 * coverage(hesitations), `hesitation "${hesitations[0]!.text}"`, 'hesitation');
    }

    // After a contrast word only what follows counts: "可以，不过……" has not consented to anything yet.
    let lastContrast = -1;
    items.forEach((it, k) => { if (it.category === 'contrast') lastContrast = k; });
    const inScope = consents.filter((c) => items.indexOf(c) > lastContrast);
    if (inScope.length === 0) {
      if (consents.length > 0) return result('unclear', consents[0]!.text, 0.5, `consent "${consents[0]!.text}" qualified by contrast "${items[lastContrast]!.text}"`, 'contrast');
      return result('unclear', null, 0.3, 'no consent or refusal phrase', 'none');
    }
    const distinct = new Set(inScope.map((c) => c.text)).size;
    const repeatPenalty = 0.03 * (inScope.length - distinct);
    const phrase = inScope[0]!.text;
    return result('granted', phrase, 0.55 + 0.4 * coverage(inScope) - 0.1 * (distinct - 1) - repeatPenalty - (lastContrast >= 0 ? 0.1 : 0),
      inScope.length === 1 ? `consent phrase "${phrase}"` : `consent phrases ${inScope.map((c) => `"${c.text}"`).join(', ')}`, 'consent');
  }

  private applyRules(segs: Segment[], language: Language): Item[] {
    const gap = this.options.negationGap?.[language] ?? (language === 'zh' ? 2 : 1);
    const items: Item[] = [];
    for (let k = 0; k < segs.length; k++) {
      const s = segs[k]!;
      const item: Item = { category: s.category, text: s.text, units: s.end - s.start, questioned: false, negated: false };
      // Negation scope: a negator right before, or at most `gap` unknown units before, a consent phrase turns it
      // into a refusal (不可以 spoken as 不 + 可以 by a decoder, 不太好, not okay, don't agree).
      if (s.also.has('negators') || s.category === 'negators') {
        let j = k + 1;
        let skipped = 0;
        while (j < segs.length && segs[j]!.category === 'other' && skipped < gap) { skipped += segs[j]!.end - segs[j]!.start; j++; }
        const target = segs[j];
        if (target && target.category === 'consent' && skipped <= gap) {
          item.category = 'refusal';
          item.text = s.text + (skipped > 0 ? (language === 'en' ? ' … ' : '…') : language === 'en' ? ' ' : '') + target.text;
          item.units = target.end - s.start;
          item.negated = true;
          k = j;
        }
      }
      items.push(item);
    }
    // A consent or refusal followed (fillers aside) by a question particle or '?' is asked back, not answered.
    for (let k = 0; k < items.length; k++) {
      const it = items[k]!;
      if (it.category !== 'consent' && it.category !== 'refusal') continue;
      let j = k + 1;
      while (j < items.length && items[j]!.category === 'fillers') j++;
      const next = items[j];
      if (next && (next.category === 'mark' || (next.category === 'questions' && isParticle(next.text)))) it.questioned = true;
    }
    return items;
  }
}

// Sentence-final particles that turn the preceding phrase into a question. Question words (谁, 什么, who) are
// not here: "不要，你是谁" is still a refusal.
const QUESTION_PARTICLES = new Set(['吗', '呢', '么', '?']);
function isParticle(text: string): boolean {
  return QUESTION_PARTICLES.has(text);
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

