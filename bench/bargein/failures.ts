// Error analysis of barge-in outcomes, as pure functions: why a barge-in missed "commit ≤ 500 ms" (when, and what
// held it back in its first 500 ms), and what the false commits were. Used by bench/bargein/analyze.ts on the
// offline frames (tuning half); README "Measured" quotes its tables.
import { committedInTime, COMMIT_BUDGET_MS, type Outcome } from './score.js';
import { VAD_FRAME_MS } from '../../gateway/listen/vad/VadModel.js';

/** When a barge-in failed to commit in time: before the onset (echo or noise), after the budget, or never. */
export type CommitFailure = 'early' | 'late' | 'never_paused' | 'never_no_pause';

export function commitFailure(o: Outcome): CommitFailure | null {
  if (o.expected !== 'barge_in' || !o.ok || committedInTime(o)) return null;
  if (o.earlyCommit) return 'early';
  if (o.commitT !== null) return 'late';
  return o.pauseMs === null ? 'never_no_pause' : 'never_paused';
}

/** What the frames of a barge-in's first COMMIT_BUDGET_MS said, frame by frame (the policy's view of them). */
export interface WindowCounts {
  /** Frames that counted towards the commit: not echo, at or above the silence threshold. */
  speech: number;
  /** Frames the echo gate called our own voice (whatever the VAD said). */
  echo: number;
  /** Frames the VAD scored below the silence threshold. */
  low: number;
  /** Speech frames that could not start a pause: under the speech-like background's margin. */
  gated: number;
}

export interface FrameView {
  startMs: number;
  prob: number;
  echo: boolean;
  overBackgroundDb: number;
}

export function windowCounts(frames: Iterable<FrameView>, onsetMs: number, o: { silenceThreshold: number; pauseThreshold: number; backgroundMarginDb: number }): WindowCounts {
  const w: WindowCounts = { speech: 0, echo: 0, low: 0, gated: 0 };
  for (const f of frames) {
    if (f.startMs < onsetMs || f.startMs >= onsetMs + COMMIT_BUDGET_MS) continue;
    if (f.echo) w.echo++;
    else if (f.prob < o.silenceThreshold) w.low++;
    else w.speech++;
    if (!f.echo && f.prob >= o.pauseThreshold && o.backgroundMarginDb > 0 && f.overBackgroundDb < o.backgroundMarginDb) w.gated++;
  }
  return w;
}

/**
 * What held a failed barge-in back, in order of precedence: a word too short for the duration rule to commit on
 * (the whole utterance ≤ SHORT_WORD_MS), the echo gate (≥ a third of its first 500 ms called our own voice), the
 * speech-like-background gate (≥ a third of them kept from starting a pause), or something else (VAD, timing).
 */
export type Cause = 'short_word' | 'echo_gate' | 'background_gate' | 'other';
export const SHORT_WORD_MS = 400;
const THIRD = Math.ceil(COMMIT_BUDGET_MS / VAD_FRAME_MS / 3);

export function causeOf(w: WindowCounts, utteranceMs: number): Cause {
  if (utteranceMs <= SHORT_WORD_MS) return 'short_word';
  if (w.echo >= THIRD) return 'echo_gate';
  if (w.gated >= THIRD) return 'background_gate';
  return 'other';
}

/** The false commits, counted per kind of scenario without a barge-in, most first: "backchannel 21, laugh 4, …". */
export function falseCommitsByKind(os: Iterable<Outcome>): string {
  const n = new Map<string, number>();
  for (const o of os) if (o.expected === 'no_barge_in' && o.commitT !== null) n.set(o.kind, (n.get(o.kind) ?? 0) + 1);
  return [...n].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, v]) => `${k} ${v}`).join(', ');
}
