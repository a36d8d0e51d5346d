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
import { groupHelp, helpText, parseCommandLine, subcommand, UsageError, type CommandSpec, type OptionSpec } from '../ops/commandLine.js';
import { databasePath, openDatabase } from '../store/Database.js';
import { Postgres } from '../store/postgres/Postgres.js';
import { canonicalJson } from './canonical.js';
import { checkOne } from './checkOne.js';
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

const SOURCE_OPTIONS = {
  db: {
    type: 'string',
    value: 'FILE',
    help: 'the SQLite database (default: the fleet\'s PostgreSQL database when EARSHOT_DATABASE_URL / database.url is set, else <dataDir>/earshot.db from the configuration)',
  },
  'data-dir': { type: 'string', value: 'DIR', help: "where audio paths resolve (default: the database file's folder)" },
  'key-file': { type: 'string', value: 'FILE', help: `the MAC key (default: ${KEY_ENV}, else evidence.keyFile, else evidence.key beside the database)` },
} as const satisfies Record<string, OptionSpec>;

export const EVIDENCE_COMMANDS = {
  verify: {
    usage: 'earshot evidence verify',
    summary: 'Check the whole chain: hashes, MACs, audio files, checkpoints. Exit 0 ok, 1 failed, 2 usage or I/O error.',
    options: {
      ...SOURCE_OPTIONS,
      checkpoints: { type: 'string', value: 'FILE', help: 'signed head checkpoints (default: evidence.checkpointFile, else evidence-checkpoints.jsonl beside the database, if it exists)' },
      'no-checkpoints': { type: 'boolean', help: 'do not read checkpoints' },
      'expect-head': { type: 'string', value: 'SEQ:HASH', help: 'a head printed by an earlier verify: the chain must still hold it' },
      export: { type: 'string', value: 'DIR', help: 'check a folder written by `earshot evidence export` offline instead of a database' },
      json: { type: 'boolean', help: 'the result as JSON' },
    },
    notes:
      'Without a MAC key the MACs are not checked (said in the output); without checkpoints, records removed from the end would not be noticed. ' +
      'The database URL comes only from the environment or the config file, never the command line, and is printed without its password.',
  },
  show: {
    usage: 'earshot evidence show',
    summary: 'One record as JSON with its audio path and whether it is intact. Exit 0 intact, 1 missing or damaged.',
    args: [{ name: 'id', help: 'the evidence record id', required: true }],
    options: SOURCE_OPTIONS,
  },
  export: {
    usage: 'earshot evidence export',
    summary: 'Write records.jsonl, the WAVs and a signed manifest.json for an auditor (gateway/evidence/README.md).',
    options: {
      ...SOURCE_OPTIONS,
      out: { type: 'string', value: 'DIR', help: 'the folder to write (required; must not exist or be empty)' },
      since: { type: 'string', value: 'TIME|SEQ', help: 'only the records stored from this ISO date/time (or chain seq) on' },
      checkpoints: { type: 'string', value: 'FILE', help: 'signed head checkpoints copied into the manifest (default as for verify)' },
      'no-checkpoints': { type: 'boolean', help: 'do not read checkpoints' },
    },
    notes: '`earshot evidence verify --export DIR` checks the folder offline.',
  },
} as const satisfies Record<string, CommandSpec>;

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

/** The subcommand and its options, read and checked before anything is opened. */
function parseArgs(args: string[]): { sub: keyof typeof EVIDENCE_COMMANDS; p: Parsed } | { help: string } {
  const { name, rest } = subcommand('earshot evidence', EVIDENCE_COMMANDS, args);
  if (!name) return { help: groupHelp('earshot evidence', EVIDENCE_COMMANDS) };
  const spec: CommandSpec = EVIDENCE_COMMANDS[name];
  const r = parseCommandLine(spec, rest);
  if (r.help) return { help: helpText(spec) };
  const v = r.values as Record<string, string | boolean | undefined>;
  const str = (k: string) => v[k] as string | undefined;
  const p: Parsed = {
    positional: r.args,
    db: str('db'),
    dataDir: str('data-dir'),
    keyFile: str('key-file'),
    checkpoints: str('checkpoints'),
    noCheckpoints: v['no-checkpoints'] === true,
    json: v.json === true,
    exportDir: str('export'),
    out: str('out'),
    since: str('since'),
  };
  if (p.checkpoints !== undefined && p.noCheckpoints) throw new UsageError('--checkpoints and --no-checkpoints exclude each other', spec);
  if (name === 'export' && !p.out) throw new UsageError('export needs --out <dir>', spec);
  if (p.exportDir !== undefined && (p.db !== undefined || p.dataDir !== undefined)) throw new UsageError('--export checks a folder: no --db or --data-dir', spec);
  const head = str('expect-head');
  if (head !== undefined) {
    const h = parseHead(head);
    if (!h) throw new UsageError('--expect-head needs <seq>:<64 hex digits>', spec);
    p.expectHead = h;
  }
  return { sub: name, p };
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
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`earshot evidence: ${e.message}\n${e.spec ? helpText(e.spec) : ''}`);
    return 2;
  }
  if ('help' in parsed) {
    io.out(parsed.help);
    return 0;
  }
  const { sub, p } = parsed;
  const rest = p.positional;
  if (sub === 'verify' && p.exportDir) return verifyExportCli(p, io);
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
