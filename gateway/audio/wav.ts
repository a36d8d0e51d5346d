// WAV in through `wavefile`, which handles the header variants (μ-law, A-law, extensible) we meet in recorded
// prompts and test corpora. WAV out is always mono pcm16, written directly: wavefile packs sample by sample, which
// cost ~8 ms per evidence clip on the event loop (4 % of it at 100 calls).
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
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

/** Canonical 44-byte-header mono pcm16 WAV. */
export function encodeWav(clip: PcmClip): Buffer {
  const data = clip.samples.length * 2;
  const b = Buffer.alloc(44 + data);
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(36 + data, 4);
  b.write('WAVE', 8, 'ascii');
  b.write('fmt ', 12, 'ascii');
  b.writeUInt32LE(16, 16); // fmt chunk size
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(clip.sampleRate, 24);
  b.writeUInt32LE(clip.sampleRate * 2, 28); // byte rate
  b.writeUInt16LE(2, 32); // block align
  b.writeUInt16LE(16, 34); // bits per sample
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(data, 40);
  if (LITTLE_ENDIAN) Buffer.from(clip.samples.buffer, clip.samples.byteOffset, data).copy(b, 44);
  else for (let i = 0; i < clip.samples.length; i++) b.writeInt16LE(clip.samples[i], 44 + 2 * i);
  return b;
}

const LITTLE_ENDIAN = endianness() === 'LE';

export function readWavFloat(path: string): { sampleRate: number; samples: Float32Array } {
  const c = readWav(path);
  return { sampleRate: c.sampleRate, samples: int16ToFloat(c.samples) };
}
