// The one embedded SQLite database (`<dataDir>/earshot.db`) shared by the evidence, policy and call-record stores.
// One main-thread connection per process: better-sqlite3 is synchronous, so a single handle serialises this thread's
// writes, and WAL lets readers (the `earshot evidence verify` CLI, an auditor's sqlite3 shell) run alongside the
// gateway. Writes that wait on an fsync on the live path have worker threads with their own connections to the same
// file (SqliteWriter: evidence records, call records; AttemptWriter: frequency caps); a writer's lock makes this
// thread's own writes wait (busy_timeout), so those workers hold it only for one short transaction each.
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';

export type Db = BetterSqlite3.Database;

/**
 * One schema step: SQL, or a function for data migrations SQL cannot express (re-normalising stored numbers). It
 * runs inside the step's transaction, together with its version bump.
 */
export type MigrationStep = string | ((db: Db) => void);

/** A module's schema history: `steps[i]` upgrades the module's schema from version i to i+1. Never edit a shipped step. */
export interface MigrationSet {
  module: string;
  steps: readonly MigrationStep[];
}

export interface OpenDatabaseOptions {
  /** Explicit database file; default `<dataDir>/earshot.db`. */
  file?: string;
  dataDir?: string;
  /** Read-only handles (audit tools) never run migrations or change pragmas that persist. */
  readonly?: boolean;
  migrations?: readonly MigrationSet[];
  busyTimeoutMs?: number;
}

export const DB_FILE_NAME = 'earshot.db';

export function databasePath(dataDir: string): string {
  return join(dataDir, DB_FILE_NAME);
}

export function openDatabase(opts: OpenDatabaseOptions): Db {
  const file = resolve(opts.file ?? databasePath(opts.dataDir ?? '.earshot'));
  if (!opts.readonly) ownerOnly(file);
  const db = new BetterSqlite3(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  // Another process (CLI, second gateway) may hold the write lock briefly; wait rather than fail a call start.
  db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(opts.busyTimeoutMs ?? 5000))}`);
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    // FULL: in WAL mode every commit fsyncs the log, so an evidence row that append() returned survives power loss,
    // not just a process crash. It costs an fsync per write transaction; stores batch their chatty writes.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    for (const set of opts.migrations ?? []) migrate(db, set);
  }
  return db;
}

/**
 * The database holds callee numbers, transcripts and consent decisions: owner-only. New directories get 0700. The
 * file is created 0600 before SQLite opens it, because SQLite gives its -wal and -shm files the database file's
 * mode; files left 0644 by an older release are narrowed.
 */
function ownerOnly(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(file, 'wx', 0o600)); // an empty file is an empty SQLite database
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      chmodSync(f, 0o600);
    } catch (e) {
      // Not ours to change (another owner set it up): the operator's choice stands.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EPERM') throw e;
    }
  }
}

/** Applies the module's pending steps, each in its own transaction together with its version bump. Idempotent. */
export function migrate(db: Db, set: MigrationSet): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    module TEXT NOT NULL,
    version INTEGER NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (module, version)
  )`);
  const current = db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations WHERE module = ?');
  const mark = db.prepare('INSERT INTO schema_migrations (module, version, applied_at) VALUES (?, ?, ?)');
  const step = db.transaction((version: number, sql: MigrationStep) => {
    // Re-read inside the write lock: another process may have migrated since we looked.
    const v = (current.get(set.module) as { v: number }).v;
    if (v >= version) return;
    if (typeof sql === 'string') db.exec(sql);
    else sql(db);
    mark.run(set.module, version, new Date().toISOString());
  });
  const have = (current.get(set.module) as { v: number }).v;
  if (have > set.steps.length) {
    throw new Error(`database schema for ${set.module} is at version ${have}, newer than this build (${set.steps.length})`);
  }
  for (let i = have; i < set.steps.length; i++) step.immediate(i + 1, set.steps[i]);
}

const shared = new Map<string, Db>();

/**
 * The process-wide handle for a database file: the first caller opens it, later callers (other stores) get the same
 * connection with their own migrations applied.
 */
export function sharedDatabase(opts: Omit<OpenDatabaseOptions, 'readonly'>): Db {
  const file = resolve(opts.file ?? databasePath(opts.dataDir ?? '.earshot'));
  let db = shared.get(file);
  if (!db || !db.open) {
    db = openDatabase({ ...opts, file });
    shared.set(file, db);
  } else {
    for (const set of opts.migrations ?? []) migrate(db, set);
  }
  return db;
}

/** Closes every handle opened through `sharedDatabase` (shutdown, tests). */
export function closeSharedDatabases(): void {
  for (const db of shared.values()) if (db.open) db.close();
  shared.clear();
}
