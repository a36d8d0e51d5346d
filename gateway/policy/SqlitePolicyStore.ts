// PolicyStore on the shared embedded SQLite database. The methods are synchronous underneath and only wrapped in
// promises for the interface, so check-and-record runs without interleaving inside one process — or, given an
// AttemptWriter, in its worker thread, so the durable commit of each admission does not block the event loop.
import { metrics } from '../ops/metrics.js';
import { migrate, type Db } from '../store/Database.js';
import { writeOutboxRows } from '../webhooks/SqliteWebhookOutbox.js';
import type { OutboxRow } from '../webhooks/WebhookOutbox.js';
import type { AttemptWriter } from './AttemptWriter.js';
import { countAttempts, insertAttempt, prepareAttempts } from './attempts.js';
import type { PolicyStore } from './PolicyStore.js';
import { DEFAULT_COUNTRY, type CountryCode } from './number.js';
import { policyMigrations } from './schema.js';
import type { CallAttempt, CallType, DncEntry, FrequencyCap } from './types.js';

const HOUR_MS = 3_600_000;

export class SqlitePolicyStore implements PolicyStore {
  private readonly s;
  private readonly attempts;

  /** `defaultCountry` only matters to a database created or upgraded here (the stored-number migration). */
  constructor(
    private readonly db: Db,
    private readonly writer: AttemptWriter | null = null,
    defaultCountry: CountryCode = DEFAULT_COUNTRY,
  ) {
    if (!db.readonly) migrate(db, policyMigrations(defaultCountry));
    this.s = {
      addDnc: db.prepare(
        'INSERT OR REPLACE INTO dnc (number, reason, source, callId, addedAt) VALUES (@number, @reason, @source, @callId, @addedAt)',
      ),
      removeDnc: db.prepare('DELETE FROM dnc WHERE number = ?'),
      getDnc: db.prepare('SELECT * FROM dnc WHERE number = ?'),
      listDnc: db.prepare('SELECT * FROM dnc ORDER BY addedAt DESC, number LIMIT ? OFFSET ?'),
    };
    this.attempts = prepareAttempts(db);
  }

  async addDnc(entry: DncEntry, announce: readonly OutboxRow[] = []): Promise<void> {
    this.db.transaction(() => {
      this.s.addDnc.run(entry);
      writeOutboxRows(this.db, announce);
    })();
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
    insertAttempt(this.attempts, a);
  }

  async countAttempts(callee: string, callType: CallType, sinceMs: number, untilMs: number): Promise<number> {
    return countAttempts(this.attempts, callee, callType, sinceMs, untilMs);
  }

  async close(): Promise<void> {
    await this.writer?.close();
  }

  async recordAttemptWithinCaps(a: CallAttempt, caps: readonly FrequencyCap[]): Promise<FrequencyCap | null> {
    const t0 = performance.now();
    try {
      return await this.checkAndRecord(a, caps);
    } finally {
      metrics.admissionStoreSeconds.observe({ engine: 'sqlite' }, (performance.now() - t0) / 1000);
    }
  }

  private async checkAndRecord(a: CallAttempt, caps: readonly FrequencyCap[]): Promise<FrequencyCap | null> {
    if (this.writer) return this.writer.record(a, caps);
    // IMMEDIATE: the write lock is held from the count to the insert, so another process cannot slip in between.
    const tx = this.db.transaction((): FrequencyCap | null => {
      for (const cap of caps) {
        if (countAttempts(this.attempts, a.callee, a.callType, a.at - cap.windowHours * HOUR_MS, Number.MAX_SAFE_INTEGER) >= cap.max) return cap;
      }
      insertAttempt(this.attempts, a);
      return null;
    });
    return tx.immediate();
  }
}
