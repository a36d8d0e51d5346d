// How a frame classifier's score enters the barge-in decision — the one rule Call applies live and the offline
// replays (bench/bargein/offline.ts's nearEndPolicy, train-interruption.ts's interruptPolicy) apply to cached frames,
// so a replay measures what ships. `veto`: a frame counts only as much as both the VAD and the classifier believe it
// (the echo and background gates still apply); `replace`: the classifier stands in for the VAD and the echo gate.
// The near-end classifier decides on every frame; the interruption classifier only over an interruptible prompt, in
// its `paused*` modes only once paused, on its own thresholds moved onto the VAD's scale (onVadScale), and alone
// (`replace`, `paused`) also past the background gate, which it learned to see for itself.
import { onVadScale } from './InterruptionModel.js';

/** What BargeInPolicy reads of a frame besides its time; written in place (one object per call, per frame). */
export interface FrameEvidence {
  prob: number;
  echo: boolean;
  overBackgroundDb: number;
}

export type ClassifierUse =
  | { kind: 'nearEnd'; mode: 'veto' | 'replace' }
  | { kind: 'interruption'; mode: 'replace' | 'veto' | 'paused' | 'pausedVeto'; pauseThreshold: number; silenceThreshold: number };

/**
 * Applies `score` (−1: none was scored for this frame) to the VAD's evidence `e`, in place. `vad`: the policy's own
 * thresholds (onto whose scale an interruption score is moved).
 */
export function applyClassifier(e: FrameEvidence, score: number, use: ClassifierUse | null, interruptible: boolean, paused: boolean, vad: { pauseThreshold: number; silenceThreshold: number }): void {
  if (!use || score < 0) return;
  let p = score;
  let alone = use.mode === 'replace';
  if (use.kind === 'interruption') {
    if (!interruptible || !(use.mode === 'replace' || use.mode === 'veto' || paused)) return;
    p = onVadScale(score, use, vad);
    alone ||= use.mode === 'paused';
    if (alone) e.overBackgroundDb = Infinity;
  }
  if (alone) {
    e.prob = p;
    e.echo = false;
  } else e.prob = Math.min(e.prob, p);
}
