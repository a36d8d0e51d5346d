// Call records in the embedded SQLite database (table call_records of the policy schema).
import { migrate, type Db } from '../store/Database.js';
import { writeOutboxRows } from '../webhooks/SqliteWebhookOutbox.js';
import type { OutboxRow } from '../webhooks/WebhookOutbox.js';
import { recordFromRow, recordToRow, type CallRecordRepo, type CallRecordRow } from './CallRecordRepo.js';
import type { CallRecord } from './CallRecord.js';
import type { CountryCode } from './number.js';
import { policyMigrations } from './schema.js';

export class SqliteCallRecordRepo implements CallRecordRepo {
  private readonly s;

  /** `defaultCountry` only matters to a database created or upgraded here (the stored-number migration). */
  constructor(
    private readonly db: Db,
    defaultCountry: CountryCode,
  ) {
    if (!db.readonly) migrate(db, policyMigrations(defaultCountry));
    this.s = {
      insert: db.prepare(
        `INSERT OR IGNORE INTO call_records (callId, callee, callType, scriptId, scriptVersion, startedAt, endedAt, outcome, prompts, decisions, policyChecks)
         VALUES (@callId, @callee, @callType, @scriptId, @scriptVersion, @startedAt, @endedAt, @outcome, @prompts, @decisions, @policyChecks)`,
      ),
      update: db.prepare(
        `UPDATE call_records SET endedAt = @endedAt, outcome = @outcome, prompts = @prompts, decisions = @decisions,
         policyChecks = @policyChecks WHERE callId = @callId`,
      ),
      get: db.prepare('SELECT * FROM call_records WHERE callId = ?'),
      list: db.prepare('SELECT * FROM call_records ORDER BY startedAt DESC, callId DESC LIMIT ?'),
      listByCallee: db.prepare('SELECT * FROM call_records WHERE callee = ? ORDER BY startedAt DESC, callId DESC LIMIT ?'),
    };
  }

  async write(batch: readonly { rec: CallRecord; isNew: boolean }[], announce: readonly OutboxRow[] = []): Promise<{ existed: string[] }> {
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

  async get(callId: string): Promise<CallRecord | null> {
    const r = this.s.get.get(callId) as CallRecordRow | undefined;
    return r ? recordFromRow(r) : null;
  }

  async list(q: { callee?: string; limit: number }): Promise<CallRecord[]> {
    const rows = q.callee === undefined ? this.s.list.all(q.limit) : this.s.listByCallee.all(q.callee, q.limit);
    return (rows as CallRecordRow[]).map(recordFromRow);
  }
}
