// Two handles on one throwaway SQLite file: the SQLite side of the per-engine store tests, standing for two
// processes (or two gateways' stores) on one database, as twoInstances() does for PostgreSQL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db, type MigrationSet } from '../../gateway/store/Database.js';

export interface SqlitePair {
  dir: string;
  /** Opened first, with the migrations. */
  da: Db;
  db: Db;
  /** Closes both handles and removes the directory. */
  close: () => Promise<void>;
}

export function sqlitePair(prefix: string, migrations: MigrationSet[] = []): SqlitePair {
  const dir = mkdtempSync(join(tmpdir(), `earshot-${prefix}-`));
  const da = openDatabase({ dataDir: dir, ...(migrations.length ? { migrations } : {}) });
  const db = openDatabase({ dataDir: dir });
  return {
    dir,
    da,
    db,
    close: async () => {
      da.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
