// Call records in the fleet's PostgreSQL database (table call_records, PG_POLICY_MIGRATIONS): a record written by
// the instance that held the call is read from any instance (GET /v1/calls/:id/record, /v1/records).
import type { Postgres } from '../store/postgres/Postgres.js';
import { writePgOutboxRows } from '../webhooks/PgWebhookOutbox.js';
import type { OutboxRow } from '../webhooks/WebhookOutbox.js';
import { recordFromRow, recordToRow, type CallRecordRepo, type CallRecordRow } from './CallRecordRepo.js';
import type { CallRecord } from './CallRecord.js';
import { PG_POLICY_MIGRATIONS } from './pgSchema.js';

const COLS = ['callId', 'callee', 'callType', 'scriptId', 'scriptVersion', 'startedAt', 'endedAt', 'outcome', 'prompts', 'decisions', 'policyChecks'] as const;
const Q = (c: string) => `"${c}"`;

export class PgCallRecordRepo implements CallRecordRepo {
  static async open(pg: Postgres): Promise<PgCallRecordRepo> {
    await pg.migrate([PG_POLICY_MIGRATIONS]);
    return new PgCallRecordRepo(pg);
  }

  private constructor(private readonly pg: Postgres) {}

  async write(batch: readonly { rec: CallRecord; isNew: boolean }[], announce: readonly OutboxRow[] = []): Promise<{ existed: string[] }> {
    const existed: string[] = [];
    if (!batch.length && !announce.length) return { existed };
    await this.pg.tx(async (c) => {
      for (const { rec, isNew } of batch) {
        const row = recordToRow(rec);
        if (isNew) {
          const ins = await c.query(
            `INSERT INTO call_records (${COLS.map(Q).join(', ')}) VALUES (${COLS.map((_, i) => `$${i + 1}`).join(', ')}) ON CONFLICT ("callId") DO NOTHING`,
            COLS.map((k) => row[k]),
          );
          if (ins.rowCount === 0) existed.push(rec.callId);
        } else {
          await c.query(
            `UPDATE call_records SET "endedAt" = $2, outcome = $3, prompts = $4, decisions = $5, "policyChecks" = $6 WHERE "callId" = $1`,
            [row.callId, row.endedAt, row.outcome, row.prompts, row.decisions, row.policyChecks],
          );
        }
      }
      await writePgOutboxRows(c, announce);
    });
    return { existed };
  }

  async get(callId: string): Promise<CallRecord | null> {
    const r = await this.pg.query<CallRecordRow>(`SELECT ${COLS.map(Q).join(', ')} FROM call_records WHERE "callId" = $1`, [callId]);
    return r.rows[0] ? recordFromRow(r.rows[0]) : null;
  }

  async list(q: { callee?: string; limit: number }): Promise<CallRecord[]> {
    const r =
      q.callee === undefined
        ? await this.pg.query<CallRecordRow>(`SELECT ${COLS.map(Q).join(', ')} FROM call_records ORDER BY "startedAt" DESC, "callId" DESC LIMIT $1`, [q.limit])
        : await this.pg.query<CallRecordRow>(
            `SELECT ${COLS.map(Q).join(', ')} FROM call_records WHERE callee = $1 ORDER BY "startedAt" DESC, "callId" DESC LIMIT $2`,
            [q.callee, q.limit],
          );
    return r.rows.map(recordFromRow);
  }
}
