// Pinyin models (tokenType 'pinyin-initial-final') emit initials and tonal finals as separate tokens
// (`b ú sh ì`). Consent rules and accuracy checks work on syllables, so join them: `bu2 shi4` / `bu shi`.

const INITIALS = new Set(['b', 'p', 'm', 'f', 'd', 't', 'n', 'l', 'g', 'k', 'h', 'j', 'q', 'x', 'zh', 'ch', 'sh', 'r', 'z', 'c', 's', 'y', 'w']);

// Tone-marked vowel → [plain vowel, tone].
const TONE_MARKS: Record<string, [string, number]> = {};
for (const [plain, marks] of [
  ['a', 'āáǎà'],
  ['e', 'ēéěè'],
  ['i', 'īíǐì'],
  ['o', 'ōóǒò'],
  ['u', 'ūúǔù'],
  ['ü', 'ǖǘǚǜ'],
  ['m', 'ḿ'],
  ['n', 'ńňǹ'],
] as const) {
  [...marks].forEach((c, i) => (TONE_MARKS[c] = [plain, plain === 'n' ? i + 2 : plain === 'm' ? 2 : i + 1]));
}

/** Splits a tonal final (`iǎo`) into its toneless form and tone number (5 = neutral, no mark). */
export function splitTone(final: string): { base: string; tone: number } {
  let tone = 5;
  let base = '';
  for (const ch of final.normalize('NFC')) {
    const m = TONE_MARKS[ch];
    if (m) {
      base += m[0];
      tone = m[1];
    } else base += ch === 'v' ? 'ü' : ch;
  }
  return { base, tone };
}

export interface Syllables {
  /** `bu2 shi4` (ü kept as ü, neutral tone 5, as in the corpus labels). */
  tone: string[];
  /** `bu shi` */
  toneless: string[];
}

/** Joins initial + final tokens into syllables. Accepts a token array or the space-separated token text. */
export function tokensToSyllables(tokens: readonly string[] | string): Syllables {
  const list = typeof tokens === 'string' ? tokens.split(/\s+/).filter(Boolean) : tokens;
  const tone: string[] = [];
  const toneless: string[] = [];
  let pending: string | null = null; // an initial waiting for its final
  const flushInitial = () => {
    if (pending !== null) {
      // An initial with no final (rare decoding slip): keep it so errors stay visible in the syllable string.
      tone.push(pending);
      toneless.push(pending);
      pending = null;
    }
  };
  for (const raw of list) {
    const t = raw.trim();
    if (!t) continue;
    if (INITIALS.has(t)) {
      flushInitial();
      pending = t;
      continue;
    }
    if (!/[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüêḿńňǹ]/i.test(t) || /^[A-Z]+$/.test(t) || t.startsWith('<')) {
      // Non-pinyin token (the model's Latin letters, <unk>): pass through unchanged.
      flushInitial();
      tone.push(t);
      toneless.push(t);
      continue;
    }
    const { base, tone: n } = splitTone(t);
    const syl = (pending ?? '') + base;
    pending = null;
    tone.push(`${syl}${n}`);
    toneless.push(syl);
  }
  flushInitial();
  return { tone, toneless };
}

/** Syllable error rate (Levenshtein distance / reference length) between two syllable sequences. */
export function syllableErrorRate(ref: readonly string[], hyp: readonly string[]): number {
  if (ref.length === 0) return hyp.length === 0 ? 0 : 1;
  let prev = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const cur = [i];
    for (let j = 1; j <= hyp.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[hyp.length] / ref.length;
}
