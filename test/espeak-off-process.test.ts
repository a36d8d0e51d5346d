// EspeakEngine never starts espeak-ng in the gateway's process: fork() copies the whole gateway's page tables and
// stalls every one of its threads (speak/programs.ts). spawn is replaced in this process by one that throws (fork,
// which starts the helper, is kept); the programs helper process runs the real one.
import { describe, expect, it, vi } from 'vitest';
import { collectPcm, EspeakEngine, EspeakError } from '../gateway/speak/index.js';

vi.mock('node:child_process', async (importOriginal) => ({
  ...(await importOriginal<typeof import('node:child_process')>()),
  spawn: () => {
    throw new Error('espeak-ng was started in the gateway process');
  },
}));

describe('EspeakEngine in the programs helper process', () => {
  it('synthesises English and tone-numbered Mandarin in the helper, resampled to the call rate', async () => {
    const e = new EspeakEngine();
    const en = await collectPcm(e.synthesize('Hello there. This is a test.', { language: 'en', sampleRate: 8000 }));
    expect(en.length / 8000).toBeGreaterThan(1.0);
    expect(en.reduce((m, x) => Math.max(m, Math.abs(x)), 0)).toBeGreaterThan(3000); // not silence
    const zh = await collectPcm(e.synthesizePinyin('ni3 hao3', { language: 'zh', sampleRate: 16000 }));
    expect(zh.length / 16000).toBeGreaterThan(0.3);
  });

  it('a missing espeak-ng binary is an EspeakError from the helper', async () => {
    const e = new EspeakEngine({ binary: '/nonexistent/espeak-ng' });
    const err = await collectPcm(e.synthesize('Hello.', { language: 'en', sampleRate: 8000 })).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(EspeakError);
    expect((err as Error).message).toMatch(/cannot run \/nonexistent\/espeak-ng/);
  });
});
