// Builds the registry from the validated `tts` config section: one place that knows every engine type.
import type { Config } from '../config.js';
import { parseTtsConfig } from './config.js';
import { EspeakEngine } from './tts/EspeakEngine.js';
import { SherpaTtsEngine } from './tts/SherpaTtsEngine.js';
import { SyllableVoice } from './tts/SyllableVoice.js';
import { TtsModelMissingError } from './tts/errors.js';
import { TtsRegistry } from './tts/TtsRegistry.js';

/**
 * `onUnavailable`: when given, an engine whose voice/model files are missing is skipped (and reported there)
 * instead of failing the whole registry, so a gateway without the syllable voice still speaks through espeak-ng.
 */
export function createTtsRegistry(
  config: Pick<Config, 'tts' | 'dataDir' | 'modelsDir'>,
  opts: { onUnavailable?: (engineId: string, err: Error) => void } = {},
): TtsRegistry {
  const tts = parseTtsConfig(config.tts);
  const reg = new TtsRegistry();
  for (const spec of tts.engines) {
    try {
      if (spec.type === 'syllable') reg.register(new SyllableVoice({ dataDir: config.dataDir, modelsDir: config.modelsDir, syllablesPerSecond: spec.syllablesPerSecond }));
      else if (spec.type === 'espeak') reg.register(new EspeakEngine({ speed: spec.speed }));
      else reg.register(new SherpaTtsEngine(spec.model, { id: spec.id, modelsDir: config.modelsDir, lengthScale: spec.lengthScale, speakerId: spec.speakerId, lang: spec.lang }));
    } catch (e) {
      if (!opts.onUnavailable || !(e instanceof TtsModelMissingError)) throw e;
      opts.onUnavailable(spec.id ?? spec.type, e);
    }
  }
  for (const [lang, id] of Object.entries(tts.defaults) as ['zh' | 'en', string][]) {
    if (reg.ids().includes(id)) reg.setDefault(lang, id);
  }
  return reg;
}
