// Public API of the consent classifier: pure logic over recogniser text, plus KWS keyword generation.
export { ConsentClassifier } from './ConsentClassifier.js';
export type { ClassifierInput, ConsentDecision, ConsentResult, ConsentClassifierOptions, Cue } from './ConsentClassifier.js';
export {
  CATEGORIES, DEFAULT_LEXICON_PATHS, LexiconFileSchema, compileLexicon, getLexicon, loadLexiconFile,
} from './lexicon.js';
export type { Category, CompiledLexicon, CompiledPhrase, Language, LexiconEntry, LexiconFile, TokenType } from './lexicon.js';
export { charsToPinyin, charsToPinyinTokens, parsePinyin, splitSyllable, numberedToToned } from './pinyin.js';
export type { Syllable } from './pinyin.js';
export { RECOMMENDED_KWS_SETTINGS, buildKeywords, keywordsFileText, readTokenSet, spottedToInput } from './keywords.js';
export type { Keyword, KeywordOptions, SpottedKeyword } from './keywords.js';
export { HOTWORD_CATEGORIES, lexiconHotwordBoosts, lexiconHotwords, REFUSAL_SIDE } from './hotwords.js';
export { decideConsent, longestGapMs } from './decide.js';
export type { ConsentVerdict, DecideContext, DecisionRules, Heard, Hypothesis, Opinion } from './decide.js';
export { CalibrationSchema, FEATURES, calibrated, decisionFeatures, loadCalibration, logistic } from './calibration.js';
export type { Calibration } from './calibration.js';
