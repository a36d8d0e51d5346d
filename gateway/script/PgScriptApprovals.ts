// Approved scripts in the fleet's PostgreSQL database: approved once (on any instance, or by the CLI), run by every
// instance from the stored text, so no instance needs the file.
import type { PgMigrationSet, Postgres } from '../store/postgres/Postgres.js';
import type { ApprovedScript, ApprovedScriptRecord, ScriptApprovals } from './ScriptApprovals.js';

export const PG_SCRIPT_MIGRATIONS: PgMigrationSet = {
  module: 'scripts',
  steps: [
    `CREATE TABLE approved_scripts (
      "scriptId" TEXT NOT NULL,
      version TEXT NOT NULL,
      sha256 TEXT NOT NULL,
      file TEXT NOT NULL,
      content TEXT NOT NULL,
      language TEXT NOT NULL,
      "callType" TEXT NOT NULL,
      "approvedBy" TEXT,
      "approvedAt" TEXT NOT NULL,
      PRIMARY KEY ("scriptId", version)
    );
    CREATE FUNCTION earshot_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% is immutable: % refused', TG_TABLE_NAME, TG_OP;
    END
    $$;
    CREATE TRIGGER approved_scripts_immutable BEFORE UPDATE OR DELETE ON approved_scripts
      FOR EACH ROW EXECUTE FUNCTION earshot_immutable();`,
  ],
};

const META = '"scriptId", version, sha256, file, language, "callType", "approvedBy", "approvedAt"';

export class PgScriptApprovals implements ScriptApprovals {
  /** `release`: called by close() (gives back a shared pool). */
  static async open(pg: Postgres, release?: () => Promise<void>): Promise<PgScriptApprovals> {
    await pg.migrate([PG_SCRIPT_MIGRATIONS]);
    return new PgScriptApprovals(pg, release);
  }

  private constructor(
    private readonly pg: Postgres,
    private readonly release?: () => Promise<void>,
  ) {}

  async close(): Promise<void> {
    await this.release?.();
  }

  async insert(r: ApprovedScriptRecord): Promise<{ stored: ApprovedScriptRecord; created: boolean }> {
    const ins = await this.pg.query(
      `INSERT INTO approved_scripts (${META}, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
      [r.scriptId, r.version, r.sha256, r.file, r.language, r.callType, r.approvedBy, r.approvedAt, r.content],
    );
    return { stored: (await this.get(r.scriptId, r.version))!, created: ins.rowCount === 1 };
  }

  async get(scriptId: string, version: string): Promise<ApprovedScriptRecord | null> {
    const r = await this.pg.query<ApprovedScriptRecord>(`SELECT ${META}, content FROM approved_scripts WHERE "scriptId" = $1 AND version = $2`, [scriptId, version]);
    return r.rows[0] ?? null;
  }

  async list(): Promise<ApprovedScript[]> {
    return (await this.pg.query<ApprovedScript>(`SELECT ${META} FROM approved_scripts ORDER BY "scriptId", "approvedAt"`)).rows;
  }
}
