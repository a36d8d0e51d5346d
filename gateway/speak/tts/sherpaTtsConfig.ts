// Manifest entry → sherpa-onnx-node OfflineTts config. Field names follow sherpa-onnx-node 1.13.8
// (types.js: OfflineTtsVitsModelConfig / Matcha / Kokoro / Kitten). Kept apart from the engine so the mapping is
// unit-tested without any model present.
//
// Adding a voice: add an entry to models/manifest.json with kind "tts", engine "sherpa-offline-tts", ttsType one of
// vits|matcha|kokoro|kitten, `dir` (the folder inside the release archive) and `files` keyed by the config field
// names used below (model, lexicon, tokens, dataDir, acousticModel, vocoder, voices, ruleFsts), then
// `npm run models -- <id>` and set `tts.engines: [{ id: <id>, type: 'sherpa', model: <id> }]` in the config.
import type { ResolvedModel } from '../../models.js';

export type SherpaTtsType = 'vits' | 'matcha' | 'kokoro' | 'kitten';

export interface SherpaTtsTuning {
  numThreads?: number;
  /** < 1 speaks faster (sherpa lengthScale). */
  lengthScale?: number;
  /** Kokoro multi-lingual voices need the language of the text, e.g. 'zh' or 'en-us'. */
  lang?: string;
}

export interface SherpaOfflineTtsConfig {
  model: Record<string, Record<string, string | number>>;
  numThreads: number;
  provider: 'cpu';
  maxNumSentences: number;
  debug: number;
  ruleFsts?: string;
}

export function buildSherpaTtsConfig(m: ResolvedModel, tuning: SherpaTtsTuning = {}): SherpaOfflineTtsConfig {
  const type = m.entry.ttsType as SherpaTtsType | undefined;
  const f = m.files;
  const opt = (k: string): Record<string, string> => (f[k] ? { [k]: f[k] } : {});
  const lengthScale = tuning.lengthScale ?? 1.0;
  let model: Record<string, string | number>;
  switch (type) {
    case 'vits':
      model = { model: f.model, tokens: f.tokens, ...opt('lexicon'), ...opt('dataDir'), noiseScale: 0.667, noiseScaleW: 0.8, lengthScale };
      break;
    case 'matcha':
      // `dictDir` (jieba dictionary of older releases) is not a field of 1.13.8: the library segments by itself.
      model = { acousticModel: f.acousticModel, vocoder: f.vocoder, tokens: f.tokens, ...opt('lexicon'), ...opt('dataDir'), noiseScale: 0.667, lengthScale };
      break;
    case 'kokoro':
      model = { model: f.model, voices: f.voices, tokens: f.tokens, dataDir: f.dataDir, ...opt('lexicon'), lengthScale, ...(tuning.lang ? { lang: tuning.lang } : {}) };
      break;
    case 'kitten':
      model = { model: f.model, voices: f.voices, tokens: f.tokens, dataDir: f.dataDir, lengthScale };
      break;
    default:
      throw new Error(`model "${m.entry.id}" has ttsType "${String(type)}"; supported: vits, matcha, kokoro, kitten`);
  }
  for (const [k, v] of Object.entries(model)) {
    if (v === undefined) throw new Error(`model "${m.entry.id}" (${type}) needs a "${k}" file in its manifest entry`);
  }
  return {
    model: { [type]: model },
    numThreads: tuning.numThreads ?? 1,
    provider: 'cpu',
    // One sentence per generate call: we already split text so the first sentence streams out early.
    maxNumSentences: 1,
    debug: 0,
    // Text-normalisation FSTs shipped with some Chinese voices (numbers, dates) live at the top level.
    ...(f.ruleFsts ? { ruleFsts: f.ruleFsts } : {}),
  } as SherpaOfflineTtsConfig;
}
