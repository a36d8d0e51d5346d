// The consent answers of a labelled corpus (../shared/audio) as the consent evaluations see them: which set an
// item belongs to (natural voices, where accuracy is measured, or the espeak-ng stress set), who spoke it, and the
// source it came from, which is what the cross-speaker folds hold out.
import { join } from 'node:path';
import { Resampler } from '../../gateway/audio/resampler.js';
import { readWavFloat } from '../../gateway/audio/wav.js';
import { readLabels, type Label } from '../scenarios.js';
import { prepare, type Prep } from './narrowband.js';

export type ConsentSet = 'natural' | 'espeak';
export type Expected = 'granted' | 'refused' | 'unclear';
export type Rate = '16k' | '8k';
export const RATES: readonly Rate[] = ['16k', '8k'];
export const CLASSES: readonly Expected[] = ['granted', 'refused', 'unclear'];

export interface ConsentItem {
  label: Label;
  set: ConsentSet;
  expected: Expected;
  /** Voice: the labelled speaker of a natural clip; the espeak-ng voice variant of a stress clip. */
  speaker: string;
  /**
   * Where the voice comes from: the public repository of a natural clip (one source may hold several speakers,
   * recorded and cut the same way), `espeak-ng` for the stress set. Folds hold out whole sources.
   */
  source: string;
}

export function itemSet(l: Label): ConsentSet | null {
  if (l.file.startsWith('natural/')) return 'natural';
  if (l.file.startsWith('consent/')) return 'espeak';
  return null;
}

/** `natural:owner/repo@commit:path` → `owner/repo`. */
export function sourceOf(l: Label): string {
  const m = /^natural:([^@]+)@/.exec(String(l.source ?? ''));
  return m ? m[1]! : itemSet(l) === 'espeak' ? 'espeak-ng' : String(l.source ?? 'unknown');
}

export function consentItems(dir: string, options: { sets?: readonly ConsentSet[]; lang?: 'zh' | 'en' } = {}): ConsentItem[] {
  const sets = options.sets ?? ['natural', 'espeak'];
  const lang = options.lang ?? 'zh';
  const out: ConsentItem[] = [];
  for (const l of readLabels(dir)) {
    const set = itemSet(l);
    if (l.kind !== 'consent' || l.lang !== lang || !set || !sets.includes(set)) continue;
    if (l.expected !== 'granted' && l.expected !== 'refused' && l.expected !== 'unclear') continue;
    const tts = l.tts as { voice?: string } | undefined;
    const speaker = typeof l.speaker === 'string' ? l.speaker : `espeak:${tts?.voice ?? 'default'}`;
    out.push({ label: l, set, expected: l.expected, speaker, source: sourceOf(l) });
  }
  return out;
}

/** Wire file of an item at a rate (the 8 kHz μ-law twin for 8k). */
export function wireFile(item: ConsentItem, rate: Rate): string {
  return rate === '16k' ? item.label.file : item.label.twin8k;
}

/**
 * The item's audio at 16 kHz as the recogniser gets it on a call: the 16 kHz file, or the 8 kHz μ-law twin decoded
 * and upsampled by the gateway's own resampler (as the listen worker does). `leadMs` more of the
 * clip's own opening noise floor goes first (the answer starting at another point of the call's frame grid), and
 * `trailMs` of digital silence after (a line that stays open after the answer). `prep` other than `ours` changes one
 * thing of that path, to find where narrowband audio loses answers (./narrowband.ts).
 */
export function audio16k(dir: string, item: ConsentItem, rate: Rate, leadMs = 0, trailMs = 0, prep: Prep = 'ours'): Float32Array {
  const wire = wireAudio(dir, item, rate, leadMs, trailMs);
  if (prep !== 'ours') return prepare(prep, rate, wire);
  if (rate === '16k') return wire;
  // The resampler keeps its state across calls, so the whole clip at once is what 20 ms frames would give.
  return new Resampler(8000, 16000).process(wire);
}

/** The item's audio at its wire rate (μ-law decoded for 8k), with `leadMs` of its noise floor first and `trailMs` of silence after. */
export function wireAudio(dir: string, item: ConsentItem, rate: Rate, leadMs = 0, trailMs = 0): Float32Array {
  const clip = readWavFloat(join(dir, wireFile(item, rate)));
  const wireRate = rate === '16k' ? 16000 : 8000;
  if (clip.sampleRate !== wireRate) throw new Error(`${wireFile(item, rate)}: ${clip.sampleRate} Hz, expected ${wireRate}`);
  const lead = Math.round((leadMs * wireRate) / 1000);
  const wire = new Float32Array(lead + clip.samples.length + Math.round((trailMs * wireRate) / 1000));
  for (let i = 0; i < lead; i++) wire[i] = clip.samples[i % Math.max(1, Math.min(clip.samples.length, wireRate / 10))]!;
  wire.set(clip.samples, lead);
  return wire;
}
