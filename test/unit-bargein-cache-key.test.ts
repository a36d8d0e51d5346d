// The offline eval's cache keys (bench/bargein/cacheKey.ts): cached frames and looks name the code and settings that
// made them, so a change to the canceller or the VAD is never replayed from frames of the code before it.
import { describe, expect, it } from 'vitest';
import { frameSources, framesKey, looksKey } from '../bench/bargein/cacheKey.js';

describe('offline cache keys', () => {
  it('cover the audio path a frame comes from, not the decisions replayed over it', () => {
    const names = frameSources();
    for (const f of ['listen/EchoCanceller.ts', 'listen/echo/explainedShare.ts', 'listen/InboundAudio.ts', 'listen/DtmfTone.ts', 'audio/resampler.ts'])
      expect(names.some((n) => n.endsWith(`gateway/${f}`))).toBe(true);
    for (const f of ['listen/BargeInPolicy.ts', 'listen/interruption/', 'listen/consent/', 'listen/asr/'])
      expect(names.some((n) => n.includes(`gateway/${f}`))).toBe(false);
  });

  it('change with the settings, and looks have a key of their own', () => {
    const a = { echo: { taps: 1024 }, vad: { rejectDtmf: true } };
    expect(framesKey(a)).toBe(framesKey({ ...a }));
    expect(framesKey(a)).not.toBe(framesKey({ ...a, echo: { taps: 512 } }));
    expect(framesKey(a)).toMatch(/^[0-9a-f]{8}$/);
    expect(looksKey(a)).not.toBe(framesKey(a));
  });
});
