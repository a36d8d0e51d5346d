// The `policy` config section (composed into gateway/config.ts, so checked when the configuration loads). Defaults
// encode the rules we ship; gateway/policy/README.md explains each one. Unknown keys are refused: a misspelt
// compliance setting must stop the start, not be ignored.
import { z } from 'zod';
import { isCountryCode, type CountryCode } from './number.js';
import { isTimeZone } from './timeZone.js';

const HhMm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'HH:MM, 00:00–24:00');

const Window = z.object({ start: HhMm.describe('Local time the window opens, HH:MM.'), end: HhMm.describe('Local time it closes (exclusive), HH:MM; 24:00 is midnight.') });

const Cap = z.object({
  max: z.number().int().min(0).describe('Attempts allowed in the window.'),
  windowHours: z.number().positive().max(24 * 366).describe('The rolling window, hours.'),
});

const Zone = z.string().refine(isTimeZone, 'unknown IANA time zone');

const Country = z
  .string()
  .refine(isCountryCode, 'an ISO 3166 country code libphonenumber knows, e.g. CN')
  .transform((c) => c as CountryCode);

export const PolicyConfigSchema = z
  .object({
    defaultCountry: Country.default('CN').describe(
      'Country whose numbering plan digits-only numbers are read in (13800138000 → +8613800138000).',
    ),
    defaultTimeZone: Zone.default('Asia/Shanghai').describe(
      'Zone for a call whose number has no country (+800 …) or that has no callee (see withoutCallee).',
    ),
    dncBlocksNotifications: z.boolean().default(false).describe(
      'Whether the do-not-call list also blocks notification calls. Default false: a callee who refused marketing ' +
        '(or complained about it) has not thereby refused a delivery or appointment notification they are owed. Set ' +
        'true where local rules treat any unwanted call alike.',
    ),
    withoutCallee: z
      .object({
        marketing: z.enum(['refuse', 'within_hours']).default('refuse').describe('A marketing call without a callee.'),
        notification: z.enum(['refuse', 'within_hours', 'any_time']).default('within_hours').describe('A notification call without a callee.'),
      })
      .default({ marketing: 'refuse', notification: 'within_hours' })
      .describe(
        'What a call without a callee number may do; without a number neither the DNC list nor the caps can be ' +
          'checked. `refuse`; `within_hours`: only inside that call type\'s hours in defaultTimeZone (and in the ' +
          'requested timeZone, if any); `any_time` (notifications only): no check at all, for emergency-alert ' +
          'deployments.',
      ),
    caps: z
      .object({
        marketing: z
          .array(Cap)
          .describe('Caps on marketing calls to one number.')
          .default([
            { max: 1, windowHours: 24 },
            { max: 3, windowHours: 24 * 7 },
          ]),
        notification: z.array(Cap).describe('Caps on notification calls to one number.').default([{ max: 5, windowHours: 24 }]),
      })
      .default({
        marketing: [
          { max: 1, windowHours: 24 },
          { max: 3, windowHours: 24 * 7 },
        ],
        notification: [{ max: 5, windowHours: 24 }],
      })
      .describe('Rolling-window caps per callee and call type; counted from attempts recorded at call start.'),
    hours: z
      .object({
        marketing: Window.default({ start: '09:00', end: '20:00' }).describe('When marketing calls may ring.'),
        notification: Window.default({ start: '08:00', end: '21:00' }).describe('When notification calls may ring.'),
      })
      .default({ marketing: { start: '09:00', end: '20:00' }, notification: { start: '08:00', end: '21:00' } })
      .describe(
        'Local-time windows [start, end). A call must be inside its window in every zone of the callee\'s number ' +
          'and in the zone the request names. start > end spans midnight.',
      ),
    countryTimeZones: z
      .record(z.string().regex(/^(\+\d{1,15}|[A-Z]{2})$/, '"+<digits>" or an ISO country code'), z.union([Zone, z.array(Zone).min(1)]))
      .default({})
      .transform((t) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, typeof v === 'string' ? [v] : v])))
      .describe(
        'The zones of numbers, by country ("US") or number prefix ("+1212"; the longest prefix wins), replacing ' +
          'the country\'s full zone list. E.g. { "+1212": "America/New_York", "US": ["America/New_York", ' +
          '"America/Chicago"] }.',
      ),
  })
  .strict();

export type PolicyConfig = z.infer<typeof PolicyConfigSchema>;

export function parsePolicyConfig(raw: unknown): PolicyConfig {
  const r = PolicyConfigSchema.safeParse(raw ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  policy.${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid policy configuration:\n${lines.join('\n')}`);
  }
  return r.data;
}
