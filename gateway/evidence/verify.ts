// Integrity checks over stored evidence: the record's own hash, its link to the previous record, and its audio file.
// Kept apart from the store so `earshot evidence show` can check a single record the same way `verify` does.
import { existsSync, readFileSync } from 'node:fs';
import { EVIDENCE_FORMAT, type EvidenceRecord, type VerifyResult } from './types.js';
import { GENESIS_HASH, recordHash, sha256Hex } from './canonical.js';

/** Problems with one record on its own (contents and audio), or null when it is intact. */
export function checkRecord(rec: EvidenceRecord, audioPath: (rec: EvidenceRecord) => string | null): string | null {
  if (rec.format !== EVIDENCE_FORMAT) return `unknown record format ${rec.format}`;
  if (recordHash(rec) !== rec.hash) return 'hash mismatch: the record was altered after it was written';
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
): VerifyResult {
  let prevHash = GENESIS_HASH;
  let expectSeq = 1;
  let checked = 0;
  let head: VerifyResult['head'];
  for (const rec of records) {
    checked++;
    const own = checkRecord(rec, audioPath);
    if (own) return { ok: false, checked, firstBad: { id: rec.id, reason: own }, head };
    if (rec.prevHash !== prevHash) {
      const reason =
        rec.seq === 1 || checked === 1
          ? 'chain broken: the first record does not link to the genesis hash (earlier records removed?)'
          : `chain broken: prevHash does not match record seq ${expectSeq - 1} (a record before this one was removed or altered)`;
      return { ok: false, checked, firstBad: { id: rec.id, reason }, head };
    }
    if (rec.seq !== expectSeq) {
      return { ok: false, checked, firstBad: { id: rec.id, reason: `sequence gap: seq ${rec.seq}, expected ${expectSeq}` }, head };
    }
    prevHash = rec.hash;
    expectSeq = rec.seq + 1;
    head = { id: rec.id, seq: rec.seq, hash: rec.hash };
  }
  return { ok: true, checked, head };
}
