// Backchannel and interruption words per language. Written once in characters (or English words) in a YAML file and
// compiled, with the consent lexicon's machinery (pinyin-pro readings, English normalisation, the recogniser's
// units), into what the configured recogniser outputs. Judges a transcript of the paused stretch: only backchannel
// words (any number of them: 嗯嗯, 对对对, 好的好的), or content — clear when it holds an interruption word or enough
// other words.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { z } from 'zod';
import { entryForms, entryText, LexiconFileSchema, type Language, type TokenType, type Unit } from '../consent/lexicon.js';
import { INITIALS } from '../consent/pinyin.js';
import { formMatches } from '../consent/segment.js';
import { BREAK, QUESTION_MARK, utteranceUnits } from '../consent/utterance.js';

/**
 * The consent lexicon's entry: a string, or { text, readings, tones } — readings where pinyin-pro's is not the
 * recogniser's, `tones: strict` where a toneless homophone must not match.
 */
const Entry = LexiconFileSchema.shape.consent.element;

export const InterruptionLexiconSchema = z.object({
  language: z.enum(['zh', 'en']),
  backchannel: z.array(Entry).min(1),
  interruption: z.array(Entry).default([]),
  /** Units outside every backchannel word that make content clear without an interruption word. */
  clearUnits: z.number().int().min(1).max(20).default(2),
});
export type InterruptionLexiconFile = z.infer<typeof InterruptionLexiconSchema>;

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_INTERRUPTION_LEXICONS: Record<Language, string> = {
  zh: join(HERE, 'lexicon.zh.yaml'),
  en: join(HERE, 'lexicon.en.yaml'),
};

export interface TranscriptVerdict {
  kind: 'backchannel' | 'content' | 'none';
  /** Content with an interruption word or at least `clearUnits` other units. */
  clear: boolean;
  /** Units heard, and how many of them no backchannel word covers. */
  units: number;
  other: number;
  /** The interruption word that was heard, if any. */
  word: string | null;
}

const BARE_INITIALS: ReadonlySet<string> = new Set(INITIALS);

interface Phrase {
  text: string;
  interruption: boolean;
  forms: Unit[][];
  /** `tones: strict`, as in the consent lexicon: 停 tíng must not match 听 tīng (the recogniser's hearing of 行). */
  strict: boolean;
}

export class InterruptionLexicon {
  private readonly phrases: Phrase[];

  private constructor(
    readonly file: InterruptionLexiconFile,
    readonly tokenType: TokenType,
  ) {
    const compile = (interruption: boolean) => (e: z.infer<typeof Entry>): Phrase => {
      const { forms, strictTones } = entryForms(e, file.language, tokenType);
      return { text: entryText(e), interruption, forms, strict: strictTones };
    };
    // Longest first; on equal length an interruption word wins (不对 is not 对).
    this.phrases = [...file.interruption.map(compile(true)), ...file.backchannel.map(compile(false))];
  }

  /** Reads and validates a lexicon file; `path` overrides the bundled one for the language. */
  static load(language: Language, tokenType: TokenType, path?: string): InterruptionLexicon {
    const file = path ?? DEFAULT_INTERRUPTION_LEXICONS[language];
    const parsed = InterruptionLexiconSchema.safeParse(YAML.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) throw new Error(`interruption lexicon ${file}: ${parsed.error.message}`);
    if (parsed.data.language !== language) throw new Error(`interruption lexicon ${file} is for "${parsed.data.language}", expected "${language}"`);
    return new InterruptionLexicon(parsed.data, language === 'en' ? 'word' : tokenType);
  }

  private get pinyin(): boolean {
    return this.tokenType === 'pinyin-initial-final';
  }

  get language(): Language {
    return this.file.language;
  }

  judge(text: string): TranscriptVerdict {
    const all = utteranceUnits(text, this.tokenType, this.file.language);
    const question = all.some((u) => u.key === QUESTION_MARK);
    // A bare initial (`sh` with no final) is a syllable the recogniser has not finished hearing: 是 or 谁 alike.
    const units = all.filter((u) => u.key !== BREAK && u.key !== QUESTION_MARK && !(this.pinyin && u.tone === 5 && BARE_INITIALS.has(u.key)));
    let other = 0;
    let word: string | null = null;
    for (let i = 0; i < units.length; ) {
      let best: Phrase | null = null;
      let len = 0;
      for (const p of this.phrases) {
        for (const f of p.forms) {
          if (f.length > len && formMatches(f, units, i, p.strict)) {
            best = p;
            len = f.length;
          }
        }
      }
      if (!best) {
        other++;
        i++;
        continue;
      }
      if (best.interruption) word ??= best.text;
      i += len;
    }
    if (!units.length) return { kind: question ? 'content' : 'none', clear: question, units: 0, other: 0, word: null };
    const content = question || word !== null || other > 0;
    return { kind: content ? 'content' : 'backchannel', clear: question || word !== null || other >= this.file.clearUnits, units: units.length, other, word };
  }
}
