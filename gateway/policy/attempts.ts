// The call_attempts statements, shared by the in-process store and the attempt writer's worker connection.
import type { Db } from '../store/Database.js';
import type { CallAttempt, CallType } from './types.js';

export function prepareAttempts(db: Db) {
  return {
    record: db.prepare('INSERT INTO call_attempts (callId, callee, callType, at) VALUES (@callId, @callee, @callType, @at)'),
    count: db.prepare('SELECT COUNT(*) AS n FROM call_attempts WHERE callee = ? AND callType = ? AND at > ? AND at <= ?'),
  };
}

export type AttemptStatements = ReturnType<typeof prepareAttempts>;

export function insertAttempt(s: AttemptStatements, a: CallAttempt): void {
  s.record.run(a);
}

/** Attempts with `sinceMs < at <= untilMs`. */
export function countAttempts(s: AttemptStatements, callee: string, callType: CallType, sinceMs: number, untilMs: number): number {
  return (s.count.get(callee, callType, sinceMs, untilMs) as { n: number }).n;
}
