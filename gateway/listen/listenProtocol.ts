// The packed messages between the main thread and a listen worker (listen.worker.ts): numbers in typed arrays
// rather than objects, so a tick with hundreds of calls' audio costs one transfer, not a structured clone per call.
import type { EchoEvent } from './InboundAudio.js';

/** Op codes of the packed request; each op is OP_WIDTH numbers in `ops`. */
export const Op = { open: 1, close: 2, audio: 3, ref: 4, truncate: 5, recheck: 6, flags: 7, audioNarrow: 8 } as const;
/** [op, slot, a, b, c]: audio = (offset, length, –); audioNarrow = (offset, length, rate): 8 kHz, cancelled at that rate and upsampled for the VAD in the worker; ref = (offset, length, at·2 + path); open = (flags, wire rate); flags = (flags); truncate = (from). */
export const OP_WIDTH = 5;
/** The one wire rate below 16 kHz the listen workers take (and upsample themselves). */
export const NARROW_RATE = 8000;
export const FLAG_RESIDUAL = 1;
export const FLAG_TRACE = 2;
/** An 8 kHz call's residual is also scored by the worker's 8 kHz VAD (consent windows; consent.narrowbandVad). */
export const FLAG_NARROW_VAD = 4;

/**
 * `ops` and `samples` are views of buffers that travel back with the reply (`returned`), and `recycle` hands back the
 * previous reply's `frames`: each side reuses the other's buffers, so a tick allocates no new off-heap memory. At
 * ~70 ticks a second per shard, fresh buffers (~300 KB a tick) made V8 run a full collection every ~0.6 s per shard.
 */
export type ListenRequest = { op: 'tick'; id: number; ops: Float64Array; samples: Float32Array; recycle: Float64Array | null };

/**
 * Test-only: a worker whose environment has EARSHOT_TEST_FAULTS=1 then throws in every tick from the next on
 * (`tick`: it answers `failed`), dies of an uncaught exception (`crash`), or stops answering ticks while its thread
 * lives on (`hang`: as a native call that never returns would leave it) — the ways a listen worker fails in
 * production; any other worker ignores it. Sent by `ListenService.injectFault` (test/listen-shard-failure.test.ts).
 */
export type ListenTestFault = { op: 'fault'; kind: 'tick' | 'crash' | 'hang' };

/** Per scored frame: slot, index, prob, echo (0/1), near-end probability (−1 without the classifier), level over the
 *  speech-like background (dB, +Infinity: none). */
export const FRAME_WIDTH = 6;
/** Per frame scored by the 8 kHz VAD (FLAG_NARROW_VAD): slot, index, prob, echo (0/1). */
export const NARROW_WIDTH = 4;
/** Per traced frame: slot, index, residual, expected echo, reference energy, locked (0/1). */
export const TRACE_WIDTH = 6;
/** Per residual piece: slot, start sample, offset in `residual`, length. */
export const RESIDUAL_WIDTH = 4;

export type ListenReply =
  | { op: 'ready'; name: string; detail: string; warning?: string }
  | { op: 'failed'; message: string }
  | {
      op: 'ticked';
      id: number;
      /** The request's `ops` and `samples`, for the next request. */
      returned: { ops: Float64Array; samples: Float32Array };
      frames: Float64Array;
      /** The same frames as the 8 kHz VAD scored them, for calls with FLAG_NARROW_VAD (NARROW_WIDTH each). */
      narrow: Float64Array | null;
      traces: Float64Array | null;
      residual: Float32Array | null;
      residualIndex: Float64Array | null;
      events: { slot: number; ev: EchoEvent }[];
      runs: number;
      echoMs: number;
      inferMs: number;
      /** This thread's CPU time so far (user + system), ms; −1 where /proc is not available. */
      cpuMs: number;
    };
