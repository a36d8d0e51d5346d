// Approved scripts in the embedded SQLite database (table approved_scripts, SCRIPT_MIGRATIONS).
import { migrate, type Db, type MigrationSet } from '../store/Database.js';
import type { ApprovedScript, ApprovedScriptRecord, ScriptApprovals } from './ScriptApprovals.js';

export const SCRIPT_MIGRATIONS: MigrationSet = {
  module: 'scripts',
  steps: [
    `CREATE TABLE approved_scripts (
      scriptId TEXT NOT NULL,
      version TEXT NOT NULL,
      sha256 TEXT NOT NULL,
      file TEXT NOT NULL,
      content TEXT NOT NULL,
      language TEXT NOT NULL,
      callType TEXT NOT NULL,
      approvedBy TEXT,
      approvedAt TEXT NOT NULL,
      PRIMARY KEY (scriptId, version)
    );
    CREATE TRIGGER approved_scripts_immutable BEFORE UPDATE ON approved_scripts
      BEGIN SELECT RAISE(ABORT, 'approved scripts are immutable'); END;
    CREATE TRIGGER approved_scripts_no_delete BEFORE DELETE ON approved_scripts
      BEGIN SELECT RAISE(ABORT, 'approved scripts are immutable'); END;`,
  ],
};

const META = 'scriptId, version, sha256, file, language, callType, approvedBy, approvedAt';

export class SqliteScriptApprovals implements ScriptApprovals {
  private readonly s;

  constructor(db: Db) {
    if (!db.readonly) migrate(db, SCRIPT_MIGRATIONS);
    this.s = {
      insert: db.prepare(
        `INSERT OR IGNORE INTO approved_scripts (${META}, content)
         VALUES (@scriptId, @version, @sha256, @file, @language, @callType, @approvedBy, @approvedAt, @content)`,
      ),
      get: db.prepare(`SELECT ${META}, content FROM approved_scripts WHERE scriptId = ? AND version = ?`),
      list: db.prepare(`SELECT ${META} FROM approved_scripts ORDER BY scriptId, approvedAt`),
    };
  }

  async insert(rec: ApprovedScriptRecord): Promise<{ stored: ApprovedScriptRecord; created: boolean }> {
    const created = this.s.insert.run(rec).changes === 1;
    return { stored: (await this.get(rec.scriptId, rec.version))!, created };
  }

  async get(scriptId: string, version: string): Promise<ApprovedScriptRecord | null> {
    return (this.s.get.get(scriptId, version) as ApprovedScriptRecord | undefined) ?? null;
  }

  async list(): Promise<ApprovedScript[]> {
    return this.s.list.all() as ApprovedScript[];
  }
}
