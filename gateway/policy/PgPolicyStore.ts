// PolicyStore on the fleet's PostgreSQL database: one do-not-call list and one attempt history for every gateway,
// so a cap of one call a day holds however many gateways dial the callee. The frequency-cap check-and-record is one
// call of a server-side function under a per-callee advisory lock (pgSchema.ts): atomic across instances, one round
// trip, durable (synchronous commit) before the call is admitted.
import { metrics } from '../ops/metrics.js';
import type { Postgres } from '../store/postgres/Postgres.js';
import { writePgOutboxRows } from '../webhooks/PgWebhookOutbox.js';
import type { OutboxRow } from '../webhooks/WebhookOutbox.js';
import type { PolicyStore } from './PolicyStore.js';
import { PG_POLICY_MIGRATIONS } from './pgSchema.js';
import type { CallAttempt, CallType, DncEntry, FrequencyCap } from './types.js';

const HOUR_MS = 3_600_000;

export class PgPolicyStore implements PolicyStore {
  /** Opens the store, migrating the schema first (safe when several instances start at once). */
  static async open(pg: Postgres, opts: { onClose?: () => Promise<void> } = {}): Promise<PgPolicyStore> {
    await pg.migrate([PG_POLICY_MIGRATIONS]);
    return new PgPolicyStore(pg, opts.onClose);
  }

  private constructor(
    private readonly pg: Postgres,
    private readonly onClose?: () => Promise<void>,
  ) {}

  async addDnc(e: DncEntry, announce: readonly OutboxRow[] = []): Promise<void> {
    const sql = `INSERT INTO dnc ("number", reason, source, "callId", "addedAt") VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT ("number") DO UPDATE SET reason = EXCLUDED.reason, source = EXCLUDED.source, "callId" = EXCLUDED."callId", "addedAt" = EXCLUDED."addedAt"`;
    const args = [e.number, e.reason, e.source, e.callId, e.addedAt];
    if (!announce.length) {
      await this.pg.query(sql, args);
      return;
    }
    await this.pg.tx(async (c) => {
      await c.query(sql, args);
      await writePgOutboxRows(c, announce);
    });
  }

  async removeDnc(number: string): Promise<boolean> {
    return ((await this.pg.query('DELETE FROM dnc WHERE "number" = $1', [number])).rowCount ?? 0) > 0;
  }

  async getDnc(number: string): Promise<DncEntry | null> {
    const r = await this.pg.query<DncEntry>('SELECT "number", reason, source, "callId", "addedAt" FROM dnc WHERE "number" = $1', [number]);
    return r.rows[0] ?? null;
  }

  async listDnc(page: { limit: number; offset: number }): Promise<DncEntry[]> {
    const r = await this.pg.query<DncEntry>(
      'SELECT "number", reason, source, "callId", "addedAt" FROM dnc ORDER BY "addedAt" DESC, "number" LIMIT $1 OFFSET $2',
      [page.limit, page.offset],
    );
    return r.rows;
  }

  async recordAttempt(a: CallAttempt): Promise<void> {
    await this.pg.query('INSERT INTO call_attempts ("callId", callee, "callType", at) VALUES ($1, $2, $3, $4)', [a.callId, a.callee, a.callType, a.at]);
  }

  async countAttempts(callee: string, callType: CallType, sinceMs: number, untilMs: number): Promise<number> {
    const r = await this.pg.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM call_attempts WHERE callee = $1 AND "callType" = $2 AND at > $3 AND at <= $4',
      [callee, callType, sinceMs, untilMs],
    );
    return r.rows[0].n;
  }

  async recordAttemptWithinCaps(a: CallAttempt, caps: readonly FrequencyCap[]): Promise<FrequencyCap | null> {
    const t0 = performance.now();
    const r = await this.pg.query<{ full: number }>('SELECT earshot_record_attempt($1, $2, $3, $4, $5::int[], $6::bigint[]) AS full', [
      a.callee,
      a.callType,
      a.callId,
      a.at,
      caps.map((c) => c.max),
      caps.map((c) => Math.round(c.windowHours * HOUR_MS)),
    ]);
    metrics.admissionStoreSeconds.observe({ engine: 'postgres' }, (performance.now() - t0) / 1000);
    const i = r.rows[0].full;
    return i === 0 ? null : caps[i - 1];
  }

  async close(): Promise<void> {
    await this.onClose?.();
  }
}
