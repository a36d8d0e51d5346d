// The consent lexicon: phrases written once in characters (or English words) in a YAML file, compiled into the
// unit sequences of whatever the configured recogniser outputs (pinyin tokens, characters, words).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { z } from 'zod';
import { charsToPinyin, syllable, type Syllable } from './pinyin.js';

export type Language = 'zh' | 'en';
export type TokenType = 'pinyin-initial-final' | 'char' | 'bpe' | 'word';

/** Ordered by precedence when two categories match the same span with the same length. */
export const CATEGORIES = ['complaints', 'neutral', 'hesitations', 'questions', 'refusal', 'contrast', 'consent', 'negators', 'fillers'] as const;
export type Category = (typeof CATEGORIES)[number];

const Entry = z.union([
  z.string().min(1),
  z.object({
    text: z.string().min(1),
    /** Toned pinyin of the whole phrase, syllables separated by spaces; each string is one alternative. */
    readings: z.array(z.string().min(1)).optional(),
    tones: z.enum(['strict', 'loose']).optional(),
  }),
]);
export type LexiconEntry = z.infer<typeof Entry>;

export const LexiconFileSchema = z.object({
  language: z.enum(['zh', 'en']),
  consent: z.array(Entry).min(1),
  refusal: z.array(Entry).min(1),
  negators: z.array(Entry).default([]),
  questions: z.array(Entry).default([]),
  contrast: z.array(Entry).default([]),
  complaints: z.array(Entry).default([]),
  hesitations: z.array(Entry).default([]),
  neutral: z.array(Entry).default([]),
  fillers: z.array(Entry).default([]),
});
export type LexiconFile = z.infer<typeof LexiconFileSchema>;

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_LEXICON_PATHS: Record<Language, string> = {
  zh: join(HERE, 'lexicon.zh.yaml'),
  en: join(HERE, 'lexicon.en.yaml'),
};

/** Reads and validates a lexicon file; `path` overrides the bundled default for that language. */
export function loadLexiconFile(language: Language, path?: string): LexiconFile {
  const file = path ?? DEFAULT_LEXICON_PATHS[language];
  const parsed = LexiconFileSchema.safeParse(YAML.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`consent lexicon ${file}: ${parsed.error.message}`);
  if (parsed.data.language !== language) throw new Error(`consent lexicon ${file} is for "${parsed.data.language}", expected "${language}"`);
  return parsed.data;
}

/** One unit of an utterance or phrase: a syllable (pinyin models), a character, or a word. */
export interface Unit {
  /** What is compared by default: toneless syllable, character, or lowercase word. */
  key: string;
  /** Tone 1–5 for syllables, 0 where there is none. */
  tone: number;
}

export interface CompiledPhrase {
  category: Category;
  /** Canonical text as written in the lexicon (characters / words): what the classifier reports. */
  text: string;
  /** Alternative unit sequences (readings). */
  forms: Unit[][];
  /** Tones must match too (pinyin only). */
  strictTones: boolean;
}

export interface CompiledLexicon {
  language: Language;
  tokenType: TokenType;
  phrases: CompiledPhrase[];
  /** Longest form length, bounds the matcher's look-ahead. */
  maxLength: number;
  source: LexiconFile;
}

export function entryText(e: LexiconEntry): string {
  return typeof e === 'string' ? e : e.text;
}

export function syllableUnit(s: Syllable): Unit {
  return { key: s.toneless, tone: s.tone };
}

/** Toned pinyin readings of an entry: the explicit ones, else pinyin-pro's citation reading of the characters. */
export function entryReadings(e: LexiconEntry): Syllable[][] {
  if (typeof e !== 'string' && e.readings) return e.readings.map((r) => r.split(/\s+/).filter(Boolean).map(syllable));
  return [charsToPinyin(entryText(e)).filter((p): p is Syllable => typeof p !== 'string')];
}

/** English normalisation shared by lexicon and utterances: lowercase, straight apostrophes, common ASR spellings. */
export function englishWords(text: string): string[] {
  const spaced = text.includes('▁') ? text.replace(/\s+/g, '').replace(/▁/g, ' ') : text;
  return spaced
    .toLowerCase()
    .replace(/[’‘`]/g, "'")
    .replace(/\bo\.k\.?/g, 'ok')
    .replace(/\?/g, ' ? ')
    .replace(/[,.!;:…]/g, ' , ')
    .replace(/[^a-z0-9'?, -]/g, ' ')
    .replace(/-/g, ' ')
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => ENGLISH_SPELLINGS[w] ?? w);
}

// Recognisers without an apostrophe in their vocabulary spell contractions as one word.
const ENGLISH_SPELLINGS: Record<string, string> = {
  dont: "don't", doesnt: "doesn't", isnt: "isn't", wont: "won't", cant: "can't", im: "i'm", thats: "that's",
  whos: "who's", whats: "what's", okey: 'okay', 'o.k': 'ok',
};

/**
 * An entry's unit sequences as a recogniser of `tokenType` writes them (syllables, characters or words; one per
 * reading) and whether its tones must match too — shared by the consent and the interruption lexicons.
 */
export function entryForms(e: LexiconEntry, language: Language, tokenType: TokenType): { forms: Unit[][]; strictTones: boolean } {
  const text = entryText(e);
  const strictTones = typeof e !== 'string' && e.tones === 'strict' && tokenType === 'pinyin-initial-final';
  let forms: Unit[][];
  if (language === 'en') {
    forms = [englishWords(text).map((w) => ({ key: w, tone: 0 }))];
  } else if (tokenType === 'pinyin-initial-final') {
    forms = entryReadings(e).map((r) => r.map(syllableUnit));
  } else {
    forms = [[...text].filter((c) => !/\s/.test(c)).map((c) => ({ key: c, tone: 0 }))];
  }
  return { forms: forms.filter((f) => f.length > 0), strictTones };
}

function compileEntry(e: LexiconEntry, category: Category, language: Language, tokenType: TokenType): CompiledPhrase {
  return { category, text: entryText(e), ...entryForms(e, language, tokenType) };
}

/** Compiles a lexicon for one recogniser output type. */
export function compileLexicon(file: LexiconFile, tokenType: TokenType): CompiledLexicon {
  const phrases: CompiledPhrase[] = [];
  for (const category of CATEGORIES) {
    for (const e of file[category]) phrases.push(compileEntry(e, category, file.language, tokenType));
  }
  const maxLength = Math.max(...phrases.flatMap((p) => p.forms.map((f) => f.length)));
  return { language: file.language, tokenType, phrases, maxLength, source: file };
}

const cache = new Map<string, CompiledLexicon>();

/** Loads (once per path and token type) and compiles a lexicon. */
export function getLexicon(language: Language, tokenType: TokenType, path?: string): CompiledLexicon {
  const id = `${language}|${tokenType}|${path ?? ''}`;
  let lex = cache.get(id);
  if (!lex) {
    lex = compileLexicon(loadLexiconFile(language, path), language === 'en' ? 'word' : tokenType);
    cache.set(id, lex);
  }
  return lex;
}
