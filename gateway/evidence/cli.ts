// `earshot evidence verify [...]` and `earshot evidence show <id> [...]`. Opens the database read-only and never
// creates a key or a checkpoint: an audit must never change what it audits.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadConfig } from '../config.js';
import { databasePath, openDatabase } from '../store/Database.js';
import { canonicalJson } from './canonical.js';
import { parseCheckpoints, parseHead, type ChainHead } from './checkpoint.js';
import { parseEvidenceConfig, type EvidenceConfig } from './config.js';
import { EvidenceStore } from './EvidenceStore.js';
import { KEY_ENV, loadEvidenceKeys } from './keyFile.js';
import type { Keyring } from './keyring.js';
import type { VerifyOptions } from './verify.js';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const stdio: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

const USAGE = `usage:
  earshot evidence verify [--db <file>] [--data-dir <dir>] [--key-file <file>] [--checkpoints <file>|--no-checkpoints]
                          [--expect-head <seq>:<hash>] [--json]
  earshot evidence show <id> [--db <file>] [--data-dir <dir>] [--key-file <file>]
--db defaults to <dataDir>/earshot.db from the configuration; audio paths resolve against --data-dir, which defaults
to the database file's directory. The MAC key: ${KEY_ENV}, else --key-file, else evidence.keyFile, else evidence.key
beside the database; without one, MACs are not checked (said in the output). Checkpoints: --checkpoints, else
evidence.checkpointFile, else evidence-checkpoints.jsonl beside the database, if it exists. --expect-head: a head
printed by an earlier verify; the chain must still hold it.
`;

interface Parsed {
  positional: string[];
  db?: string;
  dataDir?: string;
  keyFile?: string;
  checkpoints?: string;
  noCheckpoints: boolean;
  expectHead?: ChainHead;
  json: boolean;
}

const VALUED = ['--db', '--data-dir', '--key-file', '--checkpoints', '--expect-head'] as const;

function parseArgs(args: string[]): Parsed | string {
  const p: Parsed = { positional: [], json: false, noCheckpoints: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--json') p.json = true;
    else if (a === '--no-checkpoints') p.noCheckpoints = true;
    else if ((VALUED as readonly string[]).includes(a)) {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) return `${a} needs a value`;
      if (a === '--db') p.db = v;
      else if (a === '--data-dir') p.dataDir = v;
      else if (a === '--key-file') p.keyFile = v;
      else if (a === '--checkpoints') p.checkpoints = v;
      else {
        const h = parseHead(v);
        if (!h) return '--expect-head needs <seq>:<64 hex digits>';
        p.expectHead = h;
      }
    } else if (a.startsWith('--')) return `unknown option ${a}`;
    else p.positional.push(a);
  }
  return p;
}

interface Opened {
  store: EvidenceStore;
  keySource: string | null;
  checkpointFile: string | null;
}

function openStore(p: Parsed): Opened {
  let dbFile = p.db;
  let dataDir = p.dataDir;
  let cfg: EvidenceConfig = parseEvidenceConfig({});
  if (!dbFile) {
    const all = loadConfig();
    dataDir ??= all.dataDir;
    cfg = parseEvidenceConfig(all.evidence);
    dbFile = cfg.dbFile ?? databasePath(all.dataDir);
  }
  dbFile = resolve(dbFile);
  if (!existsSync(dbFile)) throw new Error(`no database at ${dbFile}`);
  let keys: Keyring | null = null;
  let keySource: string | null = null;
  try {
    const k = loadEvidenceKeys({ env: process.env, keyFile: p.keyFile ?? cfg.keyFile, dbFile, mayCreate: false, create: false });
    keys = k.ring;
    keySource = k.source;
  } catch (e) {
    // An explicitly named key that cannot be read is an error; no key at all only weakens the check (reported).
    if (p.keyFile || cfg.keyFile || process.env[KEY_ENV]) throw e;
  }
  let checkpointFile: string | null = null;
  if (!p.noCheckpoints) {
    const f = resolve(p.checkpoints ?? cfg.checkpointFile ?? join(dirname(dbFile), 'evidence-checkpoints.jsonl'));
    if (existsSync(f)) checkpointFile = f;
    else if (p.checkpoints) throw new Error(`no checkpoint file at ${f}`);
  }
  const db = openDatabase({ file: dbFile, readonly: true });
  return { store: new EvidenceStore(db, { dataDir: dataDir ?? dirname(dbFile), keys }), keySource, checkpointFile };
}

function verifyOptions(p: Parsed, o: Opened): VerifyOptions {
  const opts: VerifyOptions = { expectHead: p.expectHead };
  if (o.checkpointFile) {
    const parsed = parseCheckpoints(readFileSync(o.checkpointFile, 'utf8'));
    opts.checkpoints = parsed.checkpoints;
    opts.checkpointProblems = parsed.problems;
    opts.tornCheckpointTail = parsed.tornTail;
  }
  return opts;
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
  let opened: Opened;
  try {
    opened = openStore(p);
  } catch (e) {
    io.err(`earshot evidence: ${(e as Error).message}\n`);
    return 2;
  }
  const { store } = opened;
  try {
    if (sub === 'verify') {
      const r = store.verify(verifyOptions(p, opened));
      if (p.json) io.out(`${JSON.stringify({ ...r, keySource: opened.keySource, checkpointFile: opened.checkpointFile })}\n`);
      else io.out(verifyReport(r, opened));
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

function verifyReport(r: ReturnType<EvidenceStore['verify']>, o: Opened): string {
  const lines: string[] = [];
  if (r.ok) {
    lines.push(`ok: ${r.checked} records verified${r.head ? `, head ${r.head.seq}:${r.head.hash} (${r.head.id})` : ''}`);
  } else {
    const where = r.firstBad!.id ? `at record ${r.firstBad!.id}${r.firstBad!.seq ? ` (seq ${r.firstBad!.seq})` : ''}` : 'for the chain';
    lines.push(`FAILED ${where} (${r.checked} checked): ${r.firstBad!.reason}`);
  }
  lines.push(r.macs === 'checked' ? `MACs checked with key(s) from ${o.keySource}` : 'WARNING: no evidence key: MACs not checked, a rewritten chain would pass');
  if (o.checkpointFile) lines.push(`${r.anchors.checkpoints} checkpoints from ${o.checkpointFile}${r.anchors.tornTail ? ' (last line torn, ignored)' : ''}`);
  else lines.push('WARNING: no checkpoint file: records removed from the end would not be noticed');
  if (r.ok && r.head && r.anchors.anchoredTo < r.head.seq) lines.push(`note: records after seq ${r.anchors.anchoredTo} are not yet anchored by a checkpoint`);
  return `${lines.join('\n')}\n`;
}
