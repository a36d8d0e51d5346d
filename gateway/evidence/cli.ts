// `earshot evidence verify [...]` and `earshot evidence show <id> [...]`. Opens the database read-only and never
// creates a key or a checkpoint: an audit must never change what it audits.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadConfig } from '../config.js';
import { groupHelp, helpText, parseCommandLine, subcommand, UsageError, type CommandSpec, type OptionSpec } from '../ops/commandLine.js';
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

const SOURCE_OPTIONS = {
  db: { type: 'string', value: 'FILE', help: 'the SQLite database (default: <dataDir>/earshot.db from the configuration)' },
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
      json: { type: 'boolean', help: 'the result as JSON' },
    },
    notes: 'Without a MAC key the MACs are not checked (said in the output); without checkpoints, records removed from the end would not be noticed.',
  },
  show: {
    usage: 'earshot evidence show',
    summary: 'One record as JSON with its audio path and whether it is intact. Exit 0 intact, 1 missing or damaged.',
    args: [{ name: 'id', help: 'the evidence record id', required: true }],
    options: SOURCE_OPTIONS,
  },
} as const satisfies Record<string, CommandSpec>;

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

/** The subcommand and its options, read and checked before anything is opened. */
function parseArgs(args: string[]): { sub: keyof typeof EVIDENCE_COMMANDS; p: Parsed } | { help: string } {
  const { name, rest } = subcommand('earshot evidence', EVIDENCE_COMMANDS, args);
  if (!name) return { help: groupHelp('earshot evidence', EVIDENCE_COMMANDS) };
  const spec: CommandSpec = EVIDENCE_COMMANDS[name];
  const r = parseCommandLine(spec, rest);
  if (r.help) return { help: helpText(spec) };
  const v = r.values as Record<string, string | boolean | undefined>;
  const str = (k: string) => v[k] as string | undefined;
  const p: Parsed = { positional: r.args, db: str('db'), dataDir: str('data-dir'), keyFile: str('key-file'), checkpoints: str('checkpoints'), noCheckpoints: v['no-checkpoints'] === true, json: v.json === true };
  if (p.checkpoints !== undefined && p.noCheckpoints) throw new UsageError('--checkpoints and --no-checkpoints exclude each other', spec);
  const head = str('expect-head');
  if (head !== undefined) {
    const h = parseHead(head);
    if (!h) throw new UsageError('--expect-head needs <seq>:<64 hex digits>', spec);
    p.expectHead = h;
  }
  return { sub: name, p };
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
