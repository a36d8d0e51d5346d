// Pinyin in the form the wenetspeech zipformer (KWS / streaming ASR) uses as its modelling unit: one token for
// the initial, one for the tonal final, e.g. 不可以 → "b ù k ě y ǐ". Conventions checked against its tokens.txt
// and keywords.txt ("n ǐ h ǎo j ūn g ē @你好军哥"):
//  - y and w are initials (愿 → "y uàn", 问 → "w èn"), as in pypinyin's non-strict mode the model was trained with;
//  - after j/q/x/y the ü is written u (去 → "q ù"), after l/n it stays ü (绿 → "l ǜ", 略 → "l üè");
//  - the neutral tone has no diacritic (吗 → "m a", 的 → "d e");
//  - tones are citation tones: the training transcripts carry no tone sandhi, so 可以 is "k ě y ǐ" even though
//    it is spoken ké yǐ, and 不要 is "b ù y ào" although spoken bú yào.
import { pinyin } from 'pinyin-pro';

/** Longest first so that zh/ch/sh win over z/c/s. */
export const INITIALS = ['zh', 'ch', 'sh', 'b', 'p', 'm', 'f', 'd', 't', 'n', 'l', 'g', 'k', 'h', 'j', 'q', 'x', 'r', 'z', 'c', 's', 'y', 'w'] as const;
const INITIAL_SET: ReadonlySet<string> = new Set(INITIALS);

/** One spoken syllable. `toneless` keeps ü (lü ≠ lu) but drops the tone mark. */
export interface Syllable {
  /** As the model writes it, e.g. "kě". */
  toned: string;
  /** e.g. "ke". */
  toneless: string;
  /** 1–4, 5 = neutral. */
  tone: number;
}

// Combining tone marks after NFD: macron, acute, caron, grave. U+0308 (diaeresis) is part of ü and is kept.
const TONE_MARKS: Record<string, number> = { '\u0304': 1, '\u0301': 2, '\u030c': 3, '\u0300': 4 };

export function toneOf(s: string): number {
  for (const ch of s.normalize('NFD')) {
    const t = TONE_MARKS[ch];
    if (t) return t;
  }
  return 5;
}

export function stripTone(s: string): string {
  let out = '';
  for (const ch of s.normalize('NFD')) if (!TONE_MARKS[ch]) out += ch;
  return out.normalize('NFC');
}

const TONED_VOWELS: Record<string, string[]> = {
  a: ['ā', 'á', 'ǎ', 'à'], e: ['ē', 'é', 'ě', 'è'], i: ['ī', 'í', 'ǐ', 'ì'], o: ['ō', 'ó', 'ǒ', 'ò'],
  u: ['ū', 'ú', 'ǔ', 'ù'], ü: ['ǖ', 'ǘ', 'ǚ', 'ǜ'], n: ['ń', 'ń', 'ň', 'ǹ'],
};

/** "ke3" → "kě", "lv4"/"lü4" → "lǜ"; tone 5 or 0 → no mark. Standard placement rule (a/e first, ou → o, else last vowel). */
export function numberedToToned(numbered: string): string {
  const m = /^([a-zü:v]+)([0-5])?$/i.exec(numbered.toLowerCase());
  if (!m) return numbered;
  let base = m[1]!.replace(/u:|v/g, 'ü');
  const tone = m[2] ? Number(m[2]) : 5;
  if (tone < 1 || tone > 4) return base;
  let idx = base.search(/[ae]/);
  if (idx < 0) idx = base.indexOf('ou');
  if (idx < 0) {
    for (let i = base.length - 1; i >= 0; i--) if ('iouü'.includes(base[i]!)) { idx = i; break; }
  }
  if (idx < 0) idx = base.search(/n/); // syllabic n / ng (嗯)
  if (idx < 0) return base;
  const v = base[idx]!;
  const marked = TONED_VOWELS[v]?.[tone - 1] ?? v;
  base = base.slice(0, idx) + marked + base.slice(idx + 1);
  return base;
}

export function syllable(toned: string): Syllable {
  const nfc = toned.normalize('NFC');
  return { toned: nfc, toneless: stripTone(nfc), tone: toneOf(nfc) };
}

/** "kě" → ["k", "ě"]; "ài" → ["ài"]; "yuàn" → ["y", "uàn"]. */
export function splitSyllable(toned: string): string[] {
  const s = toned.normalize('NFC');
  for (const ini of INITIALS) {
    if (s.startsWith(ini) && s.length > ini.length) return [ini, s.slice(ini.length)];
  }
  return [s];
}

// Readings the recogniser's training data uses where pinyin-pro picks another one, and syllables the token set
// cannot spell: 嗯 is "ǹg" in dictionaries but tokens.txt has no "ng" final, so we write it "èn" (the labels'
// convention too); 谁 is shéi in speech, shuí only in reading style.
const CHAR_READING_OVERRIDES: Record<string, string> = { 嗯: 'èn', 谁: 'shéi' };

export type PinyinPiece = Syllable | '?' | ',';

/** Characters → syllables (citation tones, no sandhi); `?`/`？` kept as a question mark, other punctuation as a break. */
export function charsToPinyin(text: string): PinyinPiece[] {
  const out: PinyinPiece[] = [];
  const items = pinyin(text, { toneType: 'symbol', type: 'all', toneSandhi: false }) as Array<{ origin: string; pinyin: string; isZh: boolean }>;
  for (const it of items) {
    if (it.isZh) {
      out.push(syllable(CHAR_READING_OVERRIDES[it.origin] ?? it.pinyin));
    } else if (/[?？]/.test(it.origin)) {
      out.push('?');
    } else if (/[,，。.!！…、;；:：~～]/.test(it.origin)) {
      out.push(',');
    }
    // Letters, digits and spaces carry nothing for consent in a Mandarin answer.
  }
  return out;
}

/** Characters → the model's token string, e.g. "可以吗" → "k ě y ǐ m a". Punctuation is dropped: the model has none. */
export function charsToPinyinTokens(text: string): string {
  return charsToPinyin(text)
    .filter((p): p is Syllable => typeof p !== 'string')
    .flatMap((s) => splitSyllable(s.toned))
    .join(' ');
}

const FINAL_RE = /^[aeiouüāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹ][a-zāáǎàēéěèīíǐìōóǒòūúǔùüǖǘǚǜ]*$/;

/**
 * Parse recogniser output into syllables. Accepts the model's spaced tokens ("b ù k ě y ǐ"), joined pinyin
 * ("bù kěyǐ") and tone numbers ("bu4 ke3 yi3"). An initial with no final after it (a truncated decode) becomes a
 * syllable of its own so that it is counted as unmatched material rather than glued to the next word.
 */
export function parsePinyin(text: string): PinyinPiece[] {
  const out: PinyinPiece[] = [];
  const chunks = text.normalize('NFC').toLowerCase().replace(/[?？]/g, ' ? ').replace(/[,，。.!！…、;；]/g, ' , ').split(/\s+/).filter(Boolean);
  let pendingInitial: string | null = null;
  const flush = (): void => {
    if (pendingInitial !== null) out.push(syllable(pendingInitial));
    pendingInitial = null;
  };
  for (const chunk of chunks) {
    if (chunk === '?' || chunk === ',') { flush(); out.push(chunk); continue; }
    if (/[0-5]$/.test(chunk) || /[0-5][a-z]/.test(chunk)) {
      flush();
      for (const m of chunk.matchAll(/[a-zü:v]+[0-5]?/g)) out.push(syllable(numberedToToned(m[0])));
      continue;
    }
    if (INITIAL_SET.has(chunk)) { flush(); pendingInitial = chunk; continue; }
    if (FINAL_RE.test(chunk) && pendingInitial !== null) {
      // A spaced final, or a final that is followed by more joined syllables: split the joined tail too.
      const parts = splitJoined(chunk);
      out.push(syllable(pendingInitial + parts[0]));
      pendingInitial = null;
      for (const p of parts.slice(1)) out.push(syllable(p));
      continue;
    }
    flush();
    for (const p of splitJoined(chunk)) out.push(syllable(p));
  }
  flush();
  return out;
}

// Greedy split of joined pinyin ("kěyǐ" → kě, yǐ). Standard pinyin orthography makes this unambiguous enough for
// the short answers we classify; a final n/ng/r is kept only when no vowel follows it.
const JOINED_RE = /(zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?([aeiouüāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹ]+(?:ng(?![aeiouüāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ])|n(?![aeiouüāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ])|r(?![aeiouüāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ]))?)/gy;

function splitJoined(chunk: string): string[] {
  const parts: string[] = [];
  JOINED_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = JOINED_RE.exec(chunk)) !== null && m[0].length > 0) {
    parts.push(m[0]);
    last = JOINED_RE.lastIndex;
  }
  if (last < chunk.length) parts.push(chunk.slice(last)); // not pinyin: keep as one opaque unit
  return parts.length ? parts : [chunk];
}
