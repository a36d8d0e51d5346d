import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { int16ToFloat } from '../gateway/audio/codec.js';
import { readWav } from '../gateway/audio/wav.js';
import { decodeToPcm, importRecording, PromptImportError } from '../gateway/speak/promptImport.js';
import { rms } from '../gateway/speak/tts/pcmOps.js';

const SHARED = join(import.meta.dirname, '..', '..', 'shared');
const MP3 = join(SHARED, 'voices', 'pinyin-syllables-female', 'mp3', 'hao3.mp3');
const WAV = join(SHARED, 'audio', 'real', 'wenetspeech_0.wav');

describe('prompt import', () => {
  it('decodes an MP3 to 16 kHz and 8 kHz with matching durations', async () => {
    const r = await importRecording(MP3);
    expect(r.pcm16k.length / 16000).toBeGreaterThan(1.0);
    expect(Math.abs(r.pcm16k.length / 2 - r.pcm8k.length)).toBeLessThan(200);
  });
  it('loudness-normalises a WAV: a quiet and a loud source come out at the same level', async () => {
    const src = readWav(WAV);
    const dir = mkdtempSync(join(tmpdir(), 'tts-import-'));
    const quiet = join(dir, 'quiet.wav');
    const ogg = join(dir, 'x.ogg');
    execFileSync('ffmpeg', ['-v', 'error', '-i', WAV, '-af', 'volume=-15dB', quiet]);
    execFileSync('ffmpeg', ['-v', 'error', '-i', WAV, '-c:a', 'libvorbis', ogg]);
    const a = await importRecording(WAV);
    const b = await importRecording(quiet);
    const c = await importRecording(ogg);
    const db = (x: Int16Array) => 20 * Math.log10(rms(int16ToFloat(x)));
    expect(Math.abs(db(a.pcm16k) - db(b.pcm16k))).toBeLessThan(1.5);
    expect(Math.abs(db(a.pcm16k) - db(c.pcm16k))).toBeLessThan(1.5);
    expect(Math.abs(a.pcm16k.length - (src.samples.length * 16000) / src.sampleRate)).toBeLessThan(1600);
    expect(c.pcm8k.length).toBeGreaterThan(0);
  });
  it('fails clearly on a missing or broken file', async () => {
    await expect(decodeToPcm('/nonexistent.mp3', 16000)).rejects.toBeInstanceOf(PromptImportError);
    await expect(decodeToPcm(join(import.meta.dirname, 'tts-import.test.ts'), 16000)).rejects.toBeInstanceOf(PromptImportError);
  });
});
