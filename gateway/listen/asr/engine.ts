// What an ASR backend implements inside the inference worker. Plain data in and out, so a new backend is one new
// file plus one line in ./backends.ts; the worker owns threading, throttling, timing and error handling.
import type { ModelEntry } from '../../models.js';

/** Everything a backend needs to build itself; cloneable, so it travels as workerData. */
export interface AsrEngineSpec {
  mode: 'recognizer' | 'kws';
  entry: ModelEntry;
  /** Role → absolute path, from resolveModel(). */
  files: Record<string, string>;
  threads: number;
  /** KWS mode: keyword lines (`k ě y ǐ @可以`), or a path to a keywords file. */
  keywords?: string;
  keywordsFile?: string;
  keywordsThreshold?: number;
  keywordsScore?: number;
  numTrailingBlanks?: number;
  /**
   * Whether several streams may be decoded in one call. Resolved by the worker from the encoder's declared input
   * shape where it can be read, else taken from the manifest's `dynamicBatch`.
   */
  dynamicBatch: boolean;
}

/** A hypothesis as the backend sees it; times are seconds from the start of the utterance. */
export interface EngineHyp {
  text: string;
  tokens: string[];
  keywords?: string[];
  hits?: { keyword: string; startSec?: number; endSec?: number }[];
  startSec?: number;
  endSec?: number;
}

export interface EngineStream {
  accept(samples16k: Float32Array): void;
  /** Whether the stream holds enough features for one more decode step. */
  isReady(): boolean;
  /** One decode step of this stream alone. */
  decode(): void;
  /** Current hypothesis of the utterance so far (KWS: the keywords spotted so far). */
  result(): EngineHyp;
  /** Marks end of input; the stream is then decoded to the end and discarded. */
  inputFinished(): void;
}

export interface AsrEngine {
  readonly name: string;
  readonly dynamicBatch: boolean;
  createStream(): EngineStream;
  /** Decode several ready streams in one batched call. Only called when dynamicBatch is true. */
  decodeBatch?(streams: EngineStream[]): void;
}
