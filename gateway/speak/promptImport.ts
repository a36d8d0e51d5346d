// Recorded prompts and voice material in, 16-bit mono PCM out. This is the ONE module that touches fluent-ffmpeg:
// the package is archived upstream, so everything else depends on these two functions and we can swap the
// implementation (plain child_process, another wrapper) without touching callers.
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';

export interface ImportedRecording {
  pcm16k: Int16Array;
  pcm8k: Int16Array;
}

export interface DecodeOptions {
  /** EBU R128 loudness target in LUFS (ffmpeg `loudnorm`); omitted = no loudness change. */
  loudnessLufs?: number;
  /** High-pass corner in Hz, to remove DC offset and mains hum (the syllable recordings carry a strong one). */
  highpassHz?: number;
}

export class PromptImportError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'PromptImportError';
  }
}

/** Any format ffmpeg reads (WAV, MP3, OGG, …) → mono signed 16-bit PCM at `rate`, resampled by ffmpeg. */
export function decodeToPcm(path: string, rate: number, opts: DecodeOptions = {}): Promise<Int16Array> {
  if (!existsSync(path)) return Promise.reject(new PromptImportError(path, `audio file ${path} does not exist`));
  return new Promise((resolveP, rejectP) => {
    const chunks: Buffer[] = [];
    let cmd = ffmpeg(path).noVideo().audioChannels(1).audioCodec('pcm_s16le').format('s16le');
    // loudnorm runs at 192 kHz internally, so the final rate is set after it (-ar applies to the output).
    const filters: string[] = [];
    if (opts.highpassHz !== undefined) filters.push(`highpass=f=${opts.highpassHz}:poles=2`, `highpass=f=${opts.highpassHz}:poles=2`);
    if (opts.loudnessLufs !== undefined) filters.push(`loudnorm=I=${opts.loudnessLufs}:TP=-2:LRA=11`);
    if (filters.length) cmd = cmd.audioFilters(filters);
    cmd = cmd.audioFrequency(rate);
    let failed = false;
    cmd.on('error', (err: Error) => {
      failed = true;
      rejectP(new PromptImportError(path, `ffmpeg could not decode ${path}: ${err.message}`));
    });
    const out = cmd.pipe() as Readable;
    out.on('data', (b: Buffer) => chunks.push(b));
    out.on('end', () => {
      if (failed) return;
      const buf = Buffer.concat(chunks);
      // Copy into an aligned buffer: a Buffer from the pool may start at an odd byte offset.
      const pcm = new Int16Array(buf.length >> 1);
      for (let i = 0; i < pcm.length; i++) pcm[i] = buf.readInt16LE(i * 2);
      if (pcm.length === 0) rejectP(new PromptImportError(path, `ffmpeg decoded no audio from ${path}`));
      else resolveP(pcm);
    });
  });
}

/** A recorded prompt ready for playout at either telephony rate, loudness-normalised to −20 LUFS by default. */
export async function importRecording(path: string, loudnessLufs = -20): Promise<ImportedRecording> {
  const [pcm16k, pcm8k] = await Promise.all([
    decodeToPcm(path, 16000, { loudnessLufs }),
    decodeToPcm(path, 8000, { loudnessLufs }),
  ]);
  return { pcm16k, pcm8k };
}
