// espeak-ng as a dependency-free fallback: Mandarin through the `cmn-latn-pinyin` voice fed our own
// tone-numbered pinyin (its character dictionary misreads polyphones, so we never give it characters), English
// through `en-us`. One espeak-ng process per phrase/sentence, yielded as each finishes; each is started by the
// programs helper process (programs.ts), never by the gateway: a fork of the gateway stalls every call's threads.
import { int16ToFloat, floatToInt16 } from '../../audio/codec.js';
import { resampleAll } from '../../audio/resampler.js';
import { parseWav } from '../../audio/wav.js';
import { runProgram } from '../programs.js';
import { normalizeZh } from '../text/normalize.js';
import { parsePinyinPhrases, syllableString, toPinyinPhrases, type PinyinPhrase } from '../text/pinyin.js';
import { TtsLanguageError } from './errors.js';
import type { SynthesizeOptions, TtsEngine } from './TtsEngine.js';

export interface EspeakOptions {
  binary?: string;
  /** Words per minute (espeak `-s`). */
  speed?: number;
  voices?: { zh?: string; en?: string };
}

export class EspeakError extends Error {}

export class EspeakEngine implements TtsEngine {
  readonly id = 'espeak';
  readonly languages = ['zh', 'en'];
  readonly version = 'espeak-ng-1';
  private readonly bin: string;
  private readonly speed: number;
  private readonly voices: { zh: string; en: string };

  constructor(opts: EspeakOptions = {}) {
    this.bin = opts.binary ?? 'espeak-ng';
    this.speed = opts.speed ?? 150;
    this.voices = { zh: opts.voices?.zh ?? 'cmn-latn-pinyin', en: opts.voices?.en ?? 'en-us' };
  }

  synthesize(text: string, opts: SynthesizeOptions): AsyncIterable<Int16Array> {
    if (!this.languages.includes(opts.language)) throw new TtsLanguageError(this.id, opts.language, this.languages);
    if (opts.language === 'en') return this.render(splitEnglish(text), opts.voice ?? this.voices.en, opts.sampleRate);
    return this.render(phrasesToText(toPinyinPhrases(normalizeZh(text))), opts.voice ?? this.voices.zh, opts.sampleRate);
  }

  /** Voices an exact tone-numbered reading, bypassing normalisation. */
  synthesizePinyin(pinyin: string, opts: SynthesizeOptions): AsyncIterable<Int16Array> {
    return this.render(phrasesToText(parsePinyinPhrases(pinyin)), opts.voice ?? this.voices.zh, opts.sampleRate);
  }

  private async *render(parts: string[], voice: string, rate: number): AsyncGenerator<Int16Array> {
    // Run one process ahead, so the next sentence is ready when the current one has been played out.
    let next = parts.length ? this.run(parts[0], voice) : null;
    for (let i = 0; i < parts.length; i++) {
      const wav = await next!;
      next = i + 1 < parts.length ? this.run(parts[i + 1], voice) : null;
      const clip = parseWav(wav);
      const out = clip.sampleRate === rate ? clip.samples : floatToInt16(resampleAll(int16ToFloat(clip.samples), clip.sampleRate, rate));
      yield out;
    }
  }

  private run(text: string, voice: string): Promise<Uint8Array> {
    return runProgram({ kind: 'espeak', bin: this.bin, voice, speed: this.speed, text }).catch((e: Error) => {
      throw new EspeakError(e.message);
    });
  }
}

/** Each phrase as espeak input; the pause marks become punctuation espeak pauses at. */
function phrasesToText(phrases: PinyinPhrase[]): string[] {
  // Group phrases into sentences: one process per sentence keeps espeak's intonation across commas.
  const out: string[] = [];
  let cur = '';
  for (const p of phrases) {
    cur += p.syllables.map(syllableString).join(' ') + (p.pause === 'period' ? '.' : p.pause === 'none' ? ' ' : ', ');
    if (p.pause === 'period') {
      out.push(cur.trim());
      cur = '';
    }
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function splitEnglish(text: string): string[] {
  return (text.match(/[^.!?]+[.!?]*/g) ?? [text]).map((s) => s.trim()).filter(Boolean);
}
