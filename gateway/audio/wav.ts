// WAV in and out through `wavefile`, which handles the header variants (μ-law, A-law, extensible) we meet in
// recorded prompts and test corpora.
import { readFileSync } from 'node:fs';
import wavefilePkg from 'wavefile';
import { int16ToFloat } from './codec.js';

const { WaveFile } = wavefilePkg as unknown as { WaveFile: typeof import('wavefile').WaveFile };

export interface PcmClip {
  sampleRate: number;
  samples: Int16Array; // mono
}

/** Reads a mono WAV of any common encoding (pcm16, μ-law, A-law, float) into pcm16. */
export function readWav(path: string): PcmClip {
  return parseWav(readFileSync(path));
}

export function parseWav(bytes: Uint8Array): PcmClip {
  const wav = new WaveFile(bytes);
  const fmt = wav.fmt as { audioFormat: number; numChannels: number; sampleRate: number };
  const sampleRate = fmt.sampleRate; // read before conversion: the converters rebuild the header
  if (fmt.audioFormat === 7) wav.fromMuLaw();
  else if (fmt.audioFormat === 6) wav.fromALaw();
  if ((wav.bitDepth as string) !== '16') wav.toBitDepth('16');
  const all = wav.getSamples(false, Int16Array) as unknown as Int16Array | Int16Array[];
  const mono = Array.isArray(all) ? all[0] : all;
  return { sampleRate, samples: Int16Array.from(mono) };
}

export function encodeWav(clip: PcmClip): Buffer {
  const wav = new WaveFile();
  wav.fromScratch(1, clip.sampleRate, '16', clip.samples);
  return Buffer.from(wav.toBuffer());
}

export function readWavFloat(path: string): { sampleRate: number; samples: Float32Array } {
  const c = readWav(path);
  return { sampleRate: c.sampleRate, samples: int16ToFloat(c.samples) };
}
