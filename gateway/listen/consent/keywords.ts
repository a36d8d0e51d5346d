// The consent lexicon as a sherpa-onnx KeywordSpotter keyword list ("k ě y ǐ @可以"), and spotted keyword events
// back into classifier input. Negated and question forms are keywords of their own (不可以, 可以吗) so the spotter
// reports the whole phrase instead of the consent word inside it; and because spotted events are joined in time
// order before classifying, a 不 and a 可以 spotted back to back still read as 不可以.
import { readFileSync } from 'node:fs';
import { entryReadings, entryText, type Category, type LexiconEntry, type LexiconFile } from './lexicon.js';
import type { ClassifierInput } from './ConsentClassifier.js';
import { splitSyllable } from './pinyin.js';

export interface Keyword {
  /** Model tokens, e.g. ["b", "ù", "k", "ě", "y", "ǐ"]. */
  tokens: string[];
  /** Label after '@': the phrase in characters, what the spotter reports as `keyword`. */
  phrase: string;
  category: Category | 'negated' | 'question';
}

export interface KeywordOptions {
  /** The model's tokens.txt contents as a set: phrases needing a token the model lacks are left out (and reported). */
  tokens?: ReadonlySet<string>;
  /** Lexicon lists turned into keywords. Fillers are never keywords: a bare 嗯 would fire on every breath. */
  categories?: Category[];
  /** Add 不+consent (不可以, 不同意 …) where the lexicon does not list it. */
  negatedForms?: boolean;
  /** Add consent/refusal + 吗 (可以吗, 不是吗 …). */
  questionForms?: boolean;
}

const DEFAULT_CATEGORIES: Category[] = ['consent', 'refusal', 'complaints', 'questions', 'hesitations', 'contrast', 'neutral'];

// Consent phrases that do not take a preceding 不 (不我同意, 不没问题 are not Mandarin).
const NO_NEGATION_PREFIX = /^[我嗯没不当还说请继肯]/;

/** Reads a tokens.txt ("token id" per line) into a set of tokens. */
export function readTokenSet(tokensPath: string): Set<string> {
  const set = new Set<string>();
  for (const line of readFileSync(tokensPath, 'utf8').split('\n')) {
    const tok = line.trim().split(/\s+/)[0];
    if (tok) set.add(tok);
  }
  return set;
}

/**
 * Keywords for a Mandarin pinyin-token model (initials + tonal finals, citation tones as in its training
 * transcripts; sandhi is not written). `skipped` lists phrases that need a token the model does not have.
 */
export function buildKeywords(lexicon: LexiconFile, options: KeywordOptions = {}): { keywords: Keyword[]; skipped: string[] } {
  if (lexicon.language !== 'zh') throw new Error('keyword lists are built for Mandarin pinyin-token models only');
  const categories = options.categories ?? DEFAULT_CATEGORIES;
  const keywords: Keyword[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  const add = (entry: LexiconEntry, category: Keyword['category']): void => {
    const phrase = entryText(entry);
    for (const reading of entryReadings(entry)) {
      const tokens = reading.flatMap((s) => splitSyllable(s.toned));
      if (tokens.length === 0) continue;
      if (options.tokens && tokens.some((t) => !options.tokens!.has(t))) {
        skipped.push(`${phrase} (${tokens.join(' ')})`);
        continue;
      }
      const key = tokens.join(' ');
      if (seen.has(key)) continue;
      seen.add(key);
      keywords.push({ tokens, phrase, category });
    }
  };
  for (const c of categories) for (const e of lexicon[c]) add(e, c);
  const listed = new Set(categories.flatMap((c) => lexicon[c].map(entryText)));
  if (options.negatedForms ?? true) {
    for (const e of lexicon.consent) {
      const t = entryText(e);
      if (!NO_NEGATION_PREFIX.test(t) && !listed.has(`不${t}`)) add(`不${t}`, 'negated');
    }
  }
  if (options.questionForms ?? true) {
    for (const e of [...lexicon.consent, ...lexicon.refusal]) {
      const t = entryText(e);
      if (t.length <= 3 && !/[吗呢啊吧]$/.test(t) && !listed.has(`${t}吗`)) add(`${t}吗`, 'question');
    }
  }
  return { keywords, skipped };
}

/** The keywords file sherpa-onnx reads (`keywordsFile`), one "tokens @phrase" line each. */
export function keywordsFileText(keywords: Keyword[]): string {
  return keywords.map((k) => `${k.tokens.join(' ')} @${k.phrase}`).join('\n') + '\n';
}

/** One spotter hit, in the order the spotter emitted them. */
export interface SpottedKeyword {
  /** The phrase after '@' (sherpa-onnx-node's `KeywordResult.keyword`). */
  keyword: string;
  /**
   * Seconds on the caller's audio clock. sherpa-onnx's own `start_time`/`timestamps` restart after
   * `reset(stream)` (which must follow every hit), so the caller stamps hits with the audio fed so far.
   */
  startTime?: number;
  endTime?: number;
}

/**
 * Spotted keyword events of one answer → classifier input in characters, in emission order. Hits further apart
 * than `maxGapSec` (when both are time-stamped) are separated by a clause break so that a 不 and a later,
 * unrelated 好 do not read as 不好. Hits are never merged: after a hit sherpa-onnx resets, so the next hit is
 * new audio (可以 then 吗 really is 可以吗; 不 then 不过 is two words).
 */
export function spottedToInput(events: SpottedKeyword[], options: { maxGapSec?: number; asrConfidence?: number } = {}): ClassifierInput {
  const maxGap = options.maxGapSec ?? 0.8;
  const kept: Array<{ phrase: string; start: number | undefined; end: number | undefined }> = [];
  for (const e of events) {
    const phrase = (e.keyword ?? '').trim().replace(/^@/, '');
    if (!phrase) continue;
    const hit = { phrase, start: e.startTime ?? e.endTime, end: e.endTime ?? e.startTime };
    kept.push(hit);
  }
  let text = '';
  kept.forEach((h, i) => {
    const prevEnd = i > 0 ? kept[i - 1]!.end : undefined;
    if (i > 0 && prevEnd !== undefined && h.start !== undefined && h.start - prevEnd > maxGap) text += '，';
    text += h.phrase;
  });
  const input: ClassifierInput = { text, tokenType: 'char', language: 'zh' };
  if (options.asrConfidence !== undefined) input.asrConfidence = options.asrConfidence;
  return input;
}

/**
 * Spotter settings measured with this lexicon on ../shared/audio/natural (121 clips, 16 kHz, decisions via
 * spottedToInput + ConsentClassifier): threshold 0.25 / 1 trailing blank 96/121 right with 1 false `granted`
 * (你是谁 spotted as 是 + 好); 0.25 / 4 blanks 98/121, 0 false; 0.15 / 4 blanks 110/121, 0 false. More trailing
 * blanks make a short keyword (是) wait for silence instead of firing inside a longer phrase (你是谁).
 */
export const RECOMMENDED_KWS_SETTINGS = { keywordsThreshold: 0.15, keywordsScore: 1.0, numTrailingBlanks: 4 } as const;
