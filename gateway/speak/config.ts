// The `tts` section of the gateway config (free-form in gateway/config.ts, validated here).
import { z } from 'zod';

const EngineSpec = z.discriminatedUnion('type', [
  z.object({ type: z.literal('syllable'), id: z.string().default('syllable'), syllablesPerSecond: z.number().min(2).max(8).default(3) }),
  z.object({ type: z.literal('espeak'), id: z.string().default('espeak'), speed: z.number().int().min(80).max(400).default(150) }),
  z.object({
    type: z.literal('sherpa'),
    id: z.string().optional(),
    /** Model id in models/manifest.json (kind "tts"). */
    model: z.string(),
    lengthScale: z.number().min(0.3).max(3).default(1),
    speakerId: z.number().int().min(0).default(0),
    lang: z.string().optional(),
  }),
]);

export const TtsConfigSchema = z.object({
  engines: z.array(EngineSpec).default([{ type: 'syllable' } as never, { type: 'espeak' } as never]),
  defaults: z.object({ zh: z.string().default('syllable'), en: z.string().default('espeak') }).default({ zh: 'syllable', en: 'espeak' }),
  /** Memory bound of the prompt cache. */
  cacheMemoryMB: z.number().min(1).max(4096).default(64),
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
