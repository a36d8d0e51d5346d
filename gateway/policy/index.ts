// Public surface of the outbound-calling policy: rules, do-not-call list, call records and their storage.
export { CallPolicy } from './CallPolicy.js';
export { AmbiguousNumberError, DoNotCallList, InvalidNumberError, requireNumber } from './DoNotCallList.js';
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
export { DEFAULT_COUNTRY, normalizeNumber, numberReadings, readNumber, type CountryCode, type NumberReading } from './number.js';
export { BUILTIN_NUMBER_ZONES, localMinutes, numberTimeZones } from './timeZone.js';
export { policyMigrations } from './schema.js';
export { renumberStoredNumbers, type RenumberReport } from './renumber.js';
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
