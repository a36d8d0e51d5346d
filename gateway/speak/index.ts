// Public API of speech output.
export type { TtsEngine, TtsLanguage, TtsSampleRate, SynthesizeOptions } from './tts/TtsEngine.js';
export { collectPcm } from './tts/TtsEngine.js';
export { TtsRegistry } from './tts/TtsRegistry.js';
export { TtsModelMissingError, TtsEngineNotFoundError, TtsLanguageError } from './tts/errors.js';
export { SyllableVoice, type SyllableVoiceOptions } from './tts/SyllableVoice.js';
export { EspeakEngine, EspeakError, type EspeakOptions } from './tts/EspeakEngine.js';
export { SherpaTtsEngine, resolveTtsModel, type SherpaTtsOptions } from './tts/SherpaTtsEngine.js';
export { buildSherpaTtsConfig, type SherpaOfflineTtsConfig, type SherpaTtsType } from './tts/sherpaTtsConfig.js';
export { normalizeZh, readInteger, readDigits, readDecimal } from './text/normalize.js';
export { toPinyin, toPinyinPhrases, parsePinyinPhrases, type PinyinPhrase, type Syllable, type PauseKind } from './text/pinyin.js';
export { importRecording, decodeToPcm, PromptImportError, type ImportedRecording } from './promptImport.js';
export { PromptCache, promptKey, type StreamedPrompt, type PromptSidecar } from './PromptCache.js';
export { renderTemplate, templateFixedParts, speakTemplate, TemplateError, type TemplateSegment } from './template.js';
export { TtsConfigSchema, parseTtsConfig, type TtsConfig } from './config.js';
export { createTtsRegistry } from './createTts.js';
