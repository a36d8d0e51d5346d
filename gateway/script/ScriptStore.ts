// Approved script versions: `earshot scripts approve <file>` records the file's sha256 as an immutable approved
// version (id@version) in the shared SQLite database. At call time the file is read again and re-hashed: a file
// edited after approval no longer matches and the call is refused. Approved rows are never updated or deleted.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { sharedDatabase, type Db, type MigrationSet } from '../store/Database.js';
import { hashScript, parseScript, parseScriptRef, type Script } from './format.js';

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

export interface ApprovedScript {
  scriptId: string;
  version: string;
  sha256: string;
  file: string;
  language: string;
  callType: string;
  approvedBy: string | null;
  approvedAt: string;
}

/** Why a script cannot be used; `code` is the rejection reason sent to the client. */
export class ScriptError extends Error {
  constructor(
    readonly code: 'script_not_approved' | 'script_changed' | 'script_invalid' | 'script_mismatch',
    message: string,
  ) {
    super(message);
    this.name = 'ScriptError';
  }
}

export interface LoadedScript {
  script: Script;
  approval: ApprovedScript;
}

export class ScriptStore {
  private readonly s;

  static open(opts: { dataDir: string; file?: string }): ScriptStore {
    return new ScriptStore(sharedDatabase({ dataDir: opts.dataDir, file: opts.file, migrations: [SCRIPT_MIGRATIONS] }));
  }

  constructor(private readonly db: Db) {
    this.s = {
      insert: db.prepare(
        `INSERT INTO approved_scripts (scriptId, version, sha256, file, content, language, callType, approvedBy, approvedAt)
         VALUES (@scriptId, @version, @sha256, @file, @content, @language, @callType, @approvedBy, @approvedAt)`,
      ),
      get: db.prepare('SELECT scriptId, version, sha256, file, language, callType, approvedBy, approvedAt FROM approved_scripts WHERE scriptId = ? AND version = ?'),
      list: db.prepare('SELECT scriptId, version, sha256, file, language, callType, approvedBy, approvedAt FROM approved_scripts ORDER BY scriptId, approvedAt'),
    };
  }

  /**
   * Records the file as approved. Re-approving identical content is a no-op; a different content under an existing
   * id@version is refused (bump the version instead).
   */
  approve(file: string, opts: { approvedBy?: string; now?: Date } = {}): { approval: ApprovedScript; script: Script; created: boolean } {
    const path = resolve(file);
    const content = readFileSync(path, 'utf8');
    const script = parseScript(content, path);
    const sha256 = hashScript(content);
    const existing = this.get(script.id, script.version);
    if (existing) {
      if (existing.sha256 !== sha256) {
        throw new ScriptError('script_changed', `${script.id}@${script.version} is already approved with different content (sha256 ${existing.sha256.slice(0, 12)}…); approved versions are immutable: bump "version" to approve the change`);
      }
      return { approval: existing, script, created: false };
    }
    const row = {
      scriptId: script.id,
      version: script.version,
      sha256,
      file: path,
      content,
      language: script.language,
      callType: script.callType,
      approvedBy: opts.approvedBy ?? null,
      approvedAt: (opts.now ?? new Date()).toISOString(),
    };
    this.s.insert.run(row);
    return { approval: this.get(script.id, script.version)!, script, created: true };
  }

  get(scriptId: string, version: string): ApprovedScript | null {
    return (this.s.get.get(scriptId, version) as ApprovedScript | undefined) ?? null;
  }

  list(): ApprovedScript[] {
    return this.s.list.all() as ApprovedScript[];
  }

  /** Loads `id@version` from its approved file, re-hashing it: throws ScriptError when it is not what was approved. */
  load(ref: string): LoadedScript {
    const r = parseScriptRef(ref);
    if (!r) throw new ScriptError('script_not_approved', `script reference ${JSON.stringify(ref)} is not "id@version"`);
    const approval = this.get(r.id, r.version);
    if (!approval) throw new ScriptError('script_not_approved', `script ${ref} has not been approved (earshot scripts approve <file>)`);
    let content: string;
    try {
      content = readFileSync(approval.file, 'utf8');
    } catch (e) {
      throw new ScriptError('script_changed', `approved file of ${ref} cannot be read (${(e as Error).message})`);
    }
    const sha = hashScript(content);
    if (sha !== approval.sha256) {
      throw new ScriptError('script_changed', `script file ${approval.file} changed after ${ref} was approved (sha256 ${sha.slice(0, 12)}… ≠ approved ${approval.sha256.slice(0, 12)}…); approve it as a new version`);
    }
    const script = parseScript(content, approval.file);
    return { script, approval };
  }
}
