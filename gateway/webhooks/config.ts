// The `webhooks` config section (composed into gateway/config.ts, so checked when the configuration loads).
import { z } from 'zod';

export const WEBHOOK_EVENT_TYPES = ['consent', 'call_summary', 'rejected', 'dnc_added'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const WebhooksConfigSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).optional().describe(
    'Receiver every event is POSTed to (EARSHOT_WEBHOOK_URL). Unset: no webhooks, nothing is queued.',
  ),
  secret: z.string().min(16).optional().describe(
    'Signing secret for the `Earshot-Signature` header (EARSHOT_WEBHOOK_SECRET); required with `url`, at least 16 ' +
      'characters. Never logged.',
  ),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).default([...WEBHOOK_EVENT_TYPES]).describe(
    'Event types sent: `consent`, `call_summary`, `rejected` (a start refused), `dnc_added` (a number put on the ' +
      'do-not-call list).',
  ),
  timeoutMs: z.number().int().min(100).max(60_000).default(10_000).describe(
    'How long one delivery attempt may take (connect, send, answer) before it counts as a `timeout` failure.',
  ),
  maxAttempts: z.number().int().min(1).max(10_000).default(160).describe(
    'Attempts before an event is dead-lettered (kept, listed by GET /v1/webhooks/deliveries?state=dead, replayable). ' +
      'With the default backoff, 160 attempts span 40–78 minutes (about an hour).',
  ),
  backoffMs: z.number().int().min(10).max(3_600_000).default(1000).describe(
    'Wait before the first retry; each later retry waits twice as long (with jitter), up to `maxBackoffMs`.',
  ),
  maxBackoffMs: z.number().int().min(10).max(86_400_000).default(30_000).describe(
    'Longest wait between two attempts (each wait is half fixed, half random, so 15–30 s at the default): a ' +
      'receiver that comes back after an outage gets every waiting event within this much of its return (plus the ' +
      'time to send them).',
  ),
  concurrency: z.number().int().min(1).max(64).default(4).describe('Deliveries in flight at once.'),
  maxPending: z.number().int().min(1).max(10_000_000).default(100_000).describe(
    'Events waiting for delivery, at most. Past it a new event is dead-lettered at once (`queue_full`) rather than ' +
      'queued: a receiver that is down for days must not fill the disk; replay them once it is back.',
  ),
  retainDeliveredHours: z.number().min(0).max(24 * 365).default(72).describe(
    'Delivered events are kept this long (for the admin API and audits), then deleted. Dead letters are kept until ' +
      'replayed.',
  ),
}).refine((c) => !c.url || c.secret, {
  path: ['secret'],
  message: 'required when webhooks.url is set (EARSHOT_WEBHOOK_SECRET): webhooks are never sent unsigned',
});

export type WebhooksConfig = z.infer<typeof WebhooksConfigSchema>;
