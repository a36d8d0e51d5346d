// The ASR contract the rest of the gateway sees. Plain data only: results cross a worker boundary, and a new
// backend (one file implementing AsrEngine in ./engine.ts) must not change anything here.

export interface AsrResult {
  /**
   * Recogniser mode: the transcript. For pinyin-token models (`tokenType: 'pinyin-initial-final'`) this is the raw
   * space-separated token text (`b ú sh ì`), which is what the consent classifier consumes.
   * KWS mode: the spotted keyword phrases of this utterance, in order, space-separated.
   */
  text: string;
  /** Model tokens (KWS mode: the tokens of every spotted keyword, concatenated in order). */
  tokens: string[];
  /** Per token: the model's log-probability of emitting it (recogniser mode, where the backend reports it). */
  logProbs?: number[];
  /** Per token: stream audio time (ms since open) at which it was emitted. */
  tokenMs?: number[];
  /**
   * Other hypotheses of the same utterance from recognisers configured beside the main one (`asr` engines with
   * `beside`), best first; their text, tokens and times in the same form as the main result's.
   */
  alternatives?: AsrHypothesis[];
  /** KWS mode only: the spotted keyword phrases, in order. */
  keywords?: string[];
  /** Keyword hits with their stream audio time (ms since open), from KWS mode or a spotter beside the recogniser. */
  hits?: { keyword: string; startMs?: number; endMs?: number }[];
  final: boolean;
  /** Stream audio time (ms since the stream was opened) of the first / last token, when the model reports them. */
  startMs?: number;
  endMs?: number;
  /** Stream audio time (ms since open) up to which audio had been accepted when this result was produced. */
  audioMs?: number;
  /** Finals only: worker wall ms spent flushing the utterance (tail padding + decode) — the decode part of latency. */
  flushMs?: number;
  /** Set when the worker serving this stream failed; text is then empty and the utterance is lost. */
  error?: string;
}

/** One hypothesis of an utterance (the main result carries the same fields). */
export interface AsrHypothesis {
  text: string;
  tokens: string[];
  logProbs?: number[];
  tokenMs?: number[];
  startMs?: number;
  endMs?: number;
}

export interface AsrStreamStats {
  /** Audio accepted by this stream, ms. */
  audioMs: number;
  /** Worker CPU spent decoding this stream, ms (thread CPU where the OS reports it, else decode wall time). */
  cpuMs: number;
  /** cpuMs per second of audio: the per-call recogniser cost. */
  cpuMsPerAudioSec: number;
}

/**
 * What the ASR worker does to one accepted chunk before its recogniser hears it (plain data: it travels with the
 * audio). `extendBandwidth`: a narrowband chunk with a 4–8 kHz band added, `db` relative to its rectified 2–4 kHz
 * band (gateway/audio/bandwidth.ts) — two 63-tap filters, worker CPU rather than the event loop's.
 */
export type AudioTransform = { kind: 'extendBandwidth'; db: number };

export interface AsrStream {
  readonly callId: string;
  /**
   * 16 kHz mono float samples in [-1, 1]. The buffer is transferred to the worker: do not reuse it. `transform`: the
   * worker applies it to these samples as one segment (zeros beyond its ends) before the recogniser hears them; a
   * transformed chunk is never joined with the stream's other audio.
   */
  accept(samples16k: Float32Array, transform?: AudioTransform): void;
  /** End of utterance: flush and emit a final result, then start a new utterance on the same stream. */
  finish(): void;
  /** Drop the current utterance without a final, start a new one. */
  reset(): void;
  onResult(cb: (r: AsrResult) => void): void;
  stats(): AsrStreamStats;
  close(): void;
}

export interface AsrPoolStats {
  model: string;
  mode: 'recognizer' | 'kws';
  workers: number;
  /** Workers currently loaded and serving. */
  readyWorkers: number;
  restarts: number;
  openStreams: number;
  /** Totals over every stream ever opened on this pool. */
  audioMs: number;
  cpuMs: number;
  cpuMsPerAudioSec: number;
  /** What the workers run: the main engine and any second opinions beside it. */
  engine: string;
  /** Per worker: streams assigned now, and how its model decodes (batch size check result). */
  /** `pid`: the worker's helper process (asr.host `process`). */
  perWorker: { streams: number; ready: boolean; batching: string; pid?: number }[];
  /** Requests (audio, finish, …) made of the pool, and the messages that carried them to the workers. */
  requests: number;
  messages: number;
}

export interface AsrStreamOptions {
  /**
   * Decode the second opinions configured beside the recogniser (`asr` pool `beside`) on this stream too, and return
   * them as `alternatives` / `hits`. Default true; a caller that needs only a transcript saves their CPU with false.
   */
  secondOpinions?: boolean;
  /** A narrowband (8 kHz) call's stream: decoded with the pool's `narrowband` search where one is configured. */
  narrowband?: boolean;
  /**
   * Finals (finish()) of streams with a lower number are decoded before those of others, and every final before
   * streaming decode. Default 1; a consent answer, whose decision waits on its final, is 0.
   */
  priority?: number;
}

export interface AsrPool {
  /** A stream for a call: feed an utterance, finish() it, get a final result; then the next utterance. */
  open(callId: string, options?: AsrStreamOptions): AsrStream;
  stats(): AsrPoolStats;
  close(): Promise<void>;
}
