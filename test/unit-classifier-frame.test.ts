// How a frame classifier's score enters the barge-in decision (classifierFrame.ts), the rule Call and the offline
// replays share: veto caps the VAD, replace stands in for it and the echo gate, the interruption classifier acts only
// over an interruptible prompt (its paused modes only once paused) on the VAD's scale, and no score changes nothing.
import { describe, expect, it } from 'vitest';
import { applyClassifier, type ClassifierUse, type FrameEvidence } from '../gateway/listen/nearEnd/classifierFrame.js';
import { onVadScale } from '../gateway/listen/nearEnd/InterruptionModel.js';

const VAD = { pauseThreshold: 0.3, silenceThreshold: 0.25 };
const vadFrame = (): FrameEvidence => ({ prob: 0.9, echo: true, overBackgroundDb: 4 });
const run = (score: number, use: ClassifierUse | null, interruptible = true, paused = false) => {
  const e = vadFrame();
  applyClassifier(e, score, use, interruptible, paused, VAD);
  return e;
};
const it7 = (mode: 'replace' | 'veto' | 'paused' | 'pausedVeto'): ClassifierUse => ({ kind: 'interruption', mode, pauseThreshold: 0.7, silenceThreshold: 0.7 });

describe('applyClassifier', () => {
  it('without a classifier or a score, the VAD’s evidence stands', () => {
    expect(run(0.1, null)).toEqual(vadFrame());
    expect(run(-1, { kind: 'nearEnd', mode: 'replace' })).toEqual(vadFrame());
    expect(run(-1, it7('replace'))).toEqual(vadFrame());
  });

  it('near-end: veto caps the VAD and keeps both gates; replace takes the score and drops the echo gate, on every frame', () => {
    expect(run(0.4, { kind: 'nearEnd', mode: 'veto' }, false)).toEqual({ prob: 0.4, echo: true, overBackgroundDb: 4 });
    expect(run(0.95, { kind: 'nearEnd', mode: 'veto' })).toEqual(vadFrame());
    expect(run(0.4, { kind: 'nearEnd', mode: 'replace' }, false)).toEqual({ prob: 0.4, echo: false, overBackgroundDb: 4 });
  });

  it('interruption: only over an interruptible prompt, on the VAD’s scale; alone it is past both gates', () => {
    expect(run(0.1, it7('replace'), false)).toEqual(vadFrame());
    const mapped = onVadScale(0.8, it7('replace') as { pauseThreshold: number; silenceThreshold: number }, VAD);
    expect(run(0.8, it7('replace'))).toEqual({ prob: mapped, echo: false, overBackgroundDb: Infinity });
    expect(run(0.1, it7('veto'))).toEqual({ prob: onVadScale(0.1, { pauseThreshold: 0.7, silenceThreshold: 0.7 }, VAD), echo: true, overBackgroundDb: 4 });
  });

  it('interruption, paused modes: nothing until the prompt is paused, then alone (paused) or as a veto (pausedVeto)', () => {
    expect(run(0.1, it7('paused'), true, false)).toEqual(vadFrame());
    expect(run(0.1, it7('pausedVeto'), true, false)).toEqual(vadFrame());
    const low = onVadScale(0.1, { pauseThreshold: 0.7, silenceThreshold: 0.7 }, VAD);
    expect(run(0.1, it7('paused'), true, true)).toEqual({ prob: low, echo: false, overBackgroundDb: Infinity });
    expect(run(0.1, it7('pausedVeto'), true, true)).toEqual({ prob: low, echo: true, overBackgroundDb: 4 });
  });
});
