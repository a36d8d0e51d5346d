// The webhook outbox of a fleet in its PostgreSQL database: rows are written in the same transaction as the
// evidence record, call record or do-not-call entry they announce (writePgOutboxRows), and any instance delivers
// them. Claims take rows with FOR UPDATE SKIP LOCKED and lease them, so two instances polling at once never take the
// same row, and a row whose instance died is taken again once its lease runs out (at least once). A NOTIFY in the
// writing transaction wakes every instance's dispatcher when it commits.
import type pg from 'pg';
import type { PgMigrationSet, Postgres } from '../store/postgres/Postgres.js';
import { entryFromRow, type AttemptOutcome, type NewWebhookEvent, type OutboxEntry, type OutboxRow, type OutboxState, type OutboxTableRow, type WebhookOutboxStore } from './WebhookOutbox.js';

export const PG_WEBHOOK_MIGRATIONS: PgMigrationSet = {
  module: 'webhooks',
  steps: [
    `CREATE TABLE webhook_outbox (
      id TEXT PRIMARY KEY,
      type TEXT NOT NULL,
      call_id TEXT,
      body TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at BIGINT NOT NULL,
      lease_until BIGINT NOT NULL DEFAULT 0,
      last_error TEXT,
      last_status INTEGER,
      delivered_at BIGINT
    );
    CREATE INDEX webhook_outbox_due ON webhook_outbox (state, next_attempt_at);`,
  ],
};

/** The NOTIFY channel a committed row wakes the dispatchers on. */
const CHANNEL = 'earshot_webhooks';

const INSERT = `INSERT INTO webhook_outbox (id, type, call_id, body, created_at, state, next_attempt_at, last_error)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $5::bigint[], $7::text[])`;

const columns = (rows: readonly OutboxRow[]) => [
  rows.map((r) => r.id),
  rows.map((r) => r.type),
  rows.map((r) => r.callId),
  rows.map((r) => r.body),
  rows.map((r) => r.createdAt),
  rows.map((r) => (r.dead ? 'dead' : 'pending')),
  rows.map((r) => r.dead ?? null),
];

/**
 * Writes announcement rows on `c` inside the caller's open transaction: they commit with the caller's record or not
 * at all (a failing insert aborts the transaction). One round trip for the rows, one for the NOTIFY.
 */
export async function writePgOutboxRows(c: pg.PoolClient, rows: readonly OutboxRow[]): Promise<void> {
  if (!rows.length) return;
  await c.query(INSERT, columns(rows));
  await c.query(`SELECT pg_notify('${CHANNEL}', '')`);
}

const FIELDS = 'id, type, call_id, body, created_at, state, attempts, next_attempt_at, last_error, last_status, delivered_at';

export class PgWebhookOutbox implements WebhookOutboxStore {
  /** Migrates (safe when several instances start at once) and opens the fleet's outbox. */
  static async open(db: Postgres, opts: { release?: () => Promise<void> } = {}): Promise<PgWebhookOutbox> {
    await db.migrate([PG_WEBHOOK_MIGRATIONS]);
    return new PgWebhookOutbox(db, opts.release);
  }

  private constructor(
    private readonly db: Postgres,
    private readonly release?: () => Promise<void>,
  ) {}

  async enqueue(events: readonly NewWebhookEvent[], maxPending: number): Promise<{ queued: string[]; overflowed: string[] }> {
    if (!events.length) return { queued: [], overflowed: [] };
    return this.db.tx(async (c) => {
      // Serialise the count-then-insert between instances (a transaction-scoped lock, held for two statements).
      await c.query('SELECT pg_advisory_xact_lock($1)', [0x77686f6b]); // 'whok'
      let pending = (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM webhook_outbox WHERE state = 'pending'`)).rows[0].n;
      const queued: string[] = [];
      const overflowed: string[] = [];
      const rows: OutboxRow[] = events.map((e) => {
        if (pending >= maxPending) {
          overflowed.push(e.id);
          return { ...e, dead: 'queue_full' as const };
        }
        queued.push(e.id);
        pending++;
        return e;
      });
      await c.query(`${INSERT} ON CONFLICT (id) DO NOTHING`, columns(rows));
      return { queued, overflowed };
    });
  }

  async claimDue(now: number, limit: number, leaseUntil: number): Promise<OutboxEntry[]> {
    const r = await this.db.query<OutboxTableRow>(
      `UPDATE webhook_outbox o SET lease_until = $3 FROM (
         SELECT id FROM webhook_outbox WHERE state = 'pending' AND next_attempt_at <= $1 AND lease_until <= $1
         ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
       ) due WHERE o.id = due.id
       RETURNING ${FIELDS.split(', ').map((f) => `o.${f}`).join(', ')}`,
      [now, limit, leaseUntil],
    );
    return r.rows.map(entryFromRow).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || (a.id < b.id ? -1 : 1));
  }

  async nextDueAt(): Promise<number | null> {
    const r = await this.db.query<{ at: number | null }>(`SELECT MIN(GREATEST(next_attempt_at, lease_until)) AS at FROM webhook_outbox WHERE state = 'pending'`);
    return r.rows[0].at;
  }

  async pendingCount(): Promise<number> {
    return (await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM webhook_outbox WHERE state = 'pending'`)).rows[0].n;
  }

  onWritten(fn: () => void): () => void {
    return this.db.listen(CHANNEL, () => fn());
  }

  async settle(outcomes: readonly AttemptOutcome[]): Promise<void> {
    if (!outcomes.length) return;
    const at = (o: AttemptOutcome) => (o.result === 'retry' ? o.nextAttemptAt : o.at);
    await this.db.query(
      `UPDATE webhook_outbox o SET
         state = CASE WHEN s.result = 'delivered' THEN 'delivered' WHEN s.result = 'dead' THEN 'dead' ELSE 'pending' END,
         attempts = o.attempts + 1,
         next_attempt_at = s.at,
         delivered_at = CASE WHEN s.result = 'delivered' THEN s.at ELSE o.delivered_at END,
         last_status = s.status,
         last_error = CASE WHEN s.result = 'delivered' THEN o.last_error ELSE s.error END,
         lease_until = 0
       FROM unnest($1::text[], $2::text[], $3::bigint[], $4::int[], $5::text[]) AS s(id, result, at, status, error)
       WHERE o.id = s.id AND o.state = 'pending'`,
      [
        outcomes.map((o) => o.id),
        outcomes.map((o) => o.result),
        outcomes.map(at),
        outcomes.map((o) => o.status),
        outcomes.map((o) => (o.result === 'delivered' ? null : o.error)),
      ],
    );
  }

  async get(id: string): Promise<OutboxEntry | null> {
    const r = await this.db.query<OutboxTableRow>(`SELECT ${FIELDS} FROM webhook_outbox WHERE id = $1`, [id]);
    return r.rows[0] ? entryFromRow(r.rows[0]) : null;
  }

  async list(q: { state?: OutboxState; limit: number; before?: string }): Promise<OutboxEntry[]> {
    const r = await this.db.query<OutboxTableRow>(
      `SELECT ${FIELDS} FROM webhook_outbox WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
      [q.state ?? null, q.before ?? null, q.limit],
    );
    return r.rows.map(entryFromRow);
  }

  async counts(): Promise<Record<OutboxState, number>> {
    const out: Record<OutboxState, number> = { pending: 0, delivered: 0, dead: 0 };
    const r = await this.db.query<{ state: OutboxState; n: number }>('SELECT state, count(*)::int AS n FROM webhook_outbox GROUP BY state');
    for (const row of r.rows) out[row.state] = row.n;
    return out;
  }

  async expedite(now: number): Promise<number> {
    const r = await this.db.query(`UPDATE webhook_outbox SET next_attempt_at = $1 WHERE state = 'pending' AND next_attempt_at > $1`, [now]);
    // Every instance's dispatcher shares the outbox: wake them all, not just this one.
    if (r.rowCount) await this.db.query(`SELECT pg_notify('${CHANNEL}', '')`).catch(() => undefined);
    return r.rowCount ?? 0;
  }

  async replay(id: string, now: number): Promise<boolean> {
    const r = await this.db.query(
      `UPDATE webhook_outbox SET state = 'pending', attempts = 0, next_attempt_at = $1, lease_until = 0, delivered_at = NULL WHERE id = $2 AND state IN ('dead', 'delivered')`,
      [now, id],
    );
    if (r.rowCount) await this.db.query(`SELECT pg_notify('${CHANNEL}', '')`).catch(() => undefined);
    return (r.rowCount ?? 0) > 0;
  }

  async prune(before: number): Promise<number> {
    return (await this.db.query(`DELETE FROM webhook_outbox WHERE state = 'delivered' AND delivered_at < $1`, [before])).rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.release?.();
  }
}
