// The programs the gateway runs (ffmpeg for decodes, espeak-ng for `voice: espeak` prompts) are started by ONE small
// helper process (programs.process.ts, through OffProcess), never by the gateway's own: fork() of the gateway (~800 MB,
// a dozen threads) stalls every one of its threads (OffProcess.ts says why). One helper for both kinds of job: one
// more process, one fork, and `warmPrograms` forks it at start-up while the gateway is still small — forked lazily on
// first use it would itself be a fork of the big process, the very stall it exists to avoid.
import { OffProcess } from '../infer/OffProcess.js';
import type { DecodeOptions } from './decodeOptions.js';

/** One job for the helper: a decode by ffmpeg (→ PCM) or one espeak-ng synthesis (→ the WAV it wrote). */
export type ProgramRequest =
  | { kind: 'decode'; path: string; rate: number; opts: DecodeOptions }
  | { kind: 'espeak'; bin: string; voice: string; speed: number; text: string };

/** The helper's error, as it sent it: its message and the detail each kind's caller knows how to read. */
export class ProgramError extends Error {
  constructor(
    message: string,
    readonly detail?: unknown,
  ) {
    super(message);
    this.name = 'ProgramError';
  }
}

const host = new OffProcess<ProgramRequest, unknown>(new URL('./programs.process.ts', import.meta.url), (_req, message, detail) => new ProgramError(message, detail));

/** Runs one job in the helper; rejects with a ProgramError (the caller turns it into its own error type). */
export function runProgram(req: Extract<ProgramRequest, { kind: 'decode' }>): Promise<Int16Array>;
export function runProgram(req: Extract<ProgramRequest, { kind: 'espeak' }>): Promise<Uint8Array>;
export function runProgram(req: ProgramRequest): Promise<unknown> {
  return host.call(req);
}

/** Forks the helper now, idle and not holding the gateway open: call it first thing, while the process is small. */
export function warmPrograms(): void {
  host.warm();
}
