// Where call records are persisted: one interface, an implementation per engine. CallRecordStore keeps the records
// of calls in flight in memory and hands this their changes in batches (one transaction per flush interval), so
// neither engine is ever waited on from the audio path.
import type { OutboxRow } from '../webhooks/WebhookOutbox.js';
import type { CallRecord, DecisionRef, PolicyCheckEntry, PromptPlay } from './CallRecord.js';
import type { CallType } from './types.js';

export interface CallRecordRepo {
  /**
   * Writes a batch in one transaction: `isNew` records are inserted (a callId that already has a record keeps it:
   * the original is never overwritten by a retried id, and `existed` names it), the others updated. `announce`: the
   * outbox rows announcing what the batch records (a call's end, a refused start), in the same transaction.
   */
  write(batch: readonly { rec: CallRecord; isNew: boolean }[], announce?: readonly OutboxRow[]): Promise<{ existed: string[] }>;
  get(callId: string): Promise<CallRecord | null>;
  /** Newest first. */
  list(q: { callee?: string; limit: number }): Promise<CallRecord[]>;
  close?(): Promise<void>;
}

/** A record as both engines store it: the lists as JSON text, column names equal to the field names. */
export interface CallRecordRow {
  callId: string;
  callee: string | null;
  callType: string;
  scriptId: string | null;
  scriptVersion: string | null;
  startedAt: string;
  endedAt: string | null;
  outcome: string | null;
  prompts: string;
  decisions: string;
  policyChecks: string;
}

export function recordFromRow(r: CallRecordRow): CallRecord {
  return {
    ...r,
    callType: r.callType as CallType,
    prompts: JSON.parse(r.prompts) as PromptPlay[],
    decisions: JSON.parse(r.decisions) as DecisionRef[],
    policyChecks: JSON.parse(r.policyChecks) as PolicyCheckEntry[],
  };
}

export function recordToRow(c: CallRecord): CallRecordRow {
  return {
    callId: c.callId,
    callee: c.callee,
    callType: c.callType,
    scriptId: c.scriptId,
    scriptVersion: c.scriptVersion,
    startedAt: c.startedAt,
    endedAt: c.endedAt,
    outcome: c.outcome,
    prompts: JSON.stringify(c.prompts),
    decisions: JSON.stringify(c.decisions),
    policyChecks: JSON.stringify(c.policyChecks),
  };
}
