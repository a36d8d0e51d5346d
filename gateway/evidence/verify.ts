// Integrity checks over stored evidence, engine-neutral (records in, verdict out):
//   * each record: its own hash, its audio file, and — with the key — its MAC;
//   * the chain: every prevHash link and a gap-free seq;
//   * the anchors: signed checkpoints and an expected head (`--expect-head`), which the chain must still contain —
//     the only way to see records removed from the end.
// Kept apart from the store so `earshot evidence show` checks a single record the same way `verify` does.
import { existsSync, readFileSync } from 'node:fs';
import { GENESIS_HASH, recordHash, sha256Hex } from './canonical.js';
import { checkpointProblem, type ChainHead, type Checkpoint } from './checkpoint.js';
import { macEqual, recordMac, type Keyring } from './keyring.js';
import { EVIDENCE_FORMATS, type EvidenceRecord, type VerifyResult } from './types.js';

export interface VerifyOptions {
  /** With the keyring every record MAC and checkpoint MAC is checked; without, only hashes and links. */
  keyring?: Keyring | null;
  checkpoints?: readonly Checkpoint[];
  /** Problems found while reading the checkpoints (a damaged file fails verification). */
  checkpointProblems?: readonly string[];
  tornCheckpointTail?: boolean;
  /** A head recorded earlier ("<seq>:<hash>"): the chain must still hold that record with that hash. */
  expectHead?: ChainHead;
}

/** Problems with one record on its own (contents, MAC, audio), or null when it is intact. */
export function checkRecord(
  rec: EvidenceRecord,
  audioPath: (rec: EvidenceRecord) => string | null,
  ring?: Keyring | null,
): string | null {
  if (!(EVIDENCE_FORMATS as readonly number[]).includes(rec.format)) return `unknown record format ${rec.format}`;
  if (recordHash(rec) !== rec.hash) return 'hash mismatch: the record was altered after it was written';
  if (rec.format === 1 && (rec.keyId !== null || rec.mac !== null)) return 'format 1 record with a MAC';
  if (rec.format >= 2) {
    if (rec.keyId === null || rec.mac === null) return 'MAC missing: the record was altered after it was written';
    if (ring) {
      const key = ring.get(rec.keyId);
      if (!key) return `MAC made with key ${rec.keyId}, which is not in the keyring`;
      if (!macEqual(recordMac(key, rec.hash), rec.mac)) return 'MAC mismatch: the record was altered or forged after it was written';
    }
  }
  if (rec.audioFile !== null) {
    const p = audioPath(rec);
    if (!p || !existsSync(p)) return `audio file missing: ${rec.audioFile}`;
    const sha = sha256Hex(readFileSync(p));
    if (sha !== rec.audioSha256) return `audio file altered: ${rec.audioFile} has sha256 ${sha}, recorded ${rec.audioSha256}`;
  } else if (rec.audioSha256 !== null) {
    return 'audio hash recorded without an audio file';
  }
  return null;
}

/** Walks records in chain order (ascending seq) and stops at the first failure. */
export function verifyChain(
  records: Iterable<EvidenceRecord>,
  audioPath: (rec: EvidenceRecord) => string | null,
  opts: VerifyOptions = {},
): VerifyResult {
  const ring = opts.keyring ?? null;
  const macs = ring ? 'checked' : 'unchecked';
  const anchors: VerifyResult['anchors'] = { checkpoints: opts.checkpoints?.length ?? 0, anchoredTo: 0 };
  if (opts.tornCheckpointTail) anchors.tornTail = true;
  let head: VerifyResult['head'];
  let checked = 0;
  const fail = (id: string | null, reason: string, seq?: number): VerifyResult => ({
    ok: false,
    checked,
    firstBad: seq === undefined ? { id, reason } : { id, seq, reason },
    head,
    macs,
    anchors,
  });

  // The pins: seq → hash every anchor says the chain has there.
  const pins = new Map<number, { hash: string; what: string; authentic: boolean }>();
  const pin = (seq: number, hash: string, what: string, authentic: boolean): string | null => {
    const cur = pins.get(seq);
    if (cur && cur.hash !== hash) return `${what} and ${cur.what} disagree about seq ${seq}`;
    if (!cur || (authentic && !cur.authentic)) pins.set(seq, { hash, what, authentic });
    return null;
  };
  if (opts.checkpointProblems?.length) return fail(null, opts.checkpointProblems[0]);
  for (const cp of opts.checkpoints ?? []) {
    const bad = ring ? checkpointProblem(cp, ring) : null;
    if (bad) return fail(null, bad);
    const clash = pin(cp.seq, cp.hash, `checkpoint of ${cp.at}`, ring !== null);
    if (clash) return fail(null, clash);
  }
  if (opts.expectHead) {
    const clash = pin(opts.expectHead.seq, opts.expectHead.hash, 'the expected head', true);
    if (clash) return fail(null, clash);
  }
  const maxPin = Math.max(0, ...pins.keys());
  // Only an authenticated pin vouches for records that carry no MAC of their own (format 1, before keys).
  const maxAuthenticPin = Math.max(0, ...[...pins].filter(([, p]) => p.authentic).map(([s]) => s));

  let prevHash = GENESIS_HASH;
  let expectSeq = 1;
  let lastUnmacced = 0;
  let prevRank: number | undefined;
  for (const rec of records) {
    checked++;
    const own = checkRecord(rec, audioPath, ring);
    if (own) return fail(rec.id, own, rec.seq);
    if (rec.prevHash !== prevHash) {
      const reason =
        rec.seq === 1 || checked === 1
          ? 'chain broken: the first record does not link to the genesis hash (earlier records removed?)'
          : `chain broken: prevHash does not match record seq ${expectSeq - 1} (a record before this one was removed or altered)`;
      return fail(rec.id, reason, rec.seq);
    }
    if (rec.seq !== expectSeq) return fail(rec.id, `sequence gap: seq ${rec.seq}, expected ${expectSeq}`, rec.seq);
    if (rec.mac === null) {
      // A record without a MAC after one with a MAC is a downgrade: someone rewrote it without the key.
      if (prevRank !== undefined) return fail(rec.id, 'MAC missing after MAC\'d records: the record was rewritten without the key', rec.seq);
      lastUnmacced = rec.seq;
    } else if (ring && rec.keyId !== null) {
      const rank = ring.rank(rec.keyId)!;
      if (prevRank !== undefined && rank > prevRank) {
        return fail(rec.id, `MAC made with key ${rec.keyId}, older than the key of the record before it (a retired key reused)`, rec.seq);
      }
      prevRank = rank;
    } else prevRank = 0;
    const p = pins.get(rec.seq);
    if (p && p.hash !== rec.hash) return fail(rec.id, `record differs from ${p.what}: the chain was rewritten from here on or before`, rec.seq);
    if (p) anchors.anchoredTo = rec.seq;
    prevHash = rec.hash;
    expectSeq = rec.seq + 1;
    head = { id: rec.id, seq: rec.seq, hash: rec.hash };
  }
  const last = head?.seq ?? 0;
  if (maxPin > last) {
    const p = pins.get(maxPin)!;
    return fail(null, `records missing at the end: ${p.what} names seq ${maxPin}, but the chain ends at seq ${last}`);
  }
  if (ring && lastUnmacced > maxAuthenticPin) {
    return fail(null, `records up to seq ${lastUnmacced} carry no MAC (format 1) and no signed checkpoint covers them`);
  }
  return { ok: true, checked, head, macs, anchors };
}
