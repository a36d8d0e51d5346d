// Corpus clips as the recogniser gets them on a call, and a stream driver, shared by the ASR tests.
import { join } from 'node:path';
import { expect } from 'vitest';
import { Resampler } from '../../gateway/audio/resampler.js';
import { readWavFloat } from '../../gateway/audio/wav.js';
import type { AsrResult, AsrStream } from '../../gateway/listen/asr/index.js';
import { AUDIO_DIR } from './corpus.js';

/** 16 kHz float samples of a corpus file, or of its 8 kHz μ-law twin upsampled the way the gateway does it. */
export function load16k(file: string, rate: '16k' | '8k'): Float32Array {
  if (rate === '16k') return readWavFloat(join(AUDIO_DIR, file)).samples;
  const twin = readWavFloat(join(AUDIO_DIR, file.replace(/([^/]+)$/, '8k/$1')));
  expect(twin.sampleRate).toBe(8000);
  return new Resampler(8000, 16000).process(twin.samples);
}

/** Streams a clip in 20 ms chunks as fast as possible, then finish(); resolves with the final and all partials. */
export function run(stream: AsrStream, samples: Float32Array): Promise<{ final: AsrResult; partials: AsrResult[] }> {
  return new Promise((res) => {
    const partials: AsrResult[] = [];
    stream.onResult((r) => (r.final ? res({ final: r, partials }) : partials.push(r)));
    for (let i = 0; i < samples.length; i += 320) stream.accept(samples.slice(i, i + 320));
    stream.finish();
  });
}
