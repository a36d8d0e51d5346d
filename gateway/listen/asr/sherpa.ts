// The sherpa-onnx-node addon is CommonJS without type declarations; this is the one place that loads it and the
// small typed surface the ASR backends use.
import { createRequire } from 'node:module';

export interface SherpaOnlineStream {
  acceptWaveform(w: { samples: Float32Array; sampleRate: number }): void;
  inputFinished(): void;
}

export interface SherpaOnlineResult {
  text: string;
  tokens: string[];
  timestamps: number[];
  /** Per token log-probability from the joiner (greedy and beam search alike; hotword boosts not included). */
  ys_probs?: number[];
  start_time?: number;
}

export interface SherpaKeywordResult {
  keyword: string;
  tokens: string[];
  timestamps: number[];
  start_time?: number;
}

interface Decoder<R> {
  createStream(): SherpaOnlineStream;
  isReady(s: SherpaOnlineStream): boolean;
  decode(s: SherpaOnlineStream): void;
  reset(s: SherpaOnlineStream): void;
  getResult(s: SherpaOnlineStream): R;
}

export interface SherpaOnlineRecognizerHandle extends Decoder<SherpaOnlineResult> {
  decodeStreams(s: SherpaOnlineStream[]): void;
}
export type SherpaKeywordSpotterHandle = Decoder<SherpaKeywordResult>;

interface SherpaModule {
  OnlineRecognizer: new (config: unknown) => SherpaOnlineRecognizerHandle;
  KeywordSpotter: new (config: unknown) => SherpaKeywordSpotterHandle;
}

let mod: SherpaModule | null = null;

export function sherpa(): SherpaModule {
  mod ??= createRequire(import.meta.url)('sherpa-onnx-node') as SherpaModule;
  return mod;
}
