// Judging barge-in calls against their labels, as pure functions: one Outcome per call, then groups (per kind, per
// condition) and the issue's criteria. Times are inbound-audio ms (the events' `t`) against the labelled onset.
import { percentile } from '../stats.js';
import type { BargeinRecord, CallEvent } from './runCall.js';
import { conditionsOf, type ScenarioLabel } from './labels.js';

/** A pause or commit this long before the labelled onset was set off by something else (echo, noise): it counts as
 *  early, a failure, never as a fast reaction. Labels are precise to ~±30 ms at real-speech onsets. */
export const EARLY_SLACK_MS = 100;
export const PAUSE_BUDGET_MS = 150;
export const COMMIT_BUDGET_MS = 500;
/** Prompt audio the client may still receive after a stop: the 40 ms lookahead it already holds. */
export const AFTER_STOP_BUDGET_MS = 40;
/** Audio after a pause within which a resume (160 ms of silence) or a commit must have come. */
export const STUCK_AFTER_MS = 1000;

export interface Outcome {
  id: string;
  kind: string;
  variant: string | null;
  expected: 'barge_in' | 'no_barge_in';
  split: string | null;
  conditions: string[];
  onsetMs: number | null;
  endMs: number | null;
  ok: boolean;
  error: string | null;
  pauses: number[];
  resumes: number[];
  commitT: number | null;
  /** Barge-in: first pause at or after onset − slack, minus onset. */
  pauseMs: number | null;
  commitMs: number | null;
  earlyPause: boolean;
  earlyCommit: boolean;
  /** A pause followed by neither a resume nor a commit although a second or more of the track followed it: the
   *  prompt never came back. (A pause in the last second may simply have had no time to resume before hangup.) */
  stuckPause: boolean;
  /** Backchannels: first resume after the speech, minus the labelled speech end. */
  resumeAfterEndMs: number | null;
  /** Prompt audio received after a pause (until its resume) and after the commit, worst case, ms. */
  audioAfterPauseMs: number;
  audioAfterCommitMs: number;
}

const ts = (evs: CallEvent[], type: string) => evs.filter((e) => e.type === type && typeof e.t === 'number').map((e) => e.t as number);

export function score(l: ScenarioLabel, rec: BargeinRecord): Outcome {
  const evs = rec.events;
  const pauses = ts(evs, 'prompt_paused');
  const resumes = ts(evs, 'prompt_resumed');
  const commit = evs.find((e) => e.type === 'barge_in');
  const commitT = commit && typeof commit.t === 'number' ? commit.t : null;
  const onset = l.speechOnsetMs;
  const minT = onset === null ? Infinity : onset - EARLY_SLACK_MS;
  const firstPause = pauses.find((t) => t >= minT);
  // Audio that still arrived after each stop (by arrival time: events and audio share the socket on the native wire).
  const after = (fromWall: number, untilWall: number) =>
    rec.promptFrames.filter((f) => f.wall > fromWall && f.wall < untilWall).reduce((s, f) => s + f.ms, 0);
  const pauseEvs = evs.filter((e) => e.type === 'prompt_paused');
  let audioAfterPauseMs = 0;
  let stuck = false;
  for (const pe of pauseEvs) {
    const next = evs.find((e) => (e.type === 'prompt_resumed' || e.type === 'barge_in') && e.wall >= pe.wall);
    if (!next && typeof pe.t === 'number' && pe.t <= l.durationMs - STUCK_AFTER_MS) stuck = true;
    audioAfterPauseMs = Math.max(audioAfterPauseMs, after(pe.wall, next ? next.wall : Infinity));
  }
  const resumeAfterEnd = l.speechEndMs !== null ? resumes.find((t) => t >= l.speechEndMs!) : undefined;
  return {
    id: l.id ? String(l.id) : l.file.replace(/\.wav$/, ''),
    kind: l.kind,
    variant: l.variant ?? null,
    expected: l.expected,
    split: l.split ?? null,
    conditions: conditionsOf(l),
    onsetMs: onset,
    endMs: l.speechEndMs,
    ok: rec.ok,
    error: rec.error ?? null,
    pauses,
    resumes,
    commitT,
    pauseMs: l.expected === 'barge_in' && firstPause !== undefined ? firstPause - onset! : null,
    commitMs: l.expected === 'barge_in' && commitT !== null && commitT >= minT ? commitT - onset! : null,
    earlyPause: l.expected === 'barge_in' && pauses.some((t) => t < minT),
    earlyCommit: l.expected === 'barge_in' && commitT !== null && commitT < minT,
    stuckPause: stuck,
    resumeAfterEndMs: resumeAfterEnd !== undefined ? resumeAfterEnd - l.speechEndMs! : null,
    audioAfterPauseMs,
    audioAfterCommitMs: commit ? after(commit.wall, Infinity) : 0,
  };
}

/** A barge-in that paused in time: no early pause, and the first pause within the budget. */
export const pausedInTime = (o: Outcome) => !o.earlyPause && o.pauseMs !== null && o.pauseMs <= PAUSE_BUDGET_MS;
export const committedInTime = (o: Outcome) => !o.earlyCommit && o.commitMs !== null && o.commitMs <= COMMIT_BUDGET_MS;

export interface GroupRow {
  group: string;
  n: number;
  failed: number;
  bargeIns: number;
  pauseInTime: number | null; // fraction
  pauseP50: number | null;
  pauseP95: number | null;
  commitInTime: number | null;
  commitP50: number | null;
  commitP95: number | null;
  missedPauses: number;
  missedCommits: number;
  earlyPauses: number;
  earlyCommits: number;
  noBargeIns: number;
  falsePauses: number;
  falseCommits: number;
  /** No-barge-in scenarios that paused and resumed every time (of falsePauses). */
  resumed: number;
  stuck: number;
  resumeP95: number | null;
  afterStopMaxMs: number;
}

const p = (xs: number[], q: number) => percentile([...xs].sort((a, b) => a - b), q);

export function groupRow(group: string, os: readonly Outcome[]): GroupRow {
  const ok = os.filter((o) => o.ok);
  const bi = ok.filter((o) => o.expected === 'barge_in');
  const nb = ok.filter((o) => o.expected === 'no_barge_in');
  const pauseLat = bi.filter((o) => !o.earlyPause && o.pauseMs !== null).map((o) => o.pauseMs!);
  const commitLat = bi.filter((o) => !o.earlyCommit && o.commitMs !== null).map((o) => o.commitMs!);
  const paused = nb.filter((o) => o.pauses.length > 0);
  return {
    group,
    n: os.length,
    failed: os.length - ok.length,
    bargeIns: bi.length,
    pauseInTime: bi.length ? bi.filter(pausedInTime).length / bi.length : null,
    pauseP50: p(pauseLat, 50),
    pauseP95: p(pauseLat, 95),
    commitInTime: bi.length ? bi.filter(committedInTime).length / bi.length : null,
    commitP50: p(commitLat, 50),
    commitP95: p(commitLat, 95),
    missedPauses: bi.filter((o) => o.pauseMs === null).length,
    missedCommits: bi.filter((o) => o.commitT === null).length,
    earlyPauses: bi.filter((o) => o.earlyPause).length,
    earlyCommits: bi.filter((o) => o.earlyCommit).length,
    noBargeIns: nb.length,
    falsePauses: paused.length,
    falseCommits: nb.filter((o) => o.commitT !== null).length,
    resumed: paused.filter((o) => o.commitT === null && !o.stuckPause).length,
    stuck: ok.filter((o) => o.stuckPause).length,
    resumeP95: p(nb.filter((o) => o.resumeAfterEndMs !== null).map((o) => o.resumeAfterEndMs!), 95),
    afterStopMaxMs: Math.round(Math.max(0, ...ok.map((o) => Math.max(o.audioAfterPauseMs, o.audioAfterCommitMs)))),
  };
}

export function byKind(os: readonly Outcome[]): GroupRow[] {
  const keys = [...new Set(os.flatMap((o) => [o.kind, ...(o.variant && o.variant !== o.kind ? [`${o.kind}/${o.variant}`] : [])]))].sort();
  return [groupRow('all', os), ...keys.map((k) => groupRow(k, os.filter((o) => o.kind === k || `${o.kind}/${o.variant}` === k)))];
}

export function byCondition(os: readonly Outcome[]): GroupRow[] {
  const keys = [...new Set(os.flatMap((o) => o.conditions))].sort();
  return [groupRow('all', os), ...keys.map((k) => groupRow(k, os.filter((o) => o.conditions.includes(k))))];
}

export interface Criterion {
  name: string;
  target: string;
  measured: string;
  pass: boolean;
}

/** The judging criteria, on whatever set of outcomes is given (one rate, one split). */
export function criteria(os: readonly Outcome[]): Criterion[] {
  const ok = os.filter((o) => o.ok);
  const bi = ok.filter((o) => o.expected === 'barge_in');
  const nb = ok.filter((o) => o.expected === 'no_barge_in');
  const notBc = nb.filter((o) => o.kind !== 'backchannel');
  const bc = nb.filter((o) => o.kind === 'backchannel');
  const frac = (k: number, n: number) => (n ? `${((100 * k) / n).toFixed(1)} % (${k}/${n})` : 'n/a');
  const inTimeP = bi.filter(pausedInTime).length;
  const inTimeC = bi.filter(committedInTime).length;
  const falseCommits = nb.filter((o) => o.commitT !== null).length;
  const falsePauses = notBc.filter((o) => o.pauses.length > 0).length;
  const bcPaused = bc.filter((o) => o.pauses.length > 0);
  const bcResumed = bcPaused.filter((o) => o.commitT === null && !o.stuckPause).length;
  const afterStop = Math.max(0, ...ok.map((o) => Math.max(o.audioAfterPauseMs, o.audioAfterCommitMs)));
  return [
    { name: `pause ≤ ${PAUSE_BUDGET_MS} ms after onset (none early)`, target: '≥ 95 % of barge-ins', measured: frac(inTimeP, bi.length), pass: bi.length > 0 && inTimeP / bi.length >= 0.95 },
    { name: `commit ≤ ${COMMIT_BUDGET_MS} ms after onset (none early)`, target: '≥ 95 % of barge-ins', measured: frac(inTimeC, bi.length), pass: bi.length > 0 && inTimeC / bi.length >= 0.95 },
    { name: 'commit on echo, backchannels, coughs, events, background speech', target: '0', measured: frac(falseCommits, nb.length), pass: falseCommits === 0 },
    { name: 'pause on echo, noise, coughs/events, background speech', target: '≤ 5 % of those scenarios', measured: frac(falsePauses, notBc.length), pass: notBc.length === 0 || falsePauses / notBc.length <= 0.05 },
    { name: 'backchannels that paused resumed', target: 'all', measured: frac(bcResumed, bcPaused.length), pass: bcResumed === bcPaused.length },
    { name: 'prompt audio after a stop', target: `≤ ${AFTER_STOP_BUDGET_MS} ms`, measured: `${Math.round(afterStop)} ms max`, pass: afterStop <= AFTER_STOP_BUDGET_MS },
    { name: 'calls that failed to run', target: '0', measured: String(os.length - ok.length), pass: os.length === ok.length },
  ];
}
