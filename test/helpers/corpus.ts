// The labelled corpus in ../shared/audio, as tests and the bench read it.
import { join, resolve } from 'node:path';
import { readWav } from '../../gateway/audio/wav.js';
import { PROJECT_ROOT } from '../../gateway/models.js';
import { readLabels, type Label } from '../../bench/scenarios.js';

export const AUDIO_DIR = resolve(PROJECT_ROOT, '..', 'shared', 'audio');

export type { Label };

export function labels(dir = AUDIO_DIR): Label[] {
  return readLabels(dir);
}

/** Raw audio bytes for the wire: 16 kHz pcm16 or the 8 kHz μ-law twin's bytes. */
export function wireAudio(rel: string, dir = AUDIO_DIR): { sampleRate: number; samples: Int16Array } {
  return readWav(join(dir, rel));
}
