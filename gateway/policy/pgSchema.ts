// The policy module's tables on PostgreSQL: the same tables and column names as the SQLite schema (schema.ts), so a
// row reads the same from either engine, plus the admission function that checks and records an attempt atomically.
import type { PgMigrationSet } from '../store/postgres/Postgres.js';

export const PG_POLICY_MIGRATIONS: PgMigrationSet = {
  module: 'policy',
  steps: [
    `CREATE TABLE dnc (
      "number" TEXT PRIMARY KEY,
      reason TEXT NOT NULL,
      source TEXT NOT NULL CHECK (source IN ('complaint', 'refusal', 'admin')),
      "callId" TEXT,
      "addedAt" TEXT NOT NULL
    );
    CREATE TABLE call_attempts (
      "callId" TEXT NOT NULL,
      callee TEXT NOT NULL,
      "callType" TEXT NOT NULL,
      at BIGINT NOT NULL
    );
    CREATE INDEX call_attempts_by_callee ON call_attempts (callee, "callType", at);
    CREATE TABLE call_records (
      "callId" TEXT PRIMARY KEY,
      callee TEXT,
      "callType" TEXT NOT NULL,
      "scriptId" TEXT,
      "scriptVersion" TEXT,
      "startedAt" TEXT NOT NULL,
      "endedAt" TEXT,
      outcome TEXT,
      prompts TEXT NOT NULL DEFAULT '[]',
      decisions TEXT NOT NULL DEFAULT '[]',
      "policyChecks" TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX call_records_by_callee ON call_records (callee, "startedAt");
    CREATE INDEX call_records_by_start ON call_records ("startedAt");
    -- Check and record in one round trip. The transaction-scoped advisory lock on (callee, call type) serialises
    -- every admission to that callee across all instances: the count that follows (a fresh snapshot, READ
    -- COMMITTED) sees every attempt committed before the lock was granted, and the insert commits before the lock
    -- is released. Attempts stamped after p_at count too: another instance's clock may run ahead of this one's, and
    -- a cap must hold whichever instance's clock is right. Returns 0 when recorded, else the index of the full cap.
    CREATE FUNCTION earshot_record_attempt(p_callee TEXT, p_type TEXT, p_call TEXT, p_at BIGINT, p_max INTEGER[], p_window_ms BIGINT[])
    RETURNS INTEGER LANGUAGE plpgsql AS $$
    DECLARE
      i INTEGER;
      n BIGINT;
    BEGIN
      PERFORM pg_advisory_xact_lock(hashtextextended('earshot.attempt|' || p_type || '|' || p_callee, 0));
      FOR i IN 1 .. COALESCE(array_length(p_max, 1), 0) LOOP
        SELECT count(*) INTO n FROM call_attempts
          WHERE callee = p_callee AND "callType" = p_type AND at > p_at - p_window_ms[i];
        IF n >= p_max[i] THEN
          RETURN i;
        END IF;
      END LOOP;
      INSERT INTO call_attempts ("callId", callee, "callType", at) VALUES (p_call, p_callee, p_type, p_at);
      RETURN 0;
    END
    $$;`,
  ],
};
