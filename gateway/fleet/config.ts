// The `database` and `fleet` config sections (composed into gateway/config.ts, so checked when the configuration
// loads and listed in docs/configuration.md).
import { z } from 'zod';

export const DatabaseConfigSchema = z.strictObject({
  url: z
    .string()
    .refine((u) => /^postgres(ql)?:\/\/[^\s]+$/.test(u), 'must be a postgres:// or postgresql:// URL')
    .optional()
    .describe(
      'postgres://user:password@host:port/db (PostgreSQL 15 or newer): every shared store (do-not-call, attempts, ' +
        'call records, approved scripts, recorded prompts, consent evidence) and the call directory move there. ' +
        'Unset: embedded SQLite in dataDir. Never logged with its password.',
    ),
  poolSize: z.number().int().min(1).max(200).default(10).describe('Connections this instance keeps to PostgreSQL.'),
  connectTimeoutMs: z.number().int().min(100).max(60000).default(3000).describe(
    'A call start waits at most this for a connection before it is refused `policy_unavailable`.',
  ),
  statementTimeoutMs: z.number().int().min(100).max(600000).default(5000).describe(
    'Longest one statement may run on the gateway\'s connections (the CLI\'s exports have none).',
  ),
});

export const FleetConfigSchema = z.strictObject({
  instanceId: z.string().min(1).max(200).optional().describe(
    'This instance\'s id in the call directory (a pod name); default host-pid-random.',
  ),
  advertiseUrl: z.url({ protocol: /^https?$/ }).optional().describe(
    'Where other instances reach this one (http://10.0.0.5:8080); default http://<host>:<port> when `host` names ' +
      'an address, else http://<hostname>:<port>. Control ' +
      'requests and event streams for calls held here are forwarded to it.',
  ),
  heartbeatMs: z.number().int().min(100).max(60000).default(5000).describe(
    'How often this instance renews its call-directory entries.',
  ),
  expireMs: z.number().int().min(300).max(300000).default(15000).describe(
    'An instance silent this long is dead: its calls leave the directory (at least twice heartbeatMs).',
  ),
});

export type DatabaseConfig = z.infer<typeof DatabaseConfigSchema>;
export type FleetConfig = z.infer<typeof FleetConfigSchema>;
