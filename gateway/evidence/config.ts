// The `evidence` config section (free-form in gateway/config.ts, validated here).
import { z } from 'zod';

export const EvidenceConfigSchema = z.object({
  /**
   * Directory for utterance WAVs, relative to dataDir (kept relative so the data dir can be moved or copied to an
   * auditor as one unit; rows store paths relative to it).
   */
  audioDir: z
    .string()
    .regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/, 'a relative path without ".." segments')
    .default('evidence'),
  /** Database file; default `<dataDir>/earshot.db` (shared with the policy and call-record stores). */
  dbFile: z.string().optional(),
});

export type EvidenceConfig = z.infer<typeof EvidenceConfigSchema>;

export function parseEvidenceConfig(raw: unknown): EvidenceConfig {
  const r = EvidenceConfigSchema.safeParse(raw ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  evidence.${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid evidence configuration:\n${lines.join('\n')}`);
  }
  return r.data;
}
