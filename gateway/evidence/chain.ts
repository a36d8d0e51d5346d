// Appending to the chain, engine-neutral: given the head a store read inside its write transaction, the next
// record's seq, prevHash, hash and MAC. A second store (PostgreSQL for a fleet) calls the same function under its
// own lock, so every engine writes records an auditor checks the same way.
import { GENESIS_HASH, recordHash } from './canonical.js';
import type { ChainHead } from './checkpoint.js';
import { recordMac, type EvidenceKey } from './keyring.js';
import { EVIDENCE_FORMAT, type EvidenceRecord, type HashedFields } from './types.js';

export type UnsealedRecord = Omit<HashedFields, 'seq' | 'prevHash' | 'format'>;

export function sealRecord(fields: UnsealedRecord, head: ChainHead | null, key: EvidenceKey): EvidenceRecord {
  const hashed: HashedFields = { ...fields, format: EVIDENCE_FORMAT, seq: (head?.seq ?? 0) + 1, prevHash: head?.hash ?? GENESIS_HASH };
  const hash = recordHash(hashed);
  return { ...hashed, hash, keyId: key.id, mac: recordMac(key, hash) };
}
