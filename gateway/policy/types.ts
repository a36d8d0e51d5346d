// Shared vocabulary of the outbound-calling policy.
export const CALL_TYPES = ['marketing', 'notification'] as const;
export type CallType = (typeof CALL_TYPES)[number];

export type PolicyCode = 'do_not_call' | 'frequency_cap' | 'calling_hours' | 'missing_callee';

export type PolicyDecision = { allowed: true } | { allowed: false; reason: string; code: PolicyCode };

export interface PolicyRequest {
  callee?: string;
  callType: CallType;
  /** Defaults to the current time; tests and replays inject it. */
  now?: Date;
  /** IANA zone of the callee; otherwise inferred from the number's country code, else the configured default. */
  timeZone?: string;
}

export type DncSource = 'complaint' | 'refusal' | 'admin';

export interface DncEntry {
  /** Normalised number (see number.ts). */
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
