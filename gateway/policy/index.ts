// Public surface of the outbound-calling policy: rules, do-not-call list, call records and their storage.
export { CallPolicy } from './CallPolicy.js';
export { DoNotCallList, InvalidNumberError, requireNumber } from './DoNotCallList.js';
export type { PolicyStore } from './PolicyStore.js';
export { SqlitePolicyStore } from './SqlitePolicyStore.js';
export {
  CallRecordStore,
  UnknownCallError,
  type CallOutcome,
  type CallRecord,
  type CallStart,
  type DecisionRef,
  type PolicyCheckEntry,
  type PolicyCheckInput,
  type PromptPlay,
} from './CallRecords.js';
export { PolicyConfigSchema, parsePolicyConfig, type PolicyConfig } from './config.js';
export { normalizeNumber } from './number.js';
export { COUNTRY_TIME_ZONES, inferTimeZone, localMinutes } from './timeZone.js';
export { POLICY_MIGRATIONS } from './schema.js';
export {
  CALL_TYPES,
  type CallAttempt,
  type CallType,
  type DncEntry,
  type DncSource,
  type FrequencyCap,
  type PolicyCode,
  type PolicyDecision,
  type PolicyRequest,
} from './types.js';
