// Recorded prompts and voice material in, 16-bit mono PCM out. This is the ONE module that touches fluent-ffmpeg:
// the package is archived upstream, so everything else depends on these two functions and we can swap the
// implementation (plain child_process, another wrapper) without touching callers.
//
// ffmpeg is never started from the gateway's own process: fork() copies the page tables of the whole process, and
// in the soak one spawn from a gateway at ~600 MB held its event loop for 100–240 ms (every prompt upload, an
// attacker's too); from a worker thread it still stalled every thread (branch soak7). Decodes run in the programs
// helper process (programs.ts) that forks ffmpeg itself; an upload's ffmpeg runs niced, so it takes CPU only from
// what the calls leave.
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import type { DecodeOptions, UploadFormat } from './decodeOptions.js';
import { ProgramError, runProgram } from './programs.js';

export interface ImportedRecording {
  pcm16k: Int16Array;
  pcm8k: Int16Array;
}

/**
 * The container of an upload from its first bytes, or null when it is none of the allowed ones (WAV, FLAC, Ogg,
 * MP3, MP4/M4A, AIFF). Decided here rather than by ffmpeg's probing, which accepts dozens of formats, some of
 * which (HLS, concat lists) refer to other files or URLs.
 */
export function sniffAudioFormat(b: Uint8Array): UploadFormat | null {
  const ascii = (from: number, to: number) => Buffer.from(b.subarray(from, to)).toString('latin1');
  if (b.length < 12) return null;
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return 'wav';
  if (ascii(0, 4) === 'fLaC') return 'flac';
  if (ascii(0, 4) === 'OggS') return 'ogg';
  if (ascii(0, 4) === 'FORM' && (ascii(8, 12) === 'AIFF' || ascii(8, 12) === 'AIFC')) return 'aiff';
  if (ascii(4, 8) === 'ftyp') return 'mov';
  if (ascii(0, 3) === 'ID3') return 'mp3';
  // An MPEG audio frame header: 11 sync bits, then a version and a layer that are not "reserved".
  if (b[0] === 0xff && (b[1] & 0xe0) === 0xe0 && ((b[1] >> 3) & 3) !== 1 && ((b[1] >> 1) & 3) !== 0) return 'mp3';
  return null;
}

export class PromptImportError extends Error {
  constructor(
    readonly path: string,
    message: string,
    /** ffmpeg was killed for taking longer than its timeout. */
    readonly timedOut = false,
  ) {
    super(message);
    this.name = 'PromptImportError';
  }
}

/** Any format ffmpeg reads (WAV, MP3, OGG, …) → mono signed 16-bit PCM at `rate`, resampled by ffmpeg. */
export function decodeToPcm(path: string, rate: number, opts: DecodeOptions = {}): Promise<Int16Array> {
  if (!existsSync(path)) return Promise.reject(new PromptImportError(path, `audio file ${path} does not exist`));
  return runProgram({ kind: 'decode', path, rate, opts }).catch((e: Error) => {
    throw new PromptImportError(path, e.message, e instanceof ProgramError && e.detail === true);
  });
}

/** Niceness of an upload's ffmpeg: below the gateway's own threads, so a flood of uploads cannot starve calls. */
const UNTRUSTED_NICENESS = 10;

/** decodeToPcm here: in the programs helper process, which forks ffmpeg. */
export function decodeInThisThread(path: string, rate: number, opts: DecodeOptions = {}): Promise<Int16Array> {
  return new Promise((resolveP, rejectP) => {
    const chunks: Buffer[] = [];
    const u = opts.untrusted;
    let cmd = (u ? ffmpeg(path, { timeout: u.timeoutMs / 1000, niceness: UNTRUSTED_NICENESS }) : ffmpeg(path)).noVideo().audioChannels(1).audioCodec('pcm_s16le').format('s16le');
    if (u) cmd = cmd.inputOptions(['-protocol_whitelist', 'file', '-f', u.format, '-t', String(u.maxSeconds)]);
    // loudnorm runs at 192 kHz internally, so the final rate is set after it (-ar applies to the output).
    const filters: string[] = [];
    if (opts.highpassHz !== undefined) filters.push(`highpass=f=${opts.highpassHz}:poles=2`, `highpass=f=${opts.highpassHz}:poles=2`);
    if (opts.loudnessLufs !== undefined) filters.push(`loudnorm=I=${opts.loudnessLufs}:TP=-2:LRA=11`);
    if (filters.length) cmd = cmd.audioFilters(filters);
    cmd = cmd.audioFrequency(rate);
    let failed = false;
    cmd.on('error', (err: Error) => {
      failed = true;
      const timedOut = /timeout/.test(err.message);
      rejectP(new PromptImportError(path, timedOut ? `decoding ${path} took longer than ${u?.timeoutMs} ms` : `ffmpeg could not decode ${path}: ${err.message}`, timedOut));
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
