// Call records in the embedded SQLite database (table call_records of the policy schema). Batches are committed in
// the database's writer thread (SqliteWriter) when there is one: each commit held the event loop 5–30 ms, 1.4 s of
// the soak's 227 s profile. Reads stay on this thread's connection.
import { migrate, type Db } from '../store/Database.js';
import { SqliteWriter, WriterDied } from '../store/SqliteWriter.js';
import { outboxInsertSteps, outboxWritten, writeOutboxRows } from '../webhooks/SqliteWebhookOutbox.js';
import type { OutboxRow } from '../webhooks/WebhookOutbox.js';
import { recordFromRow, recordToRow, type CallRecordRepo, type CallRecordRow } from './CallRecordRepo.js';
import type { CallRecord } from './CallRecord.js';
import type { CountryCode } from './number.js';
import { policyMigrations } from './schema.js';

const INSERT = `INSERT OR IGNORE INTO call_records (callId, callee, callType, scriptId, scriptVersion, startedAt, endedAt, outcome, prompts, decisions, policyChecks)
  VALUES (@callId, @callee, @callType, @scriptId, @scriptVersion, @startedAt, @endedAt, @outcome, @prompts, @decisions, @policyChecks)`;
const UPDATE = `UPDATE call_records SET endedAt = @endedAt, outcome = @outcome, prompts = @prompts, decisions = @decisions,
  policyChecks = @policyChecks WHERE callId = @callId`;

export class SqliteCallRecordRepo implements CallRecordRepo {
  private readonly s;
  private readonly writer: SqliteWriter | null;

  /** `defaultCountry` only matters to a database created or upgraded here (the stored-number migration). */
  constructor(
    private readonly db: Db,
    defaultCountry: CountryCode,
    /** Default: the database's writer thread; null: commit on this thread's connection. */
    writer?: SqliteWriter | null,
  ) {
    if (!db.readonly) migrate(db, policyMigrations(defaultCountry));
    this.writer = writer === undefined ? SqliteWriter.for(db) : writer;
    this.s = {
      insert: db.prepare(INSERT),
      update: db.prepare(UPDATE),
      get: db.prepare('SELECT * FROM call_records WHERE callId = ?'),
      list: db.prepare('SELECT * FROM call_records ORDER BY startedAt DESC, callId DESC LIMIT ?'),
      listByCallee: db.prepare('SELECT * FROM call_records WHERE callee = ? ORDER BY startedAt DESC, callId DESC LIMIT ?'),
    };
  }

  async write(batch: readonly { rec: CallRecord; isNew: boolean }[], announce: readonly OutboxRow[] = []): Promise<{ existed: string[] }> {
    if (this.writer) return this.writeOffThread(this.writer, batch, announce);
    const existed: string[] = [];
    // Bookkeeping (CallRecords batches it; consent decisions are durable in the evidence store at once): committed
    // to the WAL without an fsync of its own, which held the event loop 5–30 ms per flush in the soak. The WAL is
    // synced by the connection's next FULL commit (evidence) or checkpoint: a crash of the process loses nothing,
    // a power cut at most the records (and the outbox rows announcing them, together) since. Restored at once:
    // every other commit on this connection stays FULL.
    const was = this.db.readonly ? null : (this.db.pragma('synchronous', { simple: true }) as number);
    if (was !== null && was > 1) this.db.pragma('synchronous = NORMAL');
    try {
      this.db.transaction(() => {
        for (const { rec, isNew } of batch) {
          if (isNew) {
            if (this.s.insert.run(recordToRow(rec)).changes === 0) existed.push(rec.callId);
          } else this.s.update.run(recordToRow(rec));
        }
        writeOutboxRows(this.db, announce);
      })();
    } finally {
      if (was !== null && was > 1) this.db.pragma(`synchronous = ${was}`);
    }
    return { existed };
  }

  /** The same transaction, as data for the writer thread (same synchronous=NORMAL commit, same all-or-nothing). */
  private async writeOffThread(writer: SqliteWriter, batch: readonly { rec: CallRecord; isNew: boolean }[], announce: readonly OutboxRow[]): Promise<{ existed: string[] }> {
    let r;
    try {
      r = await writer.run({
        synchronous: 'NORMAL',
        steps: [...batch.map(({ rec, isNew }) => ({ sql: isNew ? INSERT : UPDATE, params: recordToRow(rec) as unknown as Record<string, unknown> })), ...outboxInsertSteps(this.db, announce)],
      });
    } catch (e) {
      // A writer that died may have committed the batch first. Retried as if it had not, its inserts would find
      // this call's own records ("another record owns this id": the call disowned) and its outbox rows' ids taken
      // (the batch failing on every flush). So look: the first outbox row, else the first new record as written.
      if (e instanceof WriterDied && this.committedBefore(batch, announce)) {
        if (announce.length) outboxWritten(this.db);
        return { existed: [] };
      }
      throw e;
    }
    if (!r.ok) throw new Error('call record write: unexpected guard refusal'); // no guard was given
    if (announce.length) outboxWritten(this.db);
    return { existed: batch.filter(({ isNew }, i) => isNew && r.changes[i] === 0).map(({ rec }) => rec.callId) };
  }

  private committedBefore(batch: readonly { rec: CallRecord; isNew: boolean }[], announce: readonly OutboxRow[]): boolean {
    if (announce.length) return this.db.prepare('SELECT 1 FROM webhook_outbox WHERE id = ?').get(announce[0].id) !== undefined;
    const first = batch.find((b) => b.isNew)?.rec;
    // Updates alone are safe to repeat.
    return first !== undefined && (this.s.get.get(first.callId) as CallRecordRow | undefined)?.startedAt === first.startedAt;
  }

  async get(callId: string): Promise<CallRecord | null> {
    const r = this.s.get.get(callId) as CallRecordRow | undefined;
    return r ? recordFromRow(r) : null;
  }

  async list(q: { callee?: string; limit: number }): Promise<CallRecord[]> {
    const rows = q.callee === undefined ? this.s.list.all(q.limit) : this.s.listByCallee.all(q.callee, q.limit);
    return (rows as CallRecordRow[]).map(recordFromRow);
  }
}
