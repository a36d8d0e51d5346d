// Longest-match segmentation of an utterance against the lexicon, left to right. Longest-first is what makes
// 没问题 a consent (not 没 + 问题), 对不起 neutral (not 对), 不好意思 neutral (not 不 + 好) and 不过 a contrast word.
import { CATEGORIES, type Category, type CompiledLexicon, type CompiledPhrase, type Unit } from './lexicon.js';
import { BREAK, QUESTION_MARK } from './utterance.js';

export interface Segment {
  start: number;
  end: number;
  /** Winning category; 'other' = no lexicon phrase; 'mark' = '?'; 'break' = clause punctuation. */
  category: Category | 'other' | 'mark' | 'break';
  /** Every category whose phrase matched this exact span (不 is both a refusal and a negator). */
  also: Set<Category>;
  /** Lexicon text of the winning phrase, or the unit keys for 'other'. */
  text: string;
}

// Negation syllables/characters of an A-not-A question (是不是, 可不可以, 有没有).
const A_NOT_A_MIDDLE = new Set(['bu', 'mei', '不', '没']);

function tonesAgree(want: number, got: number): boolean {
  // 3rd tone before another 3rd is spoken (and often recognised) as 2nd: treat them as one for strict phrases.
  return want === got || (want >= 2 && want <= 3 && got >= 2 && got <= 3);
}

/** Whether `form` matches `units` from `at`: toneless keys, and tones too for a `tones: strict` entry. */
export function formMatches(form: Unit[], units: Unit[], at: number, strict: boolean): boolean {
  if (at + form.length > units.length) return false;
  for (let k = 0; k < form.length; k++) {
    const u = units[at + k]!;
    const f = form[k]!;
    if (u.key !== f.key) return false;
    if (strict && !tonesAgree(f.tone, u.tone)) return false;
  }
  return true;
}

/** Length of an A-not-A question starting at `at` (X不X, XY不XY), or 0. */
function aNotALength(units: Unit[], at: number): number {
  if (A_NOT_A_MIDDLE.has(units[at]?.key ?? '')) return 0;
  for (const L of [2, 1]) {
    const mid = units[at + L];
    if (!mid || !A_NOT_A_MIDDLE.has(mid.key)) continue;
    let same = at + 2 * L + 1 <= units.length;
    for (let k = 0; same && k < L; k++) {
      const a = units[at + k]!.key;
      same = a === units[at + L + 1 + k]!.key && a !== BREAK && a !== QUESTION_MARK;
    }
    if (same) return 2 * L + 1;
  }
  return 0;
}

const rank = (c: Category): number => CATEGORIES.indexOf(c);

export function segment(units: Unit[], lex: CompiledLexicon): Segment[] {
  const out: Segment[] = [];
  let i = 0;
  while (i < units.length) {
    const key = units[i]!.key;
    if (key === QUESTION_MARK || key === BREAK) {
      out.push({ start: i, end: i + 1, category: key === BREAK ? 'break' : 'mark', also: new Set(), text: key });
      i++;
      continue;
    }
    let bestLen = 0;
    let best: CompiledPhrase | null = null;
    const also = new Set<Category>();
    for (const p of lex.phrases) {
      for (const f of p.forms) {
        if (f.length < bestLen || !formMatches(f, units, i, p.strictTones)) continue;
        if (f.length > bestLen) {
          bestLen = f.length;
          best = p;
          also.clear();
        } else if (best && rank(p.category) < rank(best.category)) {
          best = p;
        }
        also.add(p.category);
      }
    }
    const anaLen = lex.language === 'zh' ? aNotALength(units, i) : 0;
    if (anaLen > 0 && (anaLen > bestLen || (anaLen === bestLen && (!best || rank('questions') < rank(best.category))))) {
      out.push({ start: i, end: i + anaLen, category: 'questions', also: new Set(['questions']), text: units.slice(i, i + anaLen).map((u) => u.key).join('') });
      i += anaLen;
      continue;
    }
    if (best) {
      out.push({ start: i, end: i + bestLen, category: best.category, also, text: best.text });
      i += bestLen;
    } else {
      out.push({ start: i, end: i + 1, category: 'other', also: new Set(), text: key });
      i++;
    }
  }
  return out;
}
