// Streaming recogniser backend: sherpa-onnx OnlineRecognizer (transducer incl. zipformer2, paraformer,
// zipformer2 CTC), configured from the manifest entry alone, with greedy or modified beam search and optional
// contextual biasing (hotwords) for transducers.
import type { AsrEngine, AsrEngineSpec, DecodingSpec, EngineHyp, EngineStream } from './engine.js';
import { featConfig, modelConfig } from './modelConfig.js';
import { sherpa, type SherpaOnlineRecognizerHandle, type SherpaOnlineStream } from './sherpa.js';
import { TokenAliases } from './tokenAliases.js';

class RecognizerStream implements EngineStream {
  readonly s: SherpaOnlineStream;
  constructor(
    private readonly rec: SherpaOnlineRecognizerHandle,
    private readonly rate: number,
    private readonly pinyinTokens: boolean,
    private readonly aliases: TokenAliases | null,
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
    const a = this.aliases;
    const tokens = a ? (r.tokens ?? []).map((t) => a.token(t)) : (r.tokens ?? []);
    // Pinyin models glue tokens into one unreadable string (`búshì`); consumers want the token text (`b ú sh ì`).
    const text = this.pinyinTokens || a ? tokens.join(this.pinyinTokens ? ' ' : '') : r.text.trim();
    const ts = r.timestamps ?? [];
    const off = r.start_time ?? 0;
    const hyp: EngineHyp = { text, tokens, startSec: ts.length ? off + ts[0] : undefined, endSec: ts.length ? off + ts[ts.length - 1] : undefined };
    if (ts.length === tokens.length && ts.length) hyp.times = ts.map((t) => off + t);
    if (r.ys_probs && r.ys_probs.length === tokens.length && tokens.length) hyp.logProbs = r.ys_probs;
    return hyp;
  }
}

/** sherpa-onnx OnlineRecognizer settings for a search spec (hotwords only on transducers, through token aliases). */
export function searchConfig(spec: AsrEngineSpec, d: DecodingSpec | undefined): { config: Record<string, unknown>; aliases: TokenAliases | null; hotwords: number; skipped: string[] } {
  if (!d || d.method === 'greedy') {
    if (d?.hotwords?.length) throw new Error('hotwords need beam search (decoding.method "beam")');
    return { config: { decodingMethod: 'greedy_search' }, aliases: null, hotwords: 0, skipped: [] };
  }
  const config: Record<string, unknown> = { decodingMethod: 'modified_beam_search', maxActivePaths: d.maxActivePaths ?? 4 };
  if (!d.hotwords?.length) return { config, aliases: null, hotwords: 0, skipped: [] };
  if (spec.entry.engine !== 'sherpa-online-transducer') throw new Error(`model ${spec.entry.id}: hotwords need a transducer, not ${spec.entry.engine}`);
  const tokensPath = spec.files.tokens;
  if (!tokensPath) throw new Error(`model ${spec.entry.id}: no tokens file`);
  const aliases = TokenAliases.fromFile(tokensPath);
  const hw = aliases.hotwords(d.hotwords, d.phraseBoosts);
  if (hw.count === 0) return { config, aliases: null, hotwords: 0, skipped: hw.skipped };
  Object.assign(config, { hotwordsBuf: hw.text, hotwordsBufSize: Buffer.byteLength(hw.text), hotwordsScore: d.boost ?? 1.5 });
  return { config, aliases, hotwords: hw.count, skipped: hw.skipped };
}

export class SherpaOnlineRecognizer implements AsrEngine {
  readonly name: string;
  readonly dynamicBatch: boolean;
  private readonly rec: SherpaOnlineRecognizerHandle;
  private readonly rate: number;
  private readonly aliases: TokenAliases | null;

  constructor(private readonly spec: AsrEngineSpec) {
    const feat = featConfig(spec);
    this.rate = feat.sampleRate;
    const search = searchConfig(spec, spec.decoding);
    this.aliases = search.aliases;
    const model = modelConfig(spec, false);
    if (this.aliases) {
      // The renamed table replaces the file (same ids); sherpa reads one or the other.
      delete model.tokens;
      Object.assign(model, { tokensBuf: this.aliases.tokensBuf, tokensBufSize: Buffer.byteLength(this.aliases.tokensBuf) });
    }
    this.rec = new (sherpa().OnlineRecognizer)({
      featConfig: feat,
      modelConfig: model,
      ...search.config,
      // Utterance ends are decided by the gateway (VAD + consent end silence) and signalled by finish().
      enableEndpoint: 0,
    });
    this.dynamicBatch = spec.dynamicBatch;
    const d = spec.decoding;
    const most = d?.phraseBoosts?.length ? Math.max(...d.phraseBoosts) : undefined;
    const boosts = most !== undefined && most !== (d?.boost ?? 1.5) ? ` (up to +${most})` : '';
    const how = d?.method === 'beam' ? `beam ${d.maxActivePaths ?? 4}${search.hotwords ? `, ${search.hotwords} hotwords +${d.boost ?? 1.5}${boosts}` : ''}` : 'greedy';
    this.name = `sherpa-online-recognizer:${spec.entry.id} (${how})`;
  }

  createStream(): EngineStream {
    return new RecognizerStream(this.rec, this.rate, this.spec.entry.tokenType === 'pinyin-initial-final', this.aliases);
  }

  decodeBatch(streams: EngineStream[]): void {
    // Guard the process-aborting case even if a caller ignores dynamicBatch.
    if (!this.dynamicBatch && streams.length > 1) throw new Error('decodeBatch with a batch-1 model');
    this.rec.decodeStreams(streams.map((s) => (s as RecognizerStream).s));
  }
}
