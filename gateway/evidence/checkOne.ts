// One record's own checks (hash, MAC, audio hash; not its place in the chain), whichever engine keeps its audio:
// what `earshot evidence show` and the monitor page's evidence view report.
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EvidenceRecord } from './types.js';
import type { EvidenceLedger } from './EvidenceLedger.js';
import { SqliteEvidenceLedger } from './SqliteEvidenceLedger.js';
import { checkRecord } from './verify.js';

/** Null when the record is intact, else what is wrong with it. */
export async function checkOne(ledger: EvidenceLedger, rec: EvidenceRecord): Promise<string | null> {
  if (ledger instanceof SqliteEvidenceLedger) return ledger.store.checkOne(rec.id);
  // checkRecord re-hashes a file: PostgreSQL keeps the WAV in a row, so it is written (owner-only) for the check.
  const wav = await ledger.audio(rec.id);
  const tmp = join(tmpdir(), `earshot-check-${process.pid}-${rec.id.slice(0, 16)}.wav`);
  if (wav) writeFileSync(tmp, wav, { mode: 0o600 });
  try {
    return checkRecord(rec, () => (wav ? tmp : null), ledger.keys);
  } finally {
    rmSync(tmp, { force: true });
  }
}
