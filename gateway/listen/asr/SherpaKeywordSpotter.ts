// Keyword-spotting backend: sherpa-onnx KeywordSpotter with the same stream shape as the recogniser; the
// "transcript" is the list of keyword phrases spotted in the utterance, in order.
import { existsSync } from 'node:fs';
import type { AsrEngine, AsrEngineSpec, EngineHyp, EngineStream } from './engine.js';
import { featConfig, modelConfig } from './modelConfig.js';
import { sherpa, type SherpaKeywordSpotterHandle, type SherpaOnlineStream } from './sherpa.js';

class SpotterStream implements EngineStream {
  private readonly s: SherpaOnlineStream;
  private readonly spotted: { keyword: string; tokens: string[]; startSec?: number; endSec?: number }[] = [];
  /** Samples fed: sherpa's hit timestamps restart after reset(), so hits are stamped on this clock instead. */
  private fed = 0;
  constructor(
    private readonly kws: SherpaKeywordSpotterHandle,
    private readonly rate: number,
  ) {
    this.s = kws.createStream();
  }
  accept(samples: Float32Array): void {
    this.s.acceptWaveform({ samples, sampleRate: this.rate });
    this.fed += samples.length;
  }
  isReady(): boolean {
    return this.kws.isReady(this.s);
  }
  decode(): void {
    this.kws.decode(this.s);
    const r = this.kws.getResult(this.s);
    if (r.keyword) {
      const ts = r.timestamps ?? [];
      // The hit is known once decoded up to (about) the audio fed so far; its own span gives the start.
      const endSec = this.fed / this.rate;
      const span = ts.length > 1 ? ts[ts.length - 1] - ts[0] : 0;
      this.spotted.push({ keyword: r.keyword, tokens: r.tokens ?? [], startSec: Math.max(0, endSec - span), endSec });
      // The spotter keeps reporting the same hit until reset; resetting also lets a later keyword be found.
      this.kws.reset(this.s);
    }
  }
  inputFinished(): void {
    this.s.inputFinished();
  }
  result(): EngineHyp {
    const keywords = this.spotted.map((k) => k.keyword);
    return {
      text: keywords.join(' '),
      tokens: this.spotted.flatMap((k) => k.tokens),
      keywords,
      hits: this.spotted.map((k) => ({ keyword: k.keyword, startSec: k.startSec, endSec: k.endSec })),
      startSec: this.spotted[0]?.startSec,
      endSec: this.spotted[this.spotted.length - 1]?.endSec,
    };
  }
}

export class SherpaKeywordSpotter implements AsrEngine {
  readonly name: string;
  /** Spotter streams are decoded one at a time: the addon has no batched keyword decode. */
  readonly dynamicBatch = false;
  private readonly kws: SherpaKeywordSpotterHandle;
  private readonly rate: number;

  constructor(spec: AsrEngineSpec) {
    if (!spec.entry.kws) throw new Error(`model ${spec.entry.id} is not marked kws-capable in the manifest`);
    const feat = featConfig(spec);
    this.rate = feat.sampleRate;
    const keywords: Record<string, unknown> = {};
    if (spec.keywordsFile) {
      if (!existsSync(spec.keywordsFile)) throw new Error(`keywords file ${spec.keywordsFile} does not exist`);
      keywords.keywordsFile = spec.keywordsFile;
    } else if (spec.keywords && spec.keywords.trim()) {
      const buf = spec.keywords.endsWith('\n') ? spec.keywords : `${spec.keywords}\n`;
      keywords.keywordsBuf = buf;
      keywords.keywordsBufSize = Buffer.byteLength(buf);
    } else throw new Error('KWS mode needs keywords (text or file)');
    this.kws = new (sherpa().KeywordSpotter)({
      featConfig: feat,
      modelConfig: modelConfig(spec, true),
      maxActivePaths: 4,
      numTrailingBlanks: spec.numTrailingBlanks ?? 1,
      keywordsScore: spec.keywordsScore ?? 1.0,
      keywordsThreshold: spec.keywordsThreshold ?? 0.25,
      ...keywords,
    });
    this.name = `sherpa-keyword-spotter:${spec.entry.id}`;
  }

  createStream(): EngineStream {
    return new SpotterStream(this.kws, this.rate);
  }
}
