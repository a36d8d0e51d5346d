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
    this.db.transaction(() => {
      for (const { rec, isNew } of batch) {
        if (isNew) {
          if (this.s.insert.run(recordToRow(rec)).changes === 0) existed.push(rec.callId);
        } else this.s.update.run(recordToRow(rec));
      }
      writeOutboxRows(this.db, announce);
    })();
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
