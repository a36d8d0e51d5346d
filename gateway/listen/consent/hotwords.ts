// The consent lexicon as recogniser hotwords (contextual biasing): every phrase that decides or qualifies an answer
// — consent, refusal, negators, questions, complaints, hesitations, contrast and the neutral phrases that contain a
// lexicon word — in the model's tokens. Biasing all of them alike favours no outcome: a boost that makes 可以 easier
// to hear makes 不可以 and 可以吗 just as easy. Fillers are left out (a boosted 嗯 or 啊 would appear in every breath).
import { buildKeywords, readTokenSet } from './keywords.js';
import type { Category, LexiconFile } from './lexicon.js';

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
