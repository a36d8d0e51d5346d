// `earshot evidence export --since … --out DIR`: a segment of the chain (or all of it) as plain files an auditor can
// check offline, from either engine, with nothing of ours but the documented canonical form (README.md):
//   DIR/records.jsonl      one record per line, every column (the hashed fields, hash, keyId, mac), chain order
//   DIR/<audioFile>        each record's WAV at the path its record names (evidence/<date>/<id>.wav)
//   DIR/manifest.json      what was exported: the segment's anchor (seq and hash of the record before its first, or
//                          null from the genesis), its head, counts, the SHA-256 of records.jsonl, and a checkpoint
//                          of the head signed with the evidence key when the exporter has it
//   DIR/checkpoints.jsonl  the local checkpoint file, when there is one
// `earshot evidence verify --export DIR` checks such a folder with the same verifyChain as the live store.
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve, sep } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { parseCheckpoints, signCheckpoint, checkpointProblem, type ChainHead, type Checkpoint } from './checkpoint.js';
import type { EvidenceLedger } from './EvidenceLedger.js';
import type { Keyring } from './keyring.js';
import type { EvidenceRecord, VerifyResult } from './types.js';
import { verifyChain, type VerifyOptions } from './verify.js';

export const EXPORT_FORMAT = 'earshot-evidence-export/1';

export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  exportedAt: string;
  source: { engine: string; location: string };
  /** What `--since` asked for (an ISO time on the store's clock, or a seq), null for the whole chain. */
  since: string | null;
  /** The record just before the first exported one: its seq and hash (the first record's prevHash). Null: genesis. */
  after: ChainHead | null;
  first: { seq: number; id: string } | null;
  head: { seq: number; id: string; hash: string } | null;
  records: number;
  audioFiles: number;
  recordsFile: { path: 'records.jsonl'; sha256: string };
  /** The head signed with the evidence key (checkpoint.ts format), or null when the exporter had no key. */
  checkpoint: Checkpoint | null;
  checkpointsFile: 'checkpoints.jsonl' | null;
}

/** `--since` as the store understands it: a seq (digits) or a date/time (ISO 8601; a bare date is midnight UTC). */
export function parseSince(s: string): { seq: number } | { iso: string } | null {
  if (/^\d+$/.test(s)) return Number(s) >= 1 ? { seq: Number(s) } : null;
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s);
  return Number.isFinite(t) ? { iso: new Date(t).toISOString() } : null;
}

export async function exportEvidence(
  ledger: EvidenceLedger,
  opts: { outDir: string; since?: string; checkpointFile?: string | null; now?: () => Date },
): Promise<ExportManifest> {
  const out = resolve(opts.outDir);
  mkdirSync(out, { recursive: true, mode: 0o700 });
  if (existsSync(join(out, 'manifest.json'))) throw new Error(`${out} already holds an export`);
  let fromSeq = 1;
  if (opts.since !== undefined) {
    const s = parseSince(opts.since);
    if (!s) throw new Error(`--since ${JSON.stringify(opts.since)} is neither a seq nor an ISO date/time`);
    const first = 'seq' in s ? s.seq : await ledger.firstSeqSince(s.iso);
    fromSeq = first ?? ((await ledger.head())?.seq ?? 0) + 1; // nothing since then: an empty segment after the head
  }
  const after = fromSeq > 1 ? await ledger.at(fromSeq - 1) : null;
  if (fromSeq > 1 && !after) throw new Error(`the chain has no record ${fromSeq - 1} to anchor the export to`);

  const recordsPath = join(out, 'records.jsonl');
  const fd = openSync(recordsPath, 'wx', 0o600);
  const hash = createHash('sha256');
  let first: ExportManifest['first'] = null;
  let head: ExportManifest['head'] = null;
  let records = 0;
  let audioFiles = 0;
  try {
    for await (const { record, wav } of ledger.scan(fromSeq)) {
      const line = `${JSON.stringify(record)}\n`;
      writeSync(fd, line);
      hash.update(line);
      if (wav && record.audioFile !== null) {
        const p = inside(out, record.audioFile);
        mkdirSync(dirname(p), { recursive: true, mode: 0o700 });
        writeFileSync(p, wav, { mode: 0o600 });
        audioFiles++;
      }
      first ??= { seq: record.seq, id: record.id };
      head = { seq: record.seq, id: record.id, hash: record.hash };
      records++;
    }
  } finally {
    closeSync(fd);
  }
  let checkpointsFile: ExportManifest['checkpointsFile'] = null;
  if (opts.checkpointFile && existsSync(opts.checkpointFile)) {
    copyFileSync(opts.checkpointFile, join(out, 'checkpoints.jsonl'));
    checkpointsFile = 'checkpoints.jsonl';
  }
  const key = ledger.keys?.current;
  const manifest: ExportManifest = {
    format: EXPORT_FORMAT,
    exportedAt: (opts.now?.() ?? new Date()).toISOString(),
    source: { engine: ledger.engine, location: ledger.location },
    since: opts.since ?? null,
    after,
    first,
    head,
    records,
    audioFiles,
    recordsFile: { path: 'records.jsonl', sha256: hash.digest('hex') },
    checkpoint: key && head ? signCheckpoint({ seq: head.seq, hash: head.hash }, key, opts.now?.() ?? new Date()) : null,
    checkpointsFile,
  };
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  return manifest;
}

/**
 * Checks an export folder offline: the manifest's records file hash, then every record, link and WAV through
 * verifyChain from the segment's anchor, with the manifest's signed checkpoint and the copied checkpoints pinning
 * the head (checkpoints before the segment cannot be checked against it and are left out).
 */
export function verifyExport(dir: string, opts: { keyring?: Keyring | null; expectHead?: ChainHead } = {}): VerifyResult & { manifest: ExportManifest | null } {
  const root = resolve(dir);
  const fail = (reason: string, manifest: ExportManifest | null = null) => ({
    ok: false,
    checked: 0,
    firstBad: { id: null, reason },
    macs: opts.keyring ? ('checked' as const) : ('unchecked' as const),
    anchors: { checkpoints: 0, anchoredTo: 0 },
    manifest,
  });
  let manifest: ExportManifest;
  try {
    manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as ExportManifest;
  } catch (e) {
    return fail(`no readable manifest.json in ${root}: ${(e as Error).message}`);
  }
  if (manifest.format !== EXPORT_FORMAT) return fail(`unknown export format ${JSON.stringify(manifest.format)}`, manifest);
  const recordsPath = join(root, 'records.jsonl');
  if (!existsSync(recordsPath)) return fail('records.jsonl is missing', manifest);
  const sha = createHash('sha256').update(readFileSync(recordsPath)).digest('hex');
  if (sha !== manifest.recordsFile.sha256) return fail(`records.jsonl has sha256 ${sha}, the manifest says ${manifest.recordsFile.sha256}: the file was altered`, manifest);

  const checkpoints: Checkpoint[] = [];
  const problems: string[] = [];
  let torn = false;
  if (manifest.checkpoint) {
    if (opts.keyring) {
      const bad = checkpointProblem(manifest.checkpoint, opts.keyring);
      if (bad) return fail(`the manifest's checkpoint: ${bad}`, manifest);
    }
    checkpoints.push(manifest.checkpoint);
  }
  if (manifest.checkpointsFile && existsSync(join(root, manifest.checkpointsFile))) {
    const parsed = parseCheckpoints(readFileSync(join(root, manifest.checkpointsFile), 'utf8'));
    const from = manifest.after?.seq ?? 0;
    checkpoints.push(...parsed.checkpoints.filter((c) => c.seq > from));
    problems.push(...parsed.problems);
    torn = parsed.tornTail;
  }
  const vo: VerifyOptions = {
    keyring: opts.keyring ?? null,
    checkpoints,
    checkpointProblems: problems,
    tornCheckpointTail: torn,
    expectHead: opts.expectHead,
    after: manifest.after ?? undefined,
  };
  const r = verifyChain(readRecords(recordsPath), (rec) => (rec.audioFile === null ? null : inside(root, rec.audioFile)), vo);
  if (r.ok && (r.checked !== manifest.records || (r.head?.seq ?? null) !== (manifest.head?.seq ?? null))) {
    return { ...r, ok: false, firstBad: { id: null, reason: `the export holds ${r.checked} records up to seq ${r.head?.seq ?? '–'}, its manifest says ${manifest.records} up to ${manifest.head?.seq ?? '–'}` }, manifest };
  }
  return { ...r, manifest };
}

/** A path the record names, which must stay inside the export folder. */
function inside(root: string, rel: string): string {
  const p = resolve(root, ...rel.split('/'));
  if (!p.startsWith(root + sep)) throw new Error(`audio path ${JSON.stringify(rel)} leaves the export folder`);
  return p;
}

/** records.jsonl line by line, synchronously (verifyChain walks an Iterable), a 1 MB buffer at a time. */
function* readRecords(path: string): Generator<EvidenceRecord> {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    const utf8 = new StringDecoder('utf8'); // a character split across two reads stays whole
    let rest = '';
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      rest += utf8.write(buf.subarray(0, n));
      let i: number;
      while ((i = rest.indexOf('\n')) >= 0) {
        const line = rest.slice(0, i);
        rest = rest.slice(i + 1);
        if (line) yield JSON.parse(line) as EvidenceRecord;
      }
    }
    if (rest.trim()) yield JSON.parse(rest) as EvidenceRecord;
  } finally {
    closeSync(fd);
  }
}
