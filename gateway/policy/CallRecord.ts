// What one call record holds: who, which script, what was played and how far it was heard, which consent decisions
// were taken (evidence ids), what the policy said, and how the call ended.
import type { Decision } from '../evidence/types.js';
import type { CallType, PolicyCode } from './types.js';

export interface PromptPlay {
  promptId: string;
  text: string;
  /** Milliseconds of the prompt actually played out. */
  playedMs: number;
  /** 'full' = played to the end; 'interrupted' = cut by barge-in or hang-up. */
  heard: 'full' | 'interrupted';
  at: string;
}

export interface DecisionRef {
  evidenceId: string;
  decision: Decision;
  promptId: string | null;
  at: string;
}

export interface PolicyCheckEntry {
  allowed: boolean;
  code: PolicyCode | null;
  reason: string | null;
  at: string;
}

export type CallOutcome = 'completed' | 'hung_up' | 'rejected_by_policy' | 'failed' | 'timeout' | (string & {});

export interface CallRecord {
  callId: string;
  callee: string | null;
  callType: CallType;
  scriptId: string | null;
  scriptVersion: string | null;
  startedAt: string;
  endedAt: string | null;
  outcome: CallOutcome | null;
  prompts: PromptPlay[];
  decisions: DecisionRef[];
  policyChecks: PolicyCheckEntry[];
}
