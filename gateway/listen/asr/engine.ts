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
  /** Recogniser mode: how to search (default greedy, no biasing). */
  decoding?: DecodingSpec;
  /**
   * Recogniser mode: how to search streams opened for narrowband (8 kHz) calls, when that differs from `decoding` —
   * a second recogniser of the same model files (sherpa-onnx fixes the search per recogniser, not per stream).
   */
  narrowband?: DecodingSpec;
  /**
   * Further engines that decode the same audio in the same stream, as second opinions: a recogniser's result comes
   * back in `alternatives`, a keyword spotter's in `hits`. Each member is this spec with its own fields laid over it.
   */
  beside?: BesideSpec[];
  /**
   * Whether several streams may be decoded in one call. Resolved by the worker from the encoder's declared input
   * shape where it can be read, else taken from the manifest's `dynamicBatch`.
   */
  dynamicBatch: boolean;
}

/** A second opinion beside the main engine (same model files). */
export interface BesideSpec {
  mode: 'recognizer' | 'kws';
  decoding?: DecodingSpec;
  keywords?: string;
  keywordsThreshold?: number;
  keywordsScore?: number;
  numTrailingBlanks?: number;
  /**
   * Audio skipped at the start of every utterance before this member hears it, ms: the same answer cut at another
   * point of the encoder's chunk grid, which a chunked streaming model transcribes differently.
   */
  skipMs?: number;
}


/**
 * Recogniser search. Greedy is the cheapest; modified beam search keeps `maxActivePaths` hypotheses and is what
 * sherpa-onnx needs for contextual biasing: every phrase in `hotwords` (model tokens) gets `boost` added to each of
 * its tokens while a hypothesis follows it (taken back if the phrase is left unfinished).
 */
export interface DecodingSpec {
  method: 'greedy' | 'beam';
  maxActivePaths?: number;
  hotwords?: string[][];
  /** Log-probability added per matched hotword token. */
  boost?: number;
  /** Per hotword (same order as `hotwords`): its own boost instead of `boost`, e.g. refusals weighed above consents. */
  phraseBoosts?: number[];
}

/** A hypothesis as the backend sees it; times are seconds from the start of the utterance. */
export interface EngineHyp {
  text: string;
  tokens: string[];
  /** Per token: the model's log-probability of emitting it (without any hotword boost), where reported. */
  logProbs?: number[];
  /** Per token: emission time, seconds from the start of the utterance. */
  times?: number[];
  keywords?: string[];
  hits?: { keyword: string; startSec?: number; endSec?: number }[];
  startSec?: number;
  endSec?: number;
  /** Other recognisers' hypotheses of the same audio (engines beside the main one), times on this utterance's clock. */
  alternatives?: EngineHyp[];
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

export interface StreamOptions {
  /** Decode the engines configured beside the main one too (default true). */
  secondOpinions?: boolean;
  /** A narrowband call's stream: decoded with the spec's `narrowband` search where one is set. */
  narrowband?: boolean;
}

export interface AsrEngine {
  readonly name: string;
  readonly dynamicBatch: boolean;
  /** A stream for one utterance; `secondOpinions: false` leaves out any engines beside the main one. */
  createStream(options?: StreamOptions): EngineStream;
  /** Decode several ready streams in one batched call. Only called when dynamicBatch is true. */
  decodeBatch?(streams: EngineStream[]): void;
}
