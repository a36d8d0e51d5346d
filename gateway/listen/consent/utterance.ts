// Recogniser output → a flat list of comparable units (toneless syllables, characters or words) plus the two
// punctuation marks that matter: '?' (a question) and ',' (a clause break that phrases may not span).
import { englishWords, syllableUnit, type Language, type TokenType, type Unit } from './lexicon.js';
import { charsToPinyin, parsePinyin, type PinyinPiece } from './pinyin.js';

export const QUESTION_MARK = '?';
export const BREAK = ',';

const HAN = /\p{Script=Han}/u;

function piecesToUnits(pieces: PinyinPiece[]): Unit[] {
  return pieces.map((p) => (typeof p === 'string' ? { key: p, tone: 0 } : syllableUnit(p)));
}

export function utteranceUnits(text: string, tokenType: TokenType, language: Language): Unit[] {
  if (language === 'en') return englishWords(text).map((w) => ({ key: w, tone: 0 }));
  if (tokenType === 'pinyin-initial-final') {
    // Characters sent to a pinyin lexicon (e.g. a test or a caller's DTMF-free text channel) are converted
    // rather than silently matching nothing.
    return piecesToUnits(HAN.test(text) ? charsToPinyin(text) : parsePinyin(text));
  }
  const units: Unit[] = [];
  for (const ch of text.normalize('NFC')) {
    if (/[?？]/.test(ch)) units.push({ key: QUESTION_MARK, tone: 0 });
    else if (/[,，。.!！…、;；:：~～]/.test(ch)) units.push({ key: BREAK, tone: 0 });
    else if (HAN.test(ch)) units.push({ key: ch, tone: 0 });
    // Spaces (word-tokenised output) and stray latin letters carry nothing for a Mandarin answer.
  }
  return units;
}
