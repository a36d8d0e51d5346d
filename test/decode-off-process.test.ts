// decodeToPcm never starts ffmpeg in the gateway's process: fork() copies the whole gateway's page tables and held
// its event loop for 100–240 ms in the soak, and from a worker thread it still stalled every thread. fluent-ffmpeg is
// replaced in this process by one that throws (a worker thread of it would load the mock too); the programs helper
// process loads the real one.
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { decodeToPcm, PromptImportError } from '../gateway/speak/promptImport.js';

vi.mock('fluent-ffmpeg', () => ({
  default: () => {
    throw new Error('ffmpeg was started on the main thread');
  },
}));

const MP3 = join(import.meta.dirname, '..', '..', 'shared', 'voices', 'pinyin-syllables-female', 'mp3', 'hao3.mp3');

describe('decodeToPcm in the decode helper process', () => {
  it('decodes in the helper process, an upload (untrusted, bounded by maxSeconds) too', async () => {
    const pcm = await decodeToPcm(MP3, 8000);
    expect(pcm.length / 8000).toBeGreaterThan(1.0);
    const up = await decodeToPcm(MP3, 16000, { untrusted: { format: 'mp3', maxSeconds: 0.5, timeoutMs: 10_000 } });
    expect(up.length).toBe(8000);
  });

  it('a file ffmpeg cannot read is a PromptImportError from the helper', async () => {
    const err = await decodeToPcm(import.meta.filename, 16000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PromptImportError);
    expect((err as Error).message).toMatch(/could not decode|decoded no audio/);
  });
});
