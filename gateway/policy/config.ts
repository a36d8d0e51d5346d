// The `policy` config section (free-form in gateway/config.ts, validated here). Defaults encode the rules we ship.
import { z } from 'zod';

const HhMm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'HH:MM, 00:00–24:00');

const Window = z.object({ start: HhMm, end: HhMm });

const Cap = z.object({ max: z.number().int().min(0), windowHours: z.number().positive().max(24 * 366) });

function validZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const Zone = z.string().refine(validZone, 'unknown IANA time zone');

export const PolicyConfigSchema = z.object({
  /** Zone used when the request has none and the number's country code is not in the table (or has no '+'). */
  defaultTimeZone: Zone.default('Asia/Shanghai'),
  /**
   * Whether the do-not-call list also blocks notification calls. Default false: a callee who refused marketing (or
   * complained about it) has not thereby refused a delivery or appointment notification they are owed. Set true
   * where local rules treat any unwanted call alike.
   */
  dncBlocksNotifications: z.boolean().default(false),
  /** Calls without a (valid) callee number cannot be checked against the DNC list or caps, so they are refused. */
  requireCallee: z.boolean().default(true),
  /** Rolling-window caps per callee and call type; counted from attempts recorded at call start. */
  caps: z
    .object({
      marketing: z.array(Cap).default([
        { max: 1, windowHours: 24 },
        { max: 3, windowHours: 24 * 7 },
      ]),
      notification: z.array(Cap).default([{ max: 5, windowHours: 24 }]),
    })
    .default({
      marketing: [
        { max: 1, windowHours: 24 },
        { max: 3, windowHours: 24 * 7 },
      ],
      notification: [{ max: 5, windowHours: 24 }],
    }),
  /** Local-time windows [start, end) in the callee's zone. start > end spans midnight. */
  hours: z
    .object({
      marketing: Window.default({ start: '09:00', end: '20:00' }),
      notification: Window.default({ start: '08:00', end: '21:00' }),
    })
    .default({ marketing: { start: '09:00', end: '20:00' }, notification: { start: '08:00', end: '21:00' } }),
  /** Extra or overriding E.164 country-code → zone entries, e.g. { "+1": "America/Chicago" }. */
  countryTimeZones: z.record(z.string().regex(/^\+\d{1,4}$/), Zone).default({}),
});

export type PolicyConfig = z.infer<typeof PolicyConfigSchema>;

export function parsePolicyConfig(raw: unknown): PolicyConfig {
  const r = PolicyConfigSchema.safeParse(raw ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  policy.${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid policy configuration:\n${lines.join('\n')}`);
  }
  return r.data;
}
