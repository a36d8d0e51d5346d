// Backend registry: mode + manifest engine → AsrEngine. A new backend is one file and one line here.
import type { AsrEngine, AsrEngineSpec, EngineStream, StreamOptions } from './engine.js';
import { Ensemble } from './Ensemble.js';
import { SherpaKeywordSpotter } from './SherpaKeywordSpotter.js';
import { SherpaOnlineRecognizer } from './SherpaOnlineRecognizer.js';

const SHERPA_ONLINE = new Set(['sherpa-online-transducer', 'sherpa-online-paraformer', 'sherpa-online-zipformer2-ctc']);

function single(spec: AsrEngineSpec): AsrEngine {
  const engine = spec.entry.engine ?? '';
  if (spec.mode === 'kws' && engine === 'sherpa-online-transducer') return new SherpaKeywordSpotter(spec);
  if (spec.mode === 'recognizer' && SHERPA_ONLINE.has(engine)) return new SherpaOnlineRecognizer(spec);
  throw new Error(`no ASR backend for model ${spec.entry.id} (engine "${engine}") in ${spec.mode} mode`);
}

export function createEngine(spec: AsrEngineSpec): AsrEngine {
  const { narrowband, ...wide } = spec;
  if (narrowband && spec.mode === 'recognizer') return new RateSplit(withBeside(wide), withBeside({ ...wide, decoding: narrowband }));
  return withBeside(wide);
}

/**
 * Two engines of the same model, one for wideband calls' streams and one for narrowband calls' (another search):
 * each stream is created and batch-decoded by the engine it belongs to.
 */
export class RateSplit implements AsrEngine {
  readonly name: string;
  readonly dynamicBatch: boolean;
  private readonly narrowStreams = new WeakSet<EngineStream>();

  constructor(
    private readonly wide: AsrEngine,
    private readonly narrow: AsrEngine,
  ) {
    this.name = `${wide.name}; 8 kHz calls: ${narrow.name}`;
    this.dynamicBatch = wide.dynamicBatch && narrow.dynamicBatch;
    if (this.dynamicBatch) this.decodeBatch = (streams) => this.batch(streams);
  }

  decodeBatch?: (streams: EngineStream[]) => void;

  createStream(options: StreamOptions = {}): EngineStream {
    if (!options.narrowband) return this.wide.createStream(options);
    const s = this.narrow.createStream(options);
    this.narrowStreams.add(s);
    return s;
  }

  private batch(streams: EngineStream[]): void {
    const narrow = streams.filter((s) => this.narrowStreams.has(s));
    const wide = streams.filter((s) => !this.narrowStreams.has(s));
    if (wide.length) this.wide.decodeBatch!(wide);
    if (narrow.length) this.narrow.decodeBatch!(narrow);
  }
}

function withBeside(spec: AsrEngineSpec): AsrEngine {
  if (!spec.beside?.length) return single(spec);
  const rate = spec.entry.sampleRate ?? 16000;
  const { beside, ...base } = spec;
  const members = beside.map((b) => {
    const { skipMs, ...own } = b;
    // A member gets only its own search settings: the main engine's decoding or keywords do not leak into it.
    const member: AsrEngineSpec = { ...base, decoding: undefined, keywords: undefined, keywordsFile: undefined, ...own, dynamicBatch: false };
    return { engine: single(member), skip: Math.round(((skipMs ?? 0) * rate) / 1000) };
  });
  return new Ensemble(single({ ...base, dynamicBatch: false }), members, rate);
}
