// The consent lexicon as recogniser hotwords (contextual biasing): every phrase that decides or qualifies an answer
// — consent, refusal, negators, questions, complaints, hesitations, contrast and the neutral phrases that contain a
// lexicon word — in the model's tokens. A boost that makes 可以 easier to hear makes 不可以 and 可以吗 just as easy; but
// biasing everything alike still let a short refusal become the yes it sounds nearest to (否 → 好 at 8 kHz), so the
// gateway's search (lexiconHotwordBoosts) weighs the refusal side above the consents and leaves out the consent phrases
// that span a negator's place. Fillers are left out (a boosted 嗯 or 啊 would appear in every breath).
import { buildKeywords, readTokenSet } from './keywords.js';
import { entryText, type Category, type LexiconFile } from './lexicon.js';

export const HOTWORD_CATEGORIES: readonly Category[] = ['consent', 'refusal', 'negators', 'questions', 'complaints', 'hesitations', 'contrast', 'neutral'];

/** Token sequences of the lexicon's phrases (pinyin-token models), each once; phrases with unknown tokens are skipped. */
export function lexiconHotwords(lexicon: LexiconFile, tokensPath?: string, categories: readonly Category[] = HOTWORD_CATEGORIES): string[][] {
  const { keywords } = buildKeywords(lexicon, {
    tokens: tokensPath ? readTokenSet(tokensPath) : undefined,
    categories: [...categories],
    negatedForms: false,
    questionForms: false,
  });
  return keywords.map((k) => k.tokens);
}

/** The answers that must never be heard as a yes: a boost on these weighs the search toward hearing a refusal. */
export const REFUSAL_SIDE: readonly Category[] = ['refusal', 'negators', 'complaints'];

/**
 * Consent phrases that end in another consent phrase after a prefix (我同意 = 我 + 同意, 当然可以, 嗯好, 还行): a
 * negator can stand between the two (我不同意, 当然不可以, 还不行), and a hotword spanning that place carries its
 * prefix's bonus past the 不 — the search, having followed 我…, loses the bonus it already took if it leaves the phrase
 * for 不愿意 (measured: 我不愿意 heard 我同意 at 8 kHz). Their cores (同意, 可以, 好, 行) stay hotwords; the classifier
 * still reads the whole phrase.
 */
export function negatableSpans(lexicon: LexiconFile): Set<string> {
  const consent = lexicon.consent.map(entryText);
  return new Set(consent.filter((t) => consent.some((q) => q !== t && t.length > q.length && t.endsWith(q))));
}

/**
 * The lexicon's hotwords with a boost each: `refusalBoost` for the refusal side (refusals, negators, complaints), `boost`
 * for the rest, without the consent phrases that span a place for a negator (negatableSpans). A refusal side weighed
 * above the consents keeps the bias from turning a short refusal (否, 算了) into the yes it sounds nearest to.
 */
export function lexiconHotwordBoosts(lexicon: LexiconFile, tokensPath: string | undefined, boost: number, refusalBoost: number, options: { keepNegatableSpans?: boolean } = {}): { hotwords: string[][]; boosts: number[] } {
  const { keywords } = buildKeywords(lexicon, {
    tokens: tokensPath ? readTokenSet(tokensPath) : undefined,
    categories: [...REFUSAL_SIDE, ...HOTWORD_CATEGORIES.filter((c) => !REFUSAL_SIDE.includes(c))],
    negatedForms: false,
    questionForms: false,
  });
  const drop = options.keepNegatableSpans ? new Set<string>() : negatableSpans(lexicon);
  const kept = keywords.filter((k) => !(k.category === 'consent' && drop.has(k.phrase)));
  return { hotwords: kept.map((k) => k.tokens), boosts: kept.map((k) => ((REFUSAL_SIDE as readonly string[]).includes(k.category) ? refusalBoost : boost)) };
}
