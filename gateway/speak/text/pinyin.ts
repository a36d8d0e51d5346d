// Mandarin text → tone-numbered pinyin, phrase by phrase, with the tone changes a speaker makes.
// pinyin-pro supplies word segmentation (so polyphones follow the word: 银行 háng, 行走 xíng, 长大 zhǎng) and the
// dictionary tones; its own 一/不 sandhi is switched off because it also changes 一 in digit readings
// (二零一六, 十一, 一月) and we need those rules to know about normalised numbers. We add 3-3 sandhi, which
// pinyin-pro does not do.
import { OutputFormat, segment } from 'pinyin-pro';

/** A syllable as pinyin letters (ü written v) plus tone 1–5 (5 = neutral). */
export interface Syllable {
  pinyin: string;
  tone: 1 | 2 | 3 | 4 | 5;
  char: string;
}

/** Pause after a phrase: comma-like, sentence end, or the short breath between phone-number groups. */
export type PauseKind = 'none' | 'breath' | 'comma' | 'period';

export interface PinyinPhrase {
  syllables: Syllable[];
  pause: PauseKind;
}

const PERIOD = /[。！？!?；;…]/;
const COMMA = /[，,、：:（）()《》“”"'‘’—\-]/;
const NUMERAL_DIGIT = '零〇一二三四五六七八九幺';
const NUMERAL_BEFORE_ONE = NUMERAL_DIGIT + '十第';

export function syllableString(s: Syllable): string {
  return `${s.pinyin}${s.tone}`;
}

function splitSyllables(result: string): { pinyin: string; tone: number }[] {
  const out: { pinyin: string; tone: number }[] = [];
  for (const m of result.matchAll(/([a-zü:v]+)([0-5])/g)) {
    out.push({ pinyin: m[1].replace(/ü|u:/g, 'v'), tone: Number(m[2]) === 0 ? 5 : Number(m[2]) });
  }
  return out;
}

interface Word {
  syls: Syllable[];
}

/** Tone of 一 from its neighbours: unchanged in digit/ordinal readings, else yí before tone 4, yì before 1–3. */
function yiTone(prevChar: string | undefined, next: Syllable | undefined, nextNextChar: string | undefined): Syllable['tone'] {
  if (!next) return 1;
  if (prevChar && NUMERAL_BEFORE_ONE.includes(prevChar)) return 1;
  if (NUMERAL_DIGIT.includes(next.char)) return 1;
  if ('月日号'.includes(next.char)) return 1;
  // 一点零五分 (a clock time) keeps yī; 一点儿 ("a little") changes.
  if (next.char === '点' && nextNextChar && NUMERAL_DIGIT.includes(nextNextChar)) return 1;
  return next.tone === 4 || next.tone === 5 ? 2 : 4;
}

function applySandhi(words: Word[]): void {
  const flat = words.flatMap((w) => w.syls);
  const orig = flat.map((s) => s.tone);
  // 一 and 不 first, from the dictionary tones of their neighbours.
  for (let i = 0; i < flat.length; i++) {
    const s = flat[i];
    const next = flat[i + 1] ? { ...flat[i + 1], tone: orig[i + 1] as Syllable['tone'] } : undefined;
    if (s.char === '一' && s.pinyin === 'yi') s.tone = yiTone(flat[i - 1]?.char, next, flat[i + 2]?.char);
    else if (s.char === '不' && s.pinyin === 'bu' && next && next.tone === 4) s.tone = 2;
  }
  // 3-3 sandhi. Inside a word every 3 before a 3 becomes 2 (展览馆 zhǎn→zhán lǎn→lán guǎn). Across a word boundary
  // the change happens when the two words form one prosodic foot, which we approximate as "one of them is a
  // single syllable" (我很好, 五百); two polysyllabic words keep a boundary and their tones.
  for (const w of words) {
    const syls = w.syls;
    for (let i = 0; i < syls.length - 1; i++) if (syls[i].tone === 3 && syls[i + 1].tone === 3) syls[i].tone = 2;
  }
  // Right to left, so a changed syllable is not itself a trigger: 买五百本 → mǎi→mái wǔ bǎi→bái běn, not all rising.
  for (let w = words.length - 2; w >= 0; w--) {
    const syls = words[w].syls;
    const nextWord = words[w + 1];
    if (syls.length === 0 || nextWord.syls.length === 0) continue;
    const last = syls[syls.length - 1];
    if (last.tone === 3 && nextWord.syls[0].tone === 3 && (syls.length === 1 || nextWord.syls.length === 1)) last.tone = 2;
  }
}

/** Text (already normalised: no digits) → phrases of tone-numbered syllables with the pause after each. */
export function toPinyinPhrases(text: string): PinyinPhrase[] {
  const segs = segment(text, { format: OutputFormat.AllSegment, toneType: 'num', toneSandhi: false, v: true }) as {
    origin: string;
    result: string;
  }[];
  const phrases: PinyinPhrase[] = [];
  let words: Word[] = [];
  const flush = (pause: PauseKind) => {
    applySandhi(words);
    const syllables = words.flatMap((w) => w.syls);
    if (syllables.length > 0) phrases.push({ syllables, pause });
    else if (phrases.length > 0 && rank(pause) > rank(phrases[phrases.length - 1].pause)) phrases[phrases.length - 1].pause = pause;
    words = [];
  };
  for (const seg of segs) {
    const syls = /[\u3400-\u9fff]/.test(seg.origin) ? splitSyllables(seg.result) : [];
    if (syls.length > 0 && syls.length === [...seg.origin].length) {
      const chars = [...seg.origin];
      words.push({ syls: syls.map((s, i) => ({ pinyin: s.pinyin, tone: s.tone as Syllable['tone'], char: chars[i] })) });
      continue;
    }
    for (const ch of seg.origin) {
      if (PERIOD.test(ch)) flush('period');
      else if (COMMA.test(ch)) flush('comma');
      else if (/\s/.test(ch)) flush('breath');
      // Anything else (Latin letters, symbols) has no Mandarin reading: it is dropped here and the caller logs it.
    }
  }
  flush('period');
  return phrases;
}

function rank(p: PauseKind): number {
  return p === 'period' ? 3 : p === 'comma' ? 2 : p === 'breath' ? 1 : 0;
}

/** Flat list of tone-numbered syllables ("ni2", "hao3"). */
export function toPinyin(text: string): string[] {
  return toPinyinPhrases(text).flatMap((p) => p.syllables.map(syllableString));
}

/**
 * Hand-written tone-numbered pinyin ("nin2 hao3 ， qing3 …", ü as v/ü/uu) → phrases, used to voice an exact
 * reading (and by the round-trip test to separate voice quality from normalisation quality).
 */
export function parsePinyinPhrases(src: string): PinyinPhrase[] {
  const phrases: PinyinPhrase[] = [];
  let cur: Syllable[] = [];
  const flush = (pause: PauseKind) => {
    if (cur.length) phrases.push({ syllables: cur, pause });
    cur = [];
  };
  for (const tok of src.split(/\s+|(?=[，。,.!?！？；;、|])|(?<=[，。,.!?！？；;、|])/).filter(Boolean)) {
    if (/^[。.!?！？；;]$/.test(tok)) flush('period');
    else if (/^[，,、]$/.test(tok)) flush('comma');
    else if (tok === '|') flush('breath');
    else {
      const m = /^([a-zü:]+?)([1-5])?$/i.exec(tok);
      if (!m) throw new Error(`"${tok}" is not a tone-numbered pinyin syllable`);
      const pinyin = m[1].toLowerCase().replace(/ü|u:/g, 'v').replace(/uu/g, 'v');
      cur.push({ pinyin, tone: Number(m[2] ?? 5) as Syllable['tone'], char: '' });
    }
  }
  flush('period');
  return phrases;
}
