// Tables of the policy module: do-not-call list, call attempts (for frequency caps) and per-call records.
import type { MigrationSet } from '../store/Database.js';
import type { CountryCode } from './number.js';
import { renumberStoredNumbers } from './renumber.js';

/**
 * The policy schema history. Step 2 rewrites stored numbers to E.164 and needs the country digits-only numbers
 * were dialled in (policy.defaultCountry); it runs once, with the configuration of the first start that has it.
 */
export function policyMigrations(defaultCountry: CountryCode): MigrationSet {
  return {
    module: 'policy',
    steps: [
      `CREATE TABLE dnc (
      number TEXT PRIMARY KEY,
      reason TEXT NOT NULL,
      source TEXT NOT NULL CHECK (source IN ('complaint', 'refusal', 'admin')),
      callId TEXT,
      addedAt TEXT NOT NULL
    ) STRICT;
    CREATE TABLE call_attempts (
      callId TEXT NOT NULL,
      callee TEXT NOT NULL,
      callType TEXT NOT NULL,
      at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX call_attempts_by_callee ON call_attempts (callee, callType, at);
    CREATE TABLE call_records (
      callId TEXT PRIMARY KEY,
      callee TEXT,
      callType TEXT NOT NULL,
      scriptId TEXT,
      scriptVersion TEXT,
      startedAt TEXT NOT NULL,
      endedAt TEXT,
      outcome TEXT,
      prompts TEXT NOT NULL DEFAULT '[]',
      decisions TEXT NOT NULL DEFAULT '[]',
      policyChecks TEXT NOT NULL DEFAULT '[]'
    ) STRICT;
    CREATE INDEX call_records_by_callee ON call_records (callee, startedAt);
    CREATE INDEX call_records_by_start ON call_records (startedAt);`,
      (db) => void renumberStoredNumbers(db, defaultCountry),
    ],
  };
}
