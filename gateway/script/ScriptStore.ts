// Approved script versions: `earshot scripts approve <file>` records the file's text and sha256 as an immutable
// approved version (id@version) in the shared store (SQLite, or PostgreSQL for a fleet: ScriptApprovals). At call
// time the approved text runs; where the file is on this machine it is re-hashed too, so a file edited after
// approval is refused rather than silently ignored. Approved rows are never updated or deleted.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config.js';
import { fleetDatabase } from '../store/engine.js';
import { sharedDatabase, type Db } from '../store/Database.js';
import { hashScript, parseScript, parseScriptRef, type Script } from './format.js';
import { PgScriptApprovals } from './PgScriptApprovals.js';
import type { ApprovedScript, ApprovedScriptRecord, ScriptApprovals } from './ScriptApprovals.js';
import { SCRIPT_MIGRATIONS, SqliteScriptApprovals } from './SqliteScriptApprovals.js';

export type { ApprovedScript } from './ScriptApprovals.js';
export { SCRIPT_MIGRATIONS } from './SqliteScriptApprovals.js';



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
  private readonly approvals: ScriptApprovals;
  /** Approved versions never change: each is read from the engine once per process. */
  private readonly cache = new Map<string, ApprovedScriptRecord>();

  static open(opts: { dataDir: string; file?: string }): ScriptStore {
    return new ScriptStore(sharedDatabase({ dataDir: opts.dataDir, file: opts.file, migrations: [SCRIPT_MIGRATIONS] }));
  }

  /** The store the configuration names: the fleet's PostgreSQL database (database.url), else SQLite in dataDir. */
  static async forConfig(config: Pick<Config, 'dataDir' | 'database'>): Promise<ScriptStore> {
    const fleet = fleetDatabase(config);
    if (!fleet) return ScriptStore.open({ dataDir: config.dataDir });
    try {
      return new ScriptStore(await PgScriptApprovals.open(fleet.pg, fleet.release));
    } catch (e) {
      await fleet.release();
      throw e;
    }
  }

  /** On an engine's approvals (SqliteScriptApprovals, PgScriptApprovals), or on a SQLite database directly. */
  constructor(store: ScriptApprovals | Db) {
    this.approvals = 'prepare' in store ? new SqliteScriptApprovals(store) : store;
  }

  /**
   * Records the file as approved. Re-approving identical content is a no-op; a different content under an existing
   * id@version is refused (bump the version instead).
   */
  async approve(file: string, opts: { approvedBy?: string; now?: Date } = {}): Promise<{ approval: ApprovedScript; script: Script; created: boolean }> {
    const path = resolve(file);
    const content = readFileSync(path, 'utf8');
    const script = parseScript(content, path);
    const sha256 = hashScript(content);
    const { stored, created } = await this.approvals.insert({
      scriptId: script.id,
      version: script.version,
      sha256,
      file: path,
      content,
      language: script.language,
      callType: script.callType,
      approvedBy: opts.approvedBy ?? null,
      approvedAt: (opts.now ?? new Date()).toISOString(),
    });
    if (!created && stored.sha256 !== sha256) {
      throw new ScriptError('script_changed', `${script.id}@${script.version} is already approved with different content (sha256 ${stored.sha256.slice(0, 12)}…); approved versions are immutable: bump "version" to approve the change`);
    }
    return { approval: meta(stored), script, created };
  }

  async get(scriptId: string, version: string): Promise<ApprovedScript | null> {
    const r = await this.record(scriptId, version);
    return r ? meta(r) : null;
  }

  list(): Promise<ApprovedScript[]> {
    return this.approvals.list();
  }

  /**
   * Loads `id@version` as approved: the approved text from the store (every instance of a fleet has it, wherever
   * the file was), re-hashed against the approval. Where the approved file is on this machine it is re-read too:
   * a file edited after approval is refused (script_changed), not silently ignored.
   */
  async load(ref: string): Promise<LoadedScript> {
    const r = parseScriptRef(ref);
    if (!r) throw new ScriptError('script_not_approved', `script reference ${JSON.stringify(ref)} is not "id@version"`);
    const rec = await this.record(r.id, r.version);
    if (!rec) throw new ScriptError('script_not_approved', `script ${ref} has not been approved (earshot scripts approve <file>)`);
    if (hashScript(rec.content) !== rec.sha256) {
      throw new ScriptError('script_changed', `the stored text of ${ref} does not match its approved sha256: the approval was tampered with`);
    }
    if (existsSync(rec.file)) {
      let onDisk: string;
      try {
        onDisk = readFileSync(rec.file, 'utf8');
      } catch (e) {
        throw new ScriptError('script_changed', `approved file of ${ref} cannot be read (${(e as Error).message})`);
      }
      const sha = hashScript(onDisk);
      if (sha !== rec.sha256) {
        throw new ScriptError('script_changed', `script file ${rec.file} changed after ${ref} was approved (sha256 ${sha.slice(0, 12)}… ≠ approved ${rec.sha256.slice(0, 12)}…); approve it as a new version`);
      }
    }
    return { script: parseScript(rec.content, rec.file), approval: meta(rec) };
  }

  async close(): Promise<void> {
    await this.approvals.close?.();
  }

  private async record(scriptId: string, version: string): Promise<ApprovedScriptRecord | null> {
    const key = `${scriptId}@${version}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const rec = await this.approvals.get(scriptId, version);
    if (rec) this.cache.set(key, rec);
    return rec;
  }
}

function meta(r: ApprovedScriptRecord): ApprovedScript {
  const { content: _content, ...m } = r;
  return m;
}
