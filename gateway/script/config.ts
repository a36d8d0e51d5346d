// The `scripts` section of the gateway config (composed into gateway/config.ts, so checked when the configuration loads).
import { z } from 'zod';

export const ScriptsConfigSchema = z
  .object({
    freeTextCallTypes: z.array(z.enum(['marketing', 'notification'])).default(['notification']).describe(
      'Call types on which a client may `say` text that is not a prompt of the call\'s approved script.',
    ),
    rawAudioCallTypes: z.array(z.enum(['marketing', 'notification'])).default(['notification']).describe(
      'Call types on which a client may `play` audio (inline or a recorded prompt). Audio cannot be checked ' +
        'against an approved script\'s wording, so by default a marketing call speaks only through `say` of its ' +
        'approved lines.',
    ),
    requireScriptFor: z.array(z.enum(['marketing', 'notification'])).default([]).describe(
      'Call types that must name an approved script in their start message.',
    ),
    warmOnStart: z.boolean().default(true).describe(
      'Render every approved script\'s fixed prompt text into the prompt cache when the gateway starts.',
    ),
    answerGraceMs: z.number().int().min(0).max(30000).default(3000).describe(
      'Extra time after a listen window before the runner itself decides "no answer" (the recogniser decides ' +
        'first).',
    ),
  })
  .strict();

export type ScriptsConfig = z.infer<typeof ScriptsConfigSchema>;

export function parseScriptsConfig(raw: unknown): ScriptsConfig {
  const r = ScriptsConfigSchema.safeParse(raw ?? {});
  if (!r.success) {
    throw new Error(`invalid scripts configuration:\n${r.error.issues.map((i) => `  scripts.${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  return r.data;
}
