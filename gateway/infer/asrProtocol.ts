// Messages between the ASR pool (main thread) and its workers. Audio travels as transferred Float32Array buffers.
import type { AsrResult, AudioTransform } from '../listen/asr/types.js';
import type { AsrEngineSpec } from '../listen/asr/engine.js';

export interface AsrWorkerData {
  spec: Omit<AsrEngineSpec, 'dynamicBatch'>;
  /** Minimum audio between two partial results of one stream, ms (partials are sent only when the text changed). */
  partialEveryMs: number;
  /** Silence appended before inputFinished so the last chunk's right context is decoded, ms. */
  tailPaddingMs: number;
}

export type AsrStreamRequest =
  | { op: 'close' | 'finish' | 'reset'; sid: number }
  /** secondOpinions false: this stream decodes with the main engine only (see AsrEngine.createStream). */
  | { op: 'open'; sid: number; secondOpinions?: boolean; priority?: number; narrowband?: boolean }
  /** transform: applied by the worker to these samples before the recogniser hears them (AsrStream.accept). */
  | { op: 'audio'; sid: number; samples: Float32Array; transform?: AudioTransform }
  /**
   * Test hook: `throw` outside any handler, as an unexpected bug would; `abort` the process, as native code that throws
   * through a C++ frame does (only ever sent to a helper process: in a thread it would end the gateway); `hang`: block
   * for good, as a deadlock in native code would.
   */
  | { op: 'crash'; how: 'throw' | 'abort' | 'hang' };

export type AsrRequest =
  | AsrStreamRequest
  /** The pool's watchdog: answered with `pong` as soon as the worker's loop gets to it. */
  | { op: 'ping' }
  /** Several of the above, in order: what the pool had for one worker at the end of one event-loop task. */
  | { op: 'batch'; msgs: AsrStreamRequest[] };

export type AsrReply =
  | { op: 'ready'; name: string; batching: string }
  | { op: 'failed'; message: string }
  | { op: 'pong' }
  | { op: 'result'; sid: number; result: AsrResult; cpuMs: number; audioMs: number }
  | { op: 'usage'; sid: number; cpuMs: number; audioMs: number }
  | { op: 'error'; sid: number; message: string };
