// Public surface of the consent evidence store.
export { EvidenceStore, type EvidenceStoreOptions } from './EvidenceStore.js';
export {
  DECISIONS,
  EVIDENCE_FORMAT,
  EVIDENCE_FORMATS,
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
export { checkRecord, verifyChain, type VerifyOptions } from './verify.js';
export { sealRecord, type UnsealedRecord } from './chain.js';
export { evidenceKey, keyring, parseKeyMaterial, recordMac, type EvidenceKey, type Keyring } from './keyring.js';
export { CHECKPOINT_FORMAT, checkpointProblem, parseCheckpoints, parseHead, signCheckpoint, type ChainHead, type Checkpoint } from './checkpoint.js';
export { CheckpointLog } from './CheckpointLog.js';
export { DEFAULT_KEY_FILE, KEY_ENV, defaultKeyPath, loadEvidenceKeys } from './keyFile.js';
export { evidenceCli } from './cli.js';
export { ulid, ulidTime, isUlid } from './ulid.js';
