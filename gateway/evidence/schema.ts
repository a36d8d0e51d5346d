// Evidence table migrations. Column names equal the EvidenceRecord field names so an auditor's `SELECT *` maps
// one-to-one onto the canonical form (canonical.ts). STRICT keeps a tamperer from sneaking in values whose type would
// serialise differently from what was hashed.
import type { MigrationSet } from '../store/Database.js';

export const EVIDENCE_MIGRATIONS: MigrationSet = {
  module: 'evidence',
  steps: [
    `CREATE TABLE evidence (
      seq INTEGER PRIMARY KEY,
      id TEXT NOT NULL UNIQUE,
      format INTEGER NOT NULL,
      callId TEXT NOT NULL,
      callee TEXT,
      promptId TEXT,
      promptText TEXT,
      decision TEXT NOT NULL CHECK (decision IN ('granted', 'refused', 'unclear')),
      phrase TEXT,
      transcript TEXT NOT NULL,
      confidence REAL NOT NULL,
      complaint INTEGER NOT NULL CHECK (complaint IN (0, 1)),
      speechStartT REAL,
      speechEndT REAL NOT NULL,
      decidedT REAL NOT NULL,
      wallTime TEXT NOT NULL,
      storedAt TEXT NOT NULL,
      audioFile TEXT,
      audioSha256 TEXT,
      audioSampleRate INTEGER,
      audioSamples INTEGER,
      model TEXT NOT NULL,
      mode TEXT NOT NULL,
      prevHash TEXT NOT NULL,
      hash TEXT NOT NULL UNIQUE
    ) STRICT;
    CREATE INDEX evidence_by_call ON evidence (callId, seq);
    -- Append-only inside the database as well: the application never updates or deletes evidence, so any attempt is
    -- a bug or tampering. (Someone with write access to the file can drop these; the hash chain catches that.)
    CREATE TRIGGER evidence_no_update BEFORE UPDATE ON evidence
      BEGIN SELECT RAISE(ABORT, 'evidence is append-only: UPDATE refused'); END;
    CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence
      BEGIN SELECT RAISE(ABORT, 'evidence is append-only: DELETE refused'); END;`,
    // Format 2: the MAC of each record's hash with the evidence key kept outside the database (keyring.ts).
    `ALTER TABLE evidence ADD COLUMN keyId TEXT;
    ALTER TABLE evidence ADD COLUMN mac TEXT;`,
  ],
};
