// espeak-ng runs with a timeout and a cap on what it writes (speak/tts/espeakProgram.ts): a hung or runaway program
// is killed, and its prompt fails with a clear error instead of holding the helper's memory or its turn forever.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { espeakWav } from '../gateway/speak/tts/espeakProgram.js';

/** An executable `espeak-ng` that runs `body` (sh) in place of the real one. */
function fakeEspeak(body: string): string {
  const bin = join(mkdtempSync(join(tmpdir(), 'espeak-fake-')), 'espeak-ng');
  writeFileSync(bin, `#!/bin/sh\n${body}\n`);
  chmodSync(bin, 0o755);
  return bin;
}

describe('espeakWav limits', () => {
  it('a program that writes without end is killed at the output cap', async () => {
    const t0 = performance.now();
    const err = await espeakWav(fakeEspeak('exec yes RIFF'), 'en-us', 150, 'hello', { timeoutMs: 20_000, maxBytes: 1024 * 1024 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/was stopped: it wrote more than 1048576 bytes/);
    expect(performance.now() - t0).toBeLessThan(15_000); // the cap stopped it, not the timeout
  });

  it('a program that hangs is killed at the timeout', async () => {
    const err = await espeakWav(fakeEspeak('exec sleep 30'), 'en-us', 150, 'hello', { timeoutMs: 300, maxBytes: 1024 * 1024 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/was stopped: it took longer than 300 ms/);
  });

  it('espeak-ng itself runs within the default limits', async () => {
    const wav = await espeakWav('espeak-ng', 'en-us', 150, 'Hello there.');
    expect(Buffer.from(wav.subarray(0, 4)).toString()).toBe('RIFF');
    expect(wav.length).toBeGreaterThan(20_000); // about a second of 22,050 Hz speech, not an empty file
  });
});
