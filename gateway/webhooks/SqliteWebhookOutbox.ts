// The webhook outbox in the process's SQLite database (gateway/store/Database.ts). Rows arrive inside the
// transactions of the stores that record what they announce (writeOutboxRows: the evidence append, the call-record
// batch, the do-not-call insert), so a fact and its announcement commit together; the dispatcher's own writes
// (attempt outcomes, standalone events) are batched, one transaction each.
import type { Statement } from 'better-sqlite3';
import { migrate, sharedDatabase, type Db, type MigrationSet } from '../store/Database.js';
import type { WriteStep } from '../store/SqliteWriter.js';
import { entryFromRow, type AttemptOutcome, type NewWebhookEvent, type OutboxEntry, type OutboxRow, type OutboxState, type OutboxTableRow, type WebhookOutboxStore } from './WebhookOutbox.js';

export const WEBHOOK_MIGRATIONS: MigrationSet = {
  module: 'webhooks',
  steps: [
    `CREATE TABLE webhook_outbox (
      id TEXT PRIMARY KEY,
      type TEXT NOT NULL,
      call_id TEXT,
      body TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at INTEGER NOT NULL,
      lease_until INTEGER NOT NULL DEFAULT 0,
      last_error TEXT,
      last_status INTEGER,
      delivered_at INTEGER
    );
    CREATE INDEX webhook_outbox_due ON webhook_outbox (state, next_attempt_at);`,
  ],
};

const INSERT_ROW = `INSERT INTO webhook_outbox (id, type, call_id, body, created_at, state, next_attempt_at, last_error)
  VALUES (@id, @type, @callId, @body, @createdAt, @state, @createdAt, @lastError)`;

/** Listeners per database handle: the dispatchers reading that outbox. */
const written = new WeakMap<Db, Set<() => void>>();
const inserts = new WeakMap<Db, Statement>();

/**
 * Writes announcement rows as part of the caller's open transaction on `db` (throws outside one): they commit with
 * the caller's record or not at all. A failing insert throws, and so rolls the caller's record back with it.
 * Synchronous like every better-sqlite3 write; the outbox's dispatchers are woken once the transaction is over.
 */
export function writeOutboxRows(db: Db, rows: readonly OutboxRow[]): void {
  if (!rows.length) return;
  if (!db.inTransaction) throw new Error('writeOutboxRows: must run inside the transaction of the record it announces');
  let insert = inserts.get(db);
  if (!insert) {
    migrate(db, WEBHOOK_MIGRATIONS); // a savepoint inside the caller's transaction when the table is new
    inserts.set(db, (insert = db.prepare(INSERT_ROW)));
  }
  for (const r of rows) insert.run(bind(r));
  // better-sqlite3 transactions are synchronous: this runs after the commit (or the rollback, when it finds nothing).
  const fns = written.get(db);
  if (fns?.size) setImmediate(() => fns.forEach((fn) => fn()));
}

/**
 * The same rows as statements for a transaction that runs on another connection (the database's writer thread,
 * SqliteWriter): the table is made here first, since a migration cannot be a step. Call `outboxWritten(db)` once
 * that transaction committed.
 */
export function outboxInsertSteps(db: Db, rows: readonly OutboxRow[]): WriteStep[] {
  if (!rows.length) return [];
  if (!migrated.has(db)) {
    migrate(db, WEBHOOK_MIGRATIONS);
    migrated.add(db);
  }
  return rows.map((r) => ({ sql: INSERT_ROW, params: bind(r) }));
}
const migrated = new WeakSet<Db>();

/** Wakes `db`'s dispatchers after rows were committed through another connection (outboxInsertSteps). */
export function outboxWritten(db: Db): void {
  const fns = written.get(db);
  if (fns?.size) setImmediate(() => fns.forEach((fn) => fn()));
}

const bind = (r: OutboxRow) => ({
  id: r.id,
  type: r.type,
  callId: r.callId,
  body: r.body,
  createdAt: r.createdAt,
  state: r.dead ? 'dead' : 'pending',
  lastError: r.dead ?? null,
});

export class SqliteWebhookOutbox implements WebhookOutboxStore {
  private readonly st;

  constructor(private readonly db: Db) {
    this.st = {
      pending: db.prepare(`SELECT COUNT(*) AS n FROM webhook_outbox WHERE state = 'pending'`),
      insert: db.prepare(INSERT_ROW.replace('INSERT INTO', 'INSERT OR IGNORE INTO')),
      due: db.prepare(
        `SELECT * FROM webhook_outbox WHERE state = 'pending' AND next_attempt_at <= ? AND lease_until <= ? ORDER BY next_attempt_at, id LIMIT ?`,
      ),
      lease: db.prepare(`UPDATE webhook_outbox SET lease_until = ? WHERE id = ?`),
      nextDue: db.prepare(`SELECT MIN(MAX(next_attempt_at, lease_until)) AS at FROM webhook_outbox WHERE state = 'pending'`),
      delivered: db.prepare(
        `UPDATE webhook_outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = @at, next_attempt_at = @at, last_status = @status, lease_until = 0 WHERE id = @id AND state = 'pending'`,
      ),
      retry: db.prepare(
        `UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = @nextAttemptAt, last_error = @error, last_status = @status, lease_until = 0 WHERE id = @id AND state = 'pending'`,
      ),
      dead: db.prepare(
        `UPDATE webhook_outbox SET state = 'dead', attempts = attempts + 1, next_attempt_at = @at, last_error = @error, last_status = @status, lease_until = 0 WHERE id = @id AND state = 'pending'`,
      ),
      get: db.prepare(`SELECT * FROM webhook_outbox WHERE id = ?`),
      counts: db.prepare(`SELECT state, COUNT(*) AS n FROM webhook_outbox GROUP BY state`),
      replay: db.prepare(
        `UPDATE webhook_outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, lease_until = 0, delivered_at = NULL WHERE id = ? AND state IN ('dead', 'delivered')`,
      ),
      prune: db.prepare(`DELETE FROM webhook_outbox WHERE state = 'delivered' AND delivered_at < ?`),
      expedite: db.prepare(`UPDATE webhook_outbox SET next_attempt_at = @now WHERE state = 'pending' AND next_attempt_at > @now`),
    };
  }

  static open(opts: { dataDir: string; file?: string }): SqliteWebhookOutbox {
    return new SqliteWebhookOutbox(sharedDatabase({ dataDir: opts.dataDir, file: opts.file, migrations: [WEBHOOK_MIGRATIONS] }));
  }

  async enqueue(events: readonly NewWebhookEvent[], maxPending: number): Promise<{ queued: string[]; overflowed: string[] }> {
    return this.db.transaction(() => {
      let pending = (this.st.pending.get() as { n: number }).n;
      const queued: string[] = [];
      const overflowed: string[] = [];
      for (const e of events) {
        const full = pending >= maxPending;
        this.st.insert.run({ ...e, state: full ? 'dead' : 'pending', lastError: full ? 'queue_full' : null });
        if (full) overflowed.push(e.id);
        else {
          queued.push(e.id);
          pending++;
        }
      }
      return { queued, overflowed };
    }).immediate();
  }

  async claimDue(now: number, limit: number, leaseUntil: number): Promise<OutboxEntry[]> {
    return this.db.transaction(() => {
      const rows = this.st.due.all(now, now, limit) as OutboxTableRow[];
      for (const r of rows) this.st.lease.run(leaseUntil, r.id);
      return rows.map(entryFromRow);
    }).immediate();
  }

  async nextDueAt(): Promise<number | null> {
    return (this.st.nextDue.get() as { at: number | null }).at;
  }

  async pendingCount(): Promise<number> {
    return (this.st.pending.get() as { n: number }).n;
  }

  onWritten(fn: () => void): () => void {
    let set = written.get(this.db);
    if (!set) written.set(this.db, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  async settle(outcomes: readonly AttemptOutcome[]): Promise<void> {
    this.db.transaction(() => {
      for (const o of outcomes) {
        if (o.result === 'delivered') this.st.delivered.run({ id: o.id, at: o.at, status: o.status });
        else if (o.result === 'retry') this.st.retry.run({ id: o.id, nextAttemptAt: o.nextAttemptAt, error: o.error, status: o.status });
        else this.st.dead.run({ id: o.id, at: o.at, error: o.error, status: o.status });
      }
    }).immediate();
  }

  async get(id: string): Promise<OutboxEntry | null> {
    const r = this.st.get.get(id) as OutboxTableRow | undefined;
    return r ? entryFromRow(r) : null;
  }

  async list(q: { state?: OutboxState; limit: number; before?: string }): Promise<OutboxEntry[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.state) (where.push('state = ?'), args.push(q.state));
    if (q.before) (where.push('id < ?'), args.push(q.before));
    const sql = `SELECT * FROM webhook_outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, q.limit) as OutboxTableRow[]).map(entryFromRow);
  }

  async counts(): Promise<Record<OutboxState, number>> {
    const out: Record<OutboxState, number> = { pending: 0, delivered: 0, dead: 0 };
    for (const r of this.st.counts.all() as { state: OutboxState; n: number }[]) out[r.state] = r.n;
    return out;
  }

  async expedite(now: number): Promise<number> {
    return this.st.expedite.run({ now }).changes;
  }

  async replay(id: string, now: number): Promise<boolean> {
    return this.st.replay.run(now, id).changes > 0;
  }

  async prune(before: number): Promise<number> {
    return this.st.prune.run(before).changes;
  }

  async close(): Promise<void> {
    // The handle is the process's shared one (closeSharedDatabases closes it).
  }
}
