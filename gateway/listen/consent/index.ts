// Public API of the consent classifier: pure logic over recogniser text, plus KWS keyword generation.
export { ConsentClassifier } from './ConsentClassifier.js';
export type { ClassifierInput, ConsentDecision, ConsentResult, ConsentClassifierOptions } from './ConsentClassifier.js';
export {
  CATEGORIES, DEFAULT_LEXICON_PATHS, LexiconFileSchema, compileLexicon, getLexicon, loadLexiconFile,
} from './lexicon.js';
export type { Category, CompiledLexicon, CompiledPhrase, Language, LexiconEntry, LexiconFile, TokenType } from './lexicon.js';
export { charsToPinyin, charsToPinyinTokens, parsePinyin, splitSyllable, numberedToToned } from './pinyin.js';
export type { Syllable } from './pinyin.js';
export { RECOMMENDED_KWS_SETTINGS, buildKeywords, keywordsFileText, readTokenSet, spottedToInput } from './keywords.js';
export type { Keyword, KeywordOptions, SpottedKeyword } from './keywords.js';
