// The `evidence` config section (composed into gateway/config.ts, so checked when the configuration loads).
import { z } from 'zod';

export const EvidenceConfigSchema = z.strictObject({
  audioDir: z
    .string()
    .regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/, 'a relative path without ".." segments')
    .default('evidence')
    .describe(
      'Directory for utterance WAVs, relative to dataDir (kept relative so the data dir can be moved or copied to ' +
        'an auditor as one unit; rows store paths relative to it).',
    ),
  dbFile: z.string().optional().describe(
    'Database file; default `<dataDir>/earshot.db` (shared with the policy and call-record stores).',
  ),
  keyFile: z.string().min(1).optional().describe(
    'File with the MAC key(s), hex, newest first. Default: `evidence.key` beside the database file, created ' +
      '(0600) on the first start. EARSHOT_EVIDENCE_KEY, when set, wins over both.',
  ),
  checkpointFile: z.string().min(1).optional().describe(
    'Append-only file the signed checkpoints of the chain head go to. Default: `evidence-checkpoints.jsonl` ' +
      'beside the database file. Point it at storage the gateway cannot rewrite (README.md).',
  ),
  checkpointEvery: z.number().int().min(1).max(100_000).default(1).describe(
    'A checkpoint after every this many records (and at start and shutdown). 1: after every record, coalesced.',
  ),
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
