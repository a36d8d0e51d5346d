// Builds the registry from the validated `tts` config section: one place that knows every engine type.
import type { Config } from '../config.js';
import { parseTtsConfig } from './config.js';
import { EspeakEngine } from './tts/EspeakEngine.js';
import { SherpaTtsEngine } from './tts/SherpaTtsEngine.js';
import { SyllableVoice } from './tts/SyllableVoice.js';
import { TtsRegistry } from './tts/TtsRegistry.js';

export function createTtsRegistry(config: Pick<Config, 'tts' | 'dataDir' | 'modelsDir'>): TtsRegistry {
  const tts = parseTtsConfig(config.tts);
  const reg = new TtsRegistry();
  for (const spec of tts.engines) {
    if (spec.type === 'syllable') reg.register(new SyllableVoice({ dataDir: config.dataDir, modelsDir: config.modelsDir, syllablesPerSecond: spec.syllablesPerSecond }));
    else if (spec.type === 'espeak') reg.register(new EspeakEngine({ speed: spec.speed }));
    else reg.register(new SherpaTtsEngine(spec.model, { id: spec.id, modelsDir: config.modelsDir, lengthScale: spec.lengthScale, speakerId: spec.speakerId, lang: spec.lang }));
  }
  for (const [lang, id] of Object.entries(tts.defaults) as ['zh' | 'en', string][]) {
    if (reg.ids().includes(id)) reg.setDefault(lang, id);
  }
  return reg;
}
