// Everything the call policy remembers, behind one small async interface: SQLite for one gateway
// (SqlitePolicyStore), PostgreSQL for a fleet dialling the same callees (PgPolicyStore). Numbers arrive in E.164.
import type { OutboxRow } from '../webhooks/WebhookOutbox.js';
import type { CallAttempt, CallType, DncEntry, FrequencyCap } from './types.js';

export interface PolicyStore {
  /**
   * Inserts or replaces the entry for `entry.number` (latest reason/source wins), with the outbox rows announcing it
   * (`announce`) in the same transaction.
   */
  addDnc(entry: DncEntry, announce?: readonly OutboxRow[]): Promise<void>;
  /** True when an entry was removed. */
  removeDnc(number: string): Promise<boolean>;
  getDnc(number: string): Promise<DncEntry | null>;
  /** Newest first. */
  listDnc(page: { limit: number; offset: number }): Promise<DncEntry[]>;

  recordAttempt(attempt: CallAttempt): Promise<void>;
  /** Attempts with `sinceMs < at <= untilMs`. */
  countAttempts(callee: string, callType: CallType, sinceMs: number, untilMs: number): Promise<number>;
  /**
   * Atomically: if every cap still has room at `attempt.at`, record the attempt and return null; otherwise record
   * nothing and return the first cap that is full. A cap counts the attempts stamped after `at − window`, those
   * stamped after `at` included (another gateway's clock may run ahead). Atomic so two gateways starting calls to
   * one callee at the same moment cannot both squeeze under the cap (SQLite: an IMMEDIATE transaction; PostgreSQL:
   * one function call under a per-callee advisory lock, PgPolicyStore).
   */
  recordAttemptWithinCaps(attempt: CallAttempt, caps: readonly FrequencyCap[]): Promise<FrequencyCap | null>;
  /** Releases what the store runs besides its data (threads, connections). */
  close?(): Promise<void>;
}
