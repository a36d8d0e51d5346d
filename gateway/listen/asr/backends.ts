// Backend registry: mode + manifest engine → AsrEngine. A new backend is one file and one line here.
import type { AsrEngine, AsrEngineSpec } from './engine.js';
import { SherpaKeywordSpotter } from './SherpaKeywordSpotter.js';
import { SherpaOnlineRecognizer } from './SherpaOnlineRecognizer.js';

const SHERPA_ONLINE = new Set(['sherpa-online-transducer', 'sherpa-online-paraformer', 'sherpa-online-zipformer2-ctc']);

export function createEngine(spec: AsrEngineSpec): AsrEngine {
  const engine = spec.entry.engine ?? '';
  if (spec.mode === 'kws' && engine === 'sherpa-online-transducer') return new SherpaKeywordSpotter(spec);
  if (spec.mode === 'recognizer' && SHERPA_ONLINE.has(engine)) return new SherpaOnlineRecognizer(spec);
  throw new Error(`no ASR backend for model ${spec.entry.id} (engine "${engine}") in ${spec.mode} mode`);
}
