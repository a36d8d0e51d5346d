// PolicyStore on the shared embedded SQLite database. The methods are synchronous underneath and only wrapped in
// promises for the interface, so check-and-record runs without interleaving inside one process.
import { migrate, type Db } from '../store/Database.js';
import type { PolicyStore } from './PolicyStore.js';
import { POLICY_MIGRATIONS } from './schema.js';
import type { CallAttempt, CallType, DncEntry, FrequencyCap } from './types.js';

const HOUR_MS = 3_600_000;

export class SqlitePolicyStore implements PolicyStore {
  private readonly s;

  constructor(private readonly db: Db) {
    if (!db.readonly) migrate(db, POLICY_MIGRATIONS);
    this.s = {
      addDnc: db.prepare(
        'INSERT OR REPLACE INTO dnc (number, reason, source, callId, addedAt) VALUES (@number, @reason, @source, @callId, @addedAt)',
      ),
      removeDnc: db.prepare('DELETE FROM dnc WHERE number = ?'),
      getDnc: db.prepare('SELECT * FROM dnc WHERE number = ?'),
      listDnc: db.prepare('SELECT * FROM dnc ORDER BY addedAt DESC, number LIMIT ? OFFSET ?'),
      record: db.prepare('INSERT INTO call_attempts (callId, callee, callType, at) VALUES (@callId, @callee, @callType, @at)'),
      count: db.prepare('SELECT COUNT(*) AS n FROM call_attempts WHERE callee = ? AND callType = ? AND at > ? AND at <= ?'),
    };
  }

  async addDnc(entry: DncEntry): Promise<void> {
    this.s.addDnc.run(entry);
  }

  async removeDnc(number: string): Promise<boolean> {
    return this.s.removeDnc.run(number).changes > 0;
  }

  async getDnc(number: string): Promise<DncEntry | null> {
    return (this.s.getDnc.get(number) as DncEntry | undefined) ?? null;
  }

  async listDnc(page: { limit: number; offset: number }): Promise<DncEntry[]> {
    return this.s.listDnc.all(page.limit, page.offset) as DncEntry[];
  }

  async recordAttempt(a: CallAttempt): Promise<void> {
    this.s.record.run(a);
  }

  async countAttempts(callee: string, callType: CallType, sinceMs: number, untilMs: number): Promise<number> {
    return this.countSync(callee, callType, sinceMs, untilMs);
  }

  async recordAttemptWithinCaps(a: CallAttempt, caps: readonly FrequencyCap[]): Promise<FrequencyCap | null> {
    // IMMEDIATE: the write lock is held from the count to the insert, so another process cannot slip in between.
    const tx = this.db.transaction((): FrequencyCap | null => {
      for (const cap of caps) {
        if (this.countSync(a.callee, a.callType, a.at - cap.windowHours * HOUR_MS, a.at) >= cap.max) return cap;
      }
      this.s.record.run(a);
      return null;
    });
    return tx.immediate();
  }

  private countSync(callee: string, callType: CallType, sinceMs: number, untilMs: number): number {
    return (this.s.count.get(callee, callType, sinceMs, untilMs) as { n: number }).n;
  }
}
