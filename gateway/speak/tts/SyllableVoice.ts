// Earshot's embedded Mandarin voice: concatenative synthesis from one speaker's recordings of every syllable in
// every tone (no model to download, public-domain material). Text → normalise → pinyin with sandhi → units →
// duration shaping (WSOLA, pitch kept) → cross-faded joins → punctuation pauses. Each phrase is yielded as soon
// as it is joined, so a long prompt starts playing after its first phrase.
import { join } from 'node:path';
import { floatToInt16 } from '../../audio/codec.js';
import { resampleAll } from '../../audio/resampler.js';
import { isResolved, resolveModel } from '../../models.js';
import { rootLogger } from '../../ops/log.js';
import { normalizeZh } from '../text/normalize.js';
import { parsePinyinPhrases, toPinyinPhrases, type PauseKind, type PinyinPhrase, type Syllable } from '../text/pinyin.js';
import { TtsLanguageError, TtsModelMissingError } from './errors.js';
import { fadeEdges, scaled } from './pcmOps.js';
import { BANK_RATE, BANK_VERSION, SyllableBank } from './SyllableBank.js';
import type { SynthesizeOptions, TtsEngine } from './TtsEngine.js';
import { wsola } from './wsola.js';

const log = rootLogger.child({ mod: 'syllable-voice' });

export interface SyllableVoiceOptions {
  /** Folder holding `mp3/`; default: resolveModel('pinyin-syllables-female'). */
  voiceDir?: string;
  modelsDir?: string;
  /** Decoded units are cached under `<dataDir>/voice-cache/<voice>/`; omit for memory only. */
  dataDir?: string;
  /** Speaking rate. Natural read speech is 4–5 syllables/s, but this voice measured SER 0.14 at 3/s, 0.24 at 3.5/s
   *  and 0.27 at 4/s through the recogniser (time compression smears the initials), so 3/s is the default. */
  syllablesPerSecond?: number;
  crossfadeMs?: number;
}

const PAUSE_MS: Record<PauseKind, number> = { none: 0, breath: 120, comma: 200, period: 350 };

export class SyllableVoice implements TtsEngine {
  readonly id = 'syllable';
  readonly languages = ['zh'];
  readonly version: string;
  readonly bank: SyllableBank;
  private readonly unitSec: number;
  private readonly xfade: number;
  private readonly warned = new Set<string>();

  constructor(opts: SyllableVoiceOptions = {}) {
    let dir = opts.voiceDir;
    if (!dir) {
      const r = resolveModel('pinyin-syllables-female', opts.modelsDir);
      if (!isResolved(r)) throw new TtsModelMissingError('pinyin-syllables-female', r.missing);
      dir = r.dir;
    }
    const cache = opts.dataDir ? join(opts.dataDir, 'voice-cache', 'pinyin-syllables-female') : null;
    this.bank = new SyllableBank(join(dir, 'mp3'), cache);
    const sps = opts.syllablesPerSecond ?? 3;
    this.unitSec = 1 / sps;
    this.xfade = Math.round(((opts.crossfadeMs ?? 10) * BANK_RATE) / 1000);
    this.version = `syllable-${BANK_VERSION}-sps${sps}-xf${opts.crossfadeMs ?? 10}`;
  }

  synthesize(text: string, opts: SynthesizeOptions): AsyncIterable<Int16Array> {
    if (opts.language !== 'zh') throw new TtsLanguageError(this.id, opts.language, this.languages);
    return this.renderPhrases(toPinyinPhrases(normalizeZh(text)), opts.sampleRate);
  }

  /** Voices an exact tone-numbered reading ("nin2 hao3 ，…"), bypassing normalisation and sandhi. */
  synthesizePinyin(pinyin: string, opts: SynthesizeOptions): AsyncIterable<Int16Array> {
    return this.renderPhrases(parsePinyinPhrases(pinyin), opts.sampleRate);
  }

  private async *renderPhrases(phrases: PinyinPhrase[], rate: number): AsyncGenerator<Int16Array> {
    // Start decoding the next phrase's units while this one is joined and played.
    let next = phrases.length ? this.units(phrases[0]) : null;
    for (let i = 0; i < phrases.length; i++) {
      const units = await next!;
      next = i + 1 < phrases.length ? this.units(phrases[i + 1]) : null;
      const last = i === phrases.length - 1;
      const audio = this.join(units, last ? 0 : PAUSE_MS[phrases[i].pause]);
      const out = rate === BANK_RATE ? audio : resampleAll(audio, BANK_RATE, rate);
      yield floatToInt16(out);
    }
  }

  /** Fetches and duration-shapes each syllable of a phrase. */
  private async units(phrase: PinyinPhrase): Promise<Float32Array[]> {
    const n = phrase.syllables.length;
    return Promise.all(
      phrase.syllables.map(async (s, i) => {
        const prevTone = i > 0 ? phrase.syllables[i - 1].tone : 1;
        const { name, neutralStandIn } = this.pick(s, prevTone);
        if (!name) return new Float32Array(0);
        let x = await this.bank.get(name);
        // Phrase-final lengthening: the last syllable before a pause is ~1.5× longer in natural speech.
        let target = this.unitSec * (i === n - 1 ? 1.5 : 1);
        if (neutralStandIn) target *= 0.6;
        const want = Math.round(target * BANK_RATE);
        // Only shorten: a unit shorter than the target is left as recorded rather than drawn out.
        if (x.length > want * 1.1) x = wsola(x, want, BANK_RATE);
        if (neutralStandIn) x = scaled(x, 0.6);
        return fadeEdges(x, Math.round(0.005 * BANK_RATE), Math.round(0.01 * BANK_RATE));
      }),
    );
  }

  /** The recording to use; neutral tones without their own file borrow a full tone, said shorter and softer. */
  private pick(s: Syllable, prevTone: number): { name: string | null; neutralStandIn: boolean } {
    const want = SyllableBank.fileName(s.pinyin, s.tone);
    if (this.bank.has(want)) return { name: want, neutralStandIn: false };
    // A neutral syllable sits high after tone 3 and low after the others: borrow tone 1 or tone 4 accordingly.
    const order = s.tone === 5 ? (prevTone === 3 ? [1, 2, 4, 3] : [4, 1, 2, 3]) : nearestTones(s.tone);
    for (const t of order) {
      const name = SyllableBank.fileName(s.pinyin, t);
      if (this.bank.has(name)) {
        if (s.tone !== 5) this.warnOnce(want, `syllable ${want} missing; using ${name}`);
        return { name, neutralStandIn: s.tone === 5 };
      }
    }
    this.warnOnce(want, `syllable ${s.pinyin} has no recording in any tone; skipped`);
    return { name: null, neutralStandIn: false };
  }

  private warnOnce(key: string, msg: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    log.warn({ syllable: key }, msg);
  }

  /** Overlap-adds units with a linear cross-fade and appends the pause. */
  private join(units: Float32Array[], pauseMs: number): Float32Array {
    const xf = this.xfade;
    let total = 0;
    for (const u of units) total += u.length;
    const pause = Math.round((pauseMs * BANK_RATE) / 1000);
    const out = new Float32Array(total + pause);
    let pos = 0;
    for (const u of units) {
      if (u.length === 0) continue;
      const ov = pos > 0 ? Math.min(xf, u.length >> 1, pos) : 0;
      const start = pos - ov;
      for (let k = 0; k < u.length; k++) {
        const g = k < ov ? k / ov : 1;
        const tail = k < ov ? 1 - k / ov : 0;
        out[start + k] = out[start + k] * (k < ov ? tail : 0) + u[k] * g;
      }
      pos = start + u.length;
    }
    return out.slice(0, pos + pause);
  }
}

function nearestTones(t: number): number[] {
  // Similar contours first: 2↔3 (both rise at the end), 1↔4 (both start high).
  const table: Record<number, number[]> = { 1: [4, 2, 3], 2: [3, 1, 4], 3: [2, 4, 1], 4: [1, 3, 2] };
  return table[t] ?? [1, 2, 3, 4];
}
