// bench/bargein/spread.ts: one corpus run several times — each criterion per run, and which scenarios changed verdict.
import { describe, expect, it } from 'vitest';
import type { Outcome } from '../bench/bargein/score.js';
import { spreadOf, spreadText, verdictOf } from '../bench/bargein/spread.js';

function outcome(id: string, kind: string, o: Partial<Outcome> = {}): Outcome {
  return {
    id, kind, variant: null, expected: kind === 'barge_in' ? 'barge_in' : 'no_barge_in', split: 'test', conditions: [], onsetMs: kind === 'barge_in' ? 1000 : null, endMs: null,
    ok: true, error: null, pauses: [], resumes: [], commitT: null, pauseMs: null, commitMs: null, earlyPause: false, earlyCommit: false, stuckPause: false,
    resumeAfterEndMs: null, audioAfterPauseMs: 0, audioAfterCommitMs: 0, ...o,
  };
}

const fast = { pauses: [1064], pauseMs: 64, commitT: 1400, commitMs: 400 };
const late = { pauses: [1064], pauseMs: 64, commitT: 1800, commitMs: 800 };

describe('verdictOf', () => {
  it('names what the criteria judge: a barge-in paused/committed in time, a false commit or pause, a resumed backchannel', () => {
    expect(verdictOf(outcome('a', 'barge_in', fast))).toBe('paused, committed');
    expect(verdictOf(outcome('a', 'barge_in', late))).toBe('paused, commit missed');
    expect(verdictOf(outcome('a', 'barge_in', { ...fast, earlyCommit: true }))).toBe('paused, commit missed');
    expect(verdictOf(outcome('b', 'echo_only', { pauses: [900], commitT: 1300 }))).toBe('committed');
    expect(verdictOf(outcome('b', 'echo_only', { pauses: [900], resumes: [1100] }))).toBe('paused');
    expect(verdictOf(outcome('c', 'backchannel', { pauses: [900], resumes: [1300] }))).toBe('paused, resumed');
    expect(verdictOf(outcome('d', 'cough'))).toBe('quiet');
    expect(verdictOf(outcome('d', 'cough', { ok: false, error: 'socket' }))).toBe('failed');
  });
});

describe('spreadOf', () => {
  const run1 = [outcome('s1', 'barge_in', fast), outcome('s2', 'barge_in', fast), outcome('s3', 'echo_only'), outcome('s4', 'backchannel', { pauses: [900], resumes: [1300] })];
  // Run 2: s2 commits late, s3 (echo alone) is committed; s1 and s4 as before. Listed in another order.
  const run2 = [outcome('s3', 'echo_only', { pauses: [900], commitT: 1300 }), outcome('s4', 'backchannel', { pauses: [900], resumes: [1300] }), outcome('s1', 'barge_in', fast), outcome('s2', 'barge_in', late)];

  it('lists each criterion per run and the scenarios whose verdict changed, by id', () => {
    const s = spreadOf([run1, run2]);
    expect(s.runs).toBe(2);
    const commit = s.criteria.find((c) => c.name.startsWith('commit ≤'))!;
    expect(commit.measured).toEqual(['100.0 % (2/2)', '50.0 % (1/2)']);
    const falseCommits = s.criteria.find((c) => c.name.startsWith('commit on echo'))!;
    expect(falseCommits.measured).toEqual(['0.0 % (0/2)', '50.0 % (1/2)']);
    expect(s.changed).toEqual([
      { id: 's2', kind: 'barge_in', verdicts: ['paused, committed', 'paused, commit missed'] },
      { id: 's3', kind: 'echo_only', verdicts: ['quiet', 'committed'] },
    ]);
    expect(spreadText('16k', s, 4)).toContain('scenarios whose verdict changed between runs: 2 of 4 (barge-ins 1, others 1)');
  });

  it('one run has no spread; a scenario missing from a later run counts as changed', () => {
    expect(spreadOf([run1]).changed).toEqual([]);
    expect(spreadOf([run1, run1.slice(1)]).changed).toEqual([{ id: 's1', kind: 'barge_in', verdicts: ['paused, committed', 'not run'] }]);
    expect(() => spreadOf([])).toThrow('no runs');
  });
});
