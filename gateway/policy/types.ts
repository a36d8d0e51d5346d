// Shared vocabulary of the outbound-calling policy.
export const CALL_TYPES = ['marketing', 'notification'] as const;
export type CallType = (typeof CALL_TYPES)[number];

/**
 * Why a call was refused. `missing_callee`: no callee where one is required, or one that is not a valid number;
 * `ambiguous_callee`: a digits-only callee that reads as two different numbers (send it in E.164).
 */
export type PolicyCode = 'do_not_call' | 'frequency_cap' | 'calling_hours' | 'missing_callee' | 'ambiguous_callee';

export type PolicyDecision = { allowed: true } | { allowed: false; reason: string; code: PolicyCode };

export interface PolicyRequest {
  callee?: string;
  callType: CallType;
  /** Defaults to the current time; tests and replays inject it. */
  now?: Date;
  /**
   * IANA zone the client says the callee is in. It can only narrow the rule: the call must be inside hours both
   * there and in every zone of the callee's number.
   */
  timeZone?: string;
}

export type DncSource = 'complaint' | 'refusal' | 'admin';

export interface DncEntry {
  /** E.164 (see number.ts). */
  number: string;
  reason: string;
  source: DncSource;
  callId: string | null;
  addedAt: string;
}

export interface CallAttempt {
  callee: string;
  callType: CallType;
  callId: string;
  /** Epoch milliseconds. */
  at: number;
}

export interface FrequencyCap {
  max: number;
  windowHours: number;
}
