// `earshot evidence verify [--db path] [--data-dir dir] [--json]` and `earshot evidence show <id> [...]`.
// Opens the database read-only: an audit must never change what it audits.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadConfig } from '../config.js';
import { databasePath, openDatabase } from '../store/Database.js';
import { canonicalJson } from './canonical.js';
import { parseEvidenceConfig } from './config.js';
import { EvidenceStore } from './EvidenceStore.js';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const stdio: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

const USAGE = `usage:
  earshot evidence verify [--db <file>] [--data-dir <dir>] [--json]
  earshot evidence show <id> [--db <file>] [--data-dir <dir>]
--db defaults to <dataDir>/earshot.db from the configuration; audio paths resolve against --data-dir, which defaults
to the database file's directory.
`;

interface Parsed {
  positional: string[];
  db?: string;
  dataDir?: string;
  json: boolean;
}

function parseArgs(args: string[]): Parsed | string {
  const p: Parsed = { positional: [], json: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--json') p.json = true;
    else if (a === '--db' || a === '--data-dir') {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) return `${a} needs a value`;
      if (a === '--db') p.db = v;
      else p.dataDir = v;
    } else if (a.startsWith('--')) return `unknown option ${a}`;
    else p.positional.push(a);
  }
  return p;
}

function openStore(p: Parsed): EvidenceStore {
  let dbFile = p.db;
  let dataDir = p.dataDir;
  if (!dbFile) {
    const cfg = loadConfig();
    dataDir ??= cfg.dataDir;
    dbFile = parseEvidenceConfig(cfg.evidence).dbFile ?? databasePath(cfg.dataDir);
  }
  dbFile = resolve(dbFile);
  if (!existsSync(dbFile)) throw new Error(`no database at ${dbFile}`);
  const db = openDatabase({ file: dbFile, readonly: true });
  return new EvidenceStore(db, { dataDir: dataDir ?? dirname(dbFile) });
}

/** Exit codes: 0 ok, 1 verification failed / record not found or damaged, 2 usage or I/O error. */
export async function evidenceCli(args: string[], io: CliIo = stdio): Promise<number> {
  const p = parseArgs(args);
  if (typeof p === 'string') {
    io.err(`${p}\n${USAGE}`);
    return 2;
  }
  const [sub, ...rest] = p.positional;
  if (sub !== 'verify' && sub !== 'show') {
    io.err(USAGE);
    return 2;
  }
  let store: EvidenceStore;
  try {
    store = openStore(p);
  } catch (e) {
    io.err(`earshot evidence: ${(e as Error).message}\n`);
    return 2;
  }
  try {
    if (sub === 'verify') {
      const r = store.verify();
      if (p.json) io.out(`${JSON.stringify(r)}\n`);
      else if (r.ok) io.out(`ok: ${r.checked} records verified${r.head ? `, head ${r.head.id} hash ${r.head.hash}` : ''}\n`);
      else io.out(`FAILED at record ${r.firstBad!.id} (${r.checked} checked): ${r.firstBad!.reason}\n`);
      return r.ok ? 0 : 1;
    }
    const id = rest[0];
    if (!id) {
      io.err(USAGE);
      return 2;
    }
    const rec = store.get(id);
    if (!rec) {
      io.err(`no evidence record ${id}\n`);
      return 1;
    }
    const problem = store.checkOne(id);
    const out = { record: rec, audioPath: store.audioPath(id), intact: problem === null, problem, canonical: canonicalJson(rec) };
    io.out(`${JSON.stringify(out, null, 2)}\n`);
    return problem === null ? 0 : 1;
  } finally {
    store.db.close();
  }
}
