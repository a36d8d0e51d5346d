// Streaming recogniser backend: sherpa-onnx OnlineRecognizer (transducer incl. zipformer2, paraformer,
// zipformer2 CTC), configured from the manifest entry alone.
import type { AsrEngine, AsrEngineSpec, EngineHyp, EngineStream } from './engine.js';
import { featConfig, modelConfig } from './modelConfig.js';
import { sherpa, type SherpaOnlineRecognizerHandle, type SherpaOnlineStream } from './sherpa.js';

class RecognizerStream implements EngineStream {
  readonly s: SherpaOnlineStream;
  constructor(
    private readonly rec: SherpaOnlineRecognizerHandle,
    private readonly rate: number,
    private readonly pinyinTokens: boolean,
  ) {
    this.s = rec.createStream();
  }
  accept(samples: Float32Array): void {
    this.s.acceptWaveform({ samples, sampleRate: this.rate });
  }
  isReady(): boolean {
    return this.rec.isReady(this.s);
  }
  decode(): void {
    this.rec.decode(this.s);
  }
  inputFinished(): void {
    this.s.inputFinished();
  }
  result(): EngineHyp {
    const r = this.rec.getResult(this.s);
    const tokens = r.tokens ?? [];
    // Pinyin models glue tokens into one unreadable string (`búshì`); consumers want the token text (`b ú sh ì`).
    const text = this.pinyinTokens ? tokens.join(' ') : r.text.trim();
    const ts = r.timestamps ?? [];
    const off = r.start_time ?? 0;
    return { text, tokens, startSec: ts.length ? off + ts[0] : undefined, endSec: ts.length ? off + ts[ts.length - 1] : undefined };
  }
}

export class SherpaOnlineRecognizer implements AsrEngine {
  readonly name: string;
  readonly dynamicBatch: boolean;
  private readonly rec: SherpaOnlineRecognizerHandle;
  private readonly rate: number;

  constructor(private readonly spec: AsrEngineSpec) {
    const feat = featConfig(spec);
    this.rate = feat.sampleRate;
    this.rec = new (sherpa().OnlineRecognizer)({
      featConfig: feat,
      modelConfig: modelConfig(spec, false),
      decodingMethod: 'greedy_search',
      // Utterance ends are decided by the gateway (VAD + consent end silence) and signalled by finish().
      enableEndpoint: 0,
    });
    this.dynamicBatch = spec.dynamicBatch;
    this.name = `sherpa-online-recognizer:${spec.entry.id}`;
  }

  createStream(): EngineStream {
    return new RecognizerStream(this.rec, this.rate, this.spec.entry.tokenType === 'pinyin-initial-final');
  }

  decodeBatch(streams: EngineStream[]): void {
    // Guard the process-aborting case even if a caller ignores dynamicBatch.
    if (!this.dynamicBatch && streams.length > 1) throw new Error('decodeBatch with a batch-1 model');
    this.rec.decodeStreams(streams.map((s) => (s as RecognizerStream).s));
  }
}
