// `earshot evidence verify [...]`, `earshot evidence show <id> [...]` and `earshot evidence export --out DIR [...]`,
// on whichever engine holds the chain: the fleet's PostgreSQL database when EARSHOT_DATABASE_URL (database.url) is
// set and no --db is given, else the SQLite file. `verify --export DIR` checks an export folder offline. Opens
// everything read-only and never creates a key or a checkpoint: an audit must never change what it audits. The
// database URL comes only from the environment or config file (never the command line, where `ps` would show its
// password) and is printed without its password.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { loadConfig, type Config } from '../config.js';
import { databasePath, openDatabase } from '../store/Database.js';
import { Postgres } from '../store/postgres/Postgres.js';
import { canonicalJson } from './canonical.js';
import { parseCheckpoints, parseHead, type ChainHead } from './checkpoint.js';
import { parseEvidenceConfig, type EvidenceConfig } from './config.js';
import type { EvidenceLedger } from './EvidenceLedger.js';
import { EvidenceStore } from './EvidenceStore.js';
import { exportEvidence, verifyExport } from './export.js';
import { KEY_ENV, loadEvidenceKeys } from './keyFile.js';
import type { Keyring } from './keyring.js';
import { PgEvidenceStore } from './PgEvidenceStore.js';
import { SqliteEvidenceLedger } from './SqliteEvidenceLedger.js';
import { checkRecord, type VerifyOptions } from './verify.js';

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
  earshot evidence verify --export <dir> [--key-file <file>] [--expect-head <seq>:<hash>] [--json]
  earshot evidence show <id> [--db <file>] [--data-dir <dir>] [--key-file <file>]
  earshot evidence export --out <dir> [--since <ISO date/time | seq>] [--db <file>] [--data-dir <dir>] [--key-file <file>]
The chain: --db <file> (SQLite), else the fleet's PostgreSQL database when EARSHOT_DATABASE_URL is set, else
<dataDir>/earshot.db from the configuration; audio paths resolve against --data-dir, which defaults to the database
file's directory. export writes records.jsonl, the WAVs and manifest.json (gateway/evidence/README.md) for an
auditor; --since takes the records stored from that time (or seq) on. The MAC key: ${KEY_ENV}, else --key-file, else evidence.keyFile, else evidence.key
beside the database; without one, MACs are not checked (said in the output). Checkpoints: --checkpoints, else
evidence.checkpointFile, else evidence-checkpoints.jsonl beside the database, if it exists. --expect-head: a head
printed by an earlier verify; the chain must still hold it.
`;

interface Parsed {
  positional: string[];
  db?: string;
  exportDir?: string;
  out?: string;
  since?: string;
  dataDir?: string;
  keyFile?: string;
  checkpoints?: string;
  noCheckpoints: boolean;
  expectHead?: ChainHead;
  json: boolean;
}

const VALUED = ['--db', '--data-dir', '--key-file', '--checkpoints', '--expect-head', '--export', '--out', '--since'] as const;

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
      else if (a === '--export') p.exportDir = v;
      else if (a === '--out') p.out = v;
      else if (a === '--since') p.since = v;
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
  ledger: EvidenceLedger;
  keySource: string | null;
  checkpointFile: string | null;
  close: () => Promise<void>;
}

/** The keys for checking (never created here): an explicitly named key that cannot be read is an error. */
function readKeys(p: Parsed, cfg: EvidenceConfig, dbFile: string): { keys: Keyring | null; keySource: string | null } {
  try {
    const k = loadEvidenceKeys({ env: process.env, keyFile: p.keyFile ?? cfg.keyFile, dbFile, mayCreate: false, create: false });
    return { keys: k.ring, keySource: k.source };
  } catch (e) {
    // No key at all only weakens the check (reported).
    if (p.keyFile || cfg.keyFile || process.env[KEY_ENV]) throw e;
    return { keys: null, keySource: null };
  }
}

function checkpointFileFor(p: Parsed, cfg: EvidenceConfig, besides: string): string | null {
  if (p.noCheckpoints) return null;
  const f = resolve(p.checkpoints ?? cfg.checkpointFile ?? join(besides, 'evidence-checkpoints.jsonl'));
  if (existsSync(f)) return f;
  if (p.checkpoints) throw new Error(`no checkpoint file at ${f}`);
  return null;
}

async function openStore(p: Parsed): Promise<Opened> {
  let dbFile = p.db;
  let dataDir = p.dataDir;
  let cfg: EvidenceConfig = parseEvidenceConfig({});
  let all: Config | null = null;
  if (!dbFile) {
    all = loadConfig();
    dataDir ??= all.dataDir;
    cfg = parseEvidenceConfig(all.evidence);
    if (all.database.url) {
      // The fleet's chain. This instance's checkpoint file (if the CLI runs beside a gateway) anchors it.
      const dir = resolve(dataDir);
      const { keys, keySource } = readKeys(p, cfg, join(dir, 'earshot.db'));
      const checkpointFile = checkpointFileFor(p, cfg, dir);
      const db = new Postgres({ url: all.database.url, connectTimeoutMs: all.database.connectTimeoutMs, statementTimeoutMs: 0 });
      const ledger = new PgEvidenceStore(db, { url: all.database.url, dataDir: dir, config: cfg, keys, checkpoints: null });
      return { ledger, keySource, checkpointFile, close: () => db.close() };
    }
    dbFile = cfg.dbFile ?? databasePath(all.dataDir);
  }
  dbFile = resolve(dbFile);
  if (!existsSync(dbFile)) throw new Error(`no database at ${dbFile}`);
  const { keys, keySource } = readKeys(p, cfg, dbFile);
  const checkpointFile = checkpointFileFor(p, cfg, dirname(dbFile));
  const db = openDatabase({ file: dbFile, readonly: true });
  const dir = dataDir ?? dirname(dbFile);
  const store = new EvidenceStore(db, { dataDir: dir, keys });
  return {
    ledger: new SqliteEvidenceLedger(store, dir),
    keySource,
    checkpointFile,
    close: async () => {
      db.close();
    },
  };
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
  if (sub !== 'verify' && sub !== 'show' && sub !== 'export') {
    io.err(USAGE);
    return 2;
  }
  if (sub === 'verify' && p.exportDir) return verifyExportCli(p, io);
  if (sub === 'export' && !p.out) {
    io.err(`export needs --out <dir>\n${USAGE}`);
    return 2;
  }
  let opened: Opened;
  try {
    opened = await openStore(p);
  } catch (e) {
    io.err(`earshot evidence: ${(e as Error).message}\n`);
    return 2;
  }
  const { ledger } = opened;
  try {
    if (sub === 'verify') {
      const r = await ledger.verify(verifyOptions(p, opened));
      if (p.json) io.out(`${JSON.stringify({ ...r, keySource: opened.keySource, checkpointFile: opened.checkpointFile, source: ledger.location })}\n`);
      else io.out(verifyReport(r, opened));
      return r.ok ? 0 : 1;
    }
    if (sub === 'export') {
      const m = await exportEvidence(ledger, { outDir: p.out!, since: p.since, checkpointFile: opened.checkpointFile });
      io.out(
        `exported ${m.records} records (seq ${m.first?.seq ?? '–'}…${m.head?.seq ?? '–'}) and ${m.audioFiles} WAVs from ${m.source.location} to ${resolve(p.out!)}` +
          `${m.checkpoint ? '; the head is signed in manifest.json' : '; WARNING: no evidence key, the manifest is unsigned'}\n`,
      );
      return 0;
    }
    const id = rest[0];
    if (!id) {
      io.err(USAGE);
      return 2;
    }
    const rec = await ledger.get(id);
    if (!rec) {
      io.err(`no evidence record ${id}\n`);
      return 1;
    }
    const problem = await checkOne(ledger, rec);
    const audioPath = ledger instanceof SqliteEvidenceLedger ? ledger.store.audioPath(id) : null;
    const out = { record: rec, audioPath, source: ledger.location, intact: problem === null, problem, canonical: canonicalJson(rec) };
    io.out(`${JSON.stringify(out, null, 2)}\n`);
    return problem === null ? 0 : 1;
  } catch (e) {
    io.err(`earshot evidence: ${(e as Error).message}\n`);
    return 2;
  } finally {
    await opened.close();
  }
}

/** One record's own checks (hash, MAC, audio), whichever engine keeps its audio. */
async function checkOne(ledger: EvidenceLedger, rec: Awaited<ReturnType<EvidenceLedger['get']>> & object): Promise<string | null> {
  if (ledger instanceof SqliteEvidenceLedger) return ledger.store.checkOne(rec.id);
  const wav = await ledger.audio(rec.id);
  const tmp = join(tmpdir(), `earshot-show-${process.pid}.wav`);
  if (wav) writeFileSync(tmp, wav, { mode: 0o600 });
  try {
    return checkRecord(rec, () => (wav ? tmp : null), ledger.keys);
  } finally {
    rmSync(tmp, { force: true });
  }
}

function verifyExportCli(p: Parsed, io: CliIo): number {
  let keys: Keyring | null;
  let keySource: string | null;
  try {
    ({ keys, keySource } = readKeys(p, parseEvidenceConfig({}), join(resolve(p.exportDir!), 'earshot.db')));
  } catch (e) {
    io.err(`earshot evidence: ${(e as Error).message}\n`);
    return 2;
  }
  const r = verifyExport(p.exportDir!, { keyring: keys, expectHead: p.expectHead });
  const { manifest, ...result } = r;
  if (p.json) io.out(`${JSON.stringify({ ...result, keySource, export: resolve(p.exportDir!) })}\n`);
  else {
    const from = manifest?.after ? `after seq ${manifest.after.seq}` : 'from the genesis';
    const lines = [
      r.ok
        ? `ok: ${r.checked} exported records verified (${from})${r.head ? `, head ${r.head.seq}:${r.head.hash} (${r.head.id})` : ''}`
        : `FAILED ${r.firstBad!.id ? `at record ${r.firstBad!.id}${r.firstBad!.seq ? ` (seq ${r.firstBad!.seq})` : ''}` : 'for the export'} (${r.checked} checked): ${r.firstBad!.reason}`,
      r.macs === 'checked' ? `MACs checked with key(s) from ${keySource}` : 'WARNING: no evidence key: MACs not checked, a rewritten export would pass',
    ];
    if (manifest?.after) lines.push(`note: the export is anchored to seq ${manifest.after.seq}; compare that hash (${manifest.after.hash}) with an earlier export or head`);
    io.out(`${lines.join('\n')}\n`);
  }
  return r.ok ? 0 : 1;
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
