// The `tts` section of the gateway config (composed into gateway/config.ts, so checked when the configuration loads).
import { z } from 'zod';

const engineId = (fallback: string) => z.string().default(fallback).describe('The id `voice` and `tts.defaults` name it by.');

const EngineSpec = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('syllable').describe('Mandarin syllable voice: recorded pinyin syllables joined (no model needed).'),
    id: engineId('syllable'),
    syllablesPerSecond: z.number().min(2).max(8).default(3).describe('Speaking rate.'),
  }),
  z.strictObject({
    type: z.literal('espeak').describe('espeak-ng (the Debian package), any language it speaks.'),
    id: engineId('espeak'),
    speed: z.number().int().min(80).max(400).default(150).describe('Words per minute.'),
  }),
  z.strictObject({
    type: z.literal('sherpa').describe('A sherpa-onnx neural voice (VITS, Matcha, Kokoro …) from models/manifest.json.'),
    id: z.string().optional().describe('The id it is named by; default: its model id.'),
    model: z.string().describe('Model id in models/manifest.json (kind "tts").'),
    lengthScale: z.number().min(0.3).max(3).default(1).describe('Duration scale: above 1 slower, below 1 faster.'),
    speakerId: z.number().int().min(0).default(0).describe('Speaker of a multi-speaker model.'),
    lang: z.string().optional().describe("Language the voice speaks, when the manifest entry does not say."),
  }),
]);

export const TtsConfigSchema = z.strictObject({
  engines: z
    .array(EngineSpec)
    .prefault([{ type: 'syllable' }, { type: 'espeak' }])
    .describe('The TTS engines to load; one that cannot load is logged and left out.'),
  defaults: z
    .strictObject({
      zh: z.string().default('syllable').describe('Engine id for Mandarin calls.'),
      en: z.string().default('espeak').describe('Engine id for English calls.'),
    })
    .default({ zh: 'syllable', en: 'espeak' })
    .describe('The engine of each language when neither the call nor its script names one.'),
  cacheMemoryMB: z.number().min(1).max(4096).default(64).describe('Memory bound of the prompt cache.'),
});

export type TtsConfig = z.infer<typeof TtsConfigSchema>;
export type TtsEngineSpec = z.infer<typeof EngineSpec>;

export function parseTtsConfig(section: Record<string, unknown>): TtsConfig {
  const r = TtsConfigSchema.safeParse(section);
  if (!r.success) {
    throw new Error(`invalid tts configuration:\n${r.error.issues.map((i) => `  tts.${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  return r.data;
}
