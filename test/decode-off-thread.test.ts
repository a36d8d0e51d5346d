// decodeToPcm from the main thread never starts ffmpeg there: fork() copies the whole gateway's page tables and
// held its event loop for 100–240 ms in the soak. fluent-ffmpeg is replaced on this (main) thread by one that
// throws; the decode worker loads the real one.
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { decodeToPcm, PromptImportError } from '../gateway/speak/promptImport.js';

vi.mock('fluent-ffmpeg', () => ({
  default: () => {
    throw new Error('ffmpeg was started on the main thread');
  },
}));

const MP3 = join(import.meta.dirname, '..', '..', 'shared', 'voices', 'pinyin-syllables-female', 'mp3', 'hao3.mp3');

describe('decodeToPcm off the main thread', () => {
  it('decodes in the decode worker, an upload (untrusted, bounded by maxSeconds) too', async () => {
    const pcm = await decodeToPcm(MP3, 8000);
    expect(pcm.length / 8000).toBeGreaterThan(1.0);
    const up = await decodeToPcm(MP3, 16000, { untrusted: { format: 'mp3', maxSeconds: 0.5, timeoutMs: 10_000 } });
    expect(up.length).toBe(8000);
  });

  it('a file ffmpeg cannot read is a PromptImportError from the worker', async () => {
    const err = await decodeToPcm(import.meta.filename, 16000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PromptImportError);
    expect((err as Error).message).toMatch(/could not decode|decoded no audio/);
  });
});
