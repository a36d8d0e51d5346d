// Public surface of the consent evidence store.
export { EvidenceStore, type EvidenceStoreOptions } from './EvidenceStore.js';
export {
  DECISIONS,
  EVIDENCE_FORMAT,
  EvidenceInputSchema,
  type Decision,
  type EvidenceInput,
  type EvidenceRecord,
  type HashedFields,
  type VerifyResult,
} from './types.js';
export { canonicalJson, recordHash, sha256Hex, GENESIS_HASH, HASHED_KEYS } from './canonical.js';
export { EvidenceConfigSchema, parseEvidenceConfig, type EvidenceConfig } from './config.js';
export { EVIDENCE_MIGRATIONS } from './schema.js';
export { checkRecord, verifyChain } from './verify.js';
export { evidenceCli } from './cli.js';
export { ulid, ulidTime, isUlid } from './ulid.js';
