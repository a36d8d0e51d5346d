// The labelled corpus in ../shared/audio, as tests and the bench read it.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readWav } from '../../gateway/audio/wav.js';
import { PROJECT_ROOT } from '../../gateway/models.js';

export const AUDIO_DIR = resolve(PROJECT_ROOT, '..', 'shared', 'audio');

export interface Label {
  file: string;
  twin8k: string;
  kind: string;
  variant?: string;
  lang: string | null;
  text: string | null;
  pinyin?: string | null;
  expected: string | null;
  speechOnsetMs: number | null;
  speechEndMs: number | null;
  durationMs: number;
  promptFile?: string;
  promptTwin8k?: string;
  echo?: { delayMs: number; attenuationDb: number; echoSpeechOnsetMs?: number; echoSpeechEndMs?: number } | null;
  natural?: string;
  [k: string]: unknown;
}

export function labels(dir = AUDIO_DIR): Label[] {
  return readFileSync(join(dir, 'labels.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Label);
}

/** Raw audio bytes for the wire: 16 kHz pcm16 or the 8 kHz μ-law twin's bytes. */
export function wireAudio(rel: string, dir = AUDIO_DIR): { sampleRate: number; samples: Int16Array } {
  return readWav(join(dir, rel));
}
