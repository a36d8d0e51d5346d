// Approved scripts in the embedded SQLite database (table approved_scripts, SCRIPT_MIGRATIONS).
import { migrate, type Db } from '../store/Database.js';
import type { ApprovedScriptRecord, ScriptApprovals } from './ScriptApprovals.js';
import { SCRIPT_MIGRATIONS, type ApprovedScript } from './ScriptStore.js';

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
