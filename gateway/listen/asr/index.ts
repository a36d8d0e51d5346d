// Streaming speech recognition off the event loop. Start a pool once per process, open one stream per call.
import { availableParallelism } from 'node:os';
import type { Config } from '../../config.js';
import { AsrWorkerPool, type AsrPoolOptions } from '../../infer/AsrWorkerPool.js';

export type { AsrHypothesis, AudioTransform, AsrPool, AsrPoolStats, AsrResult, AsrStream, AsrStreamOptions, AsrStreamStats } from './types.js';
export type { AsrEngine, AsrEngineSpec, BesideSpec, DecodingSpec, EngineHyp, EngineStream, StreamOptions } from './engine.js';
export { transformAudio } from './transform.js';
export { tokensToSyllables, syllableErrorRate, splitTone, type Syllables } from './syllables.js';
export { AsrWorkerPool, type AsrPoolOptions };

/** Pool from the `asr` config section; `extra` carries what config does not (keywords, tuning, test overrides). */
export function startAsrPool(config: Pick<Config, 'asr' | 'modelsDir'>, extra: Partial<AsrPoolOptions> = {}): Promise<AsrWorkerPool> {
  return AsrWorkerPool.start({
    model: config.asr.model,
    mode: config.asr.mode,
    workers: config.asr.workers ?? availableParallelism(),
    threads: config.asr.threads,
    host: config.asr.host,
    modelsDir: config.modelsDir,
    ...extra,
  });
}
