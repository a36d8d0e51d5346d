// The consent eval's command line: candidates and configuration values as they reach the gateway's configuration.
import { describe, expect, it } from 'vitest';
import { main, parseCandidate, setPath } from '../bench/eval-consent.js';

describe('eval consent command line', () => {
  it('reads a candidate as its name and nested configuration values, numbers and booleans parsed', () => {
    expect(parseCandidate('hot1.5:asr.search=hotwords,asr.hotwordBoost=1.5,consent.secondOpinion=none')).toEqual({
      name: 'hot1.5',
      overrides: { asr: { search: 'hotwords', hotwordBoost: 1.5 }, consent: { secondOpinion: 'none' } },
    });
    expect(parseCandidate('configured')).toEqual({ name: 'configured', overrides: {} });
    const o: Record<string, unknown> = {};
    setPath(o, 'echo.enabled=false');
    expect(o).toEqual({ echo: { enabled: false } });
  });

  it('refuses a value without a key and keys that would reach the object prototype', () => {
    expect(() => setPath({}, '=3')).toThrow(/KEY.PATH=VALUE/);
    expect(() => setPath({}, '__proto__.polluted=1')).toThrow(/not a configuration key/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(() => parseCandidate(':asr.search=greedy')).toThrow(/NAME:KEY=VALUE/);
  });

  it('exits 2 with its usage on a bad command line, before starting anything', async () => {
    const err: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
    try {
      expect(await main(['../shared/audio', '--sets', 'natural,tts'])).toBe(2);
      expect(await main(['../shared/audio', '--candidate', 'a', '--candidate', 'a'])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(err.join('')).toMatch(/neither natural nor espeak[\s\S]*usage: earshot eval consent[\s\S]*names must differ/);
  });
});
