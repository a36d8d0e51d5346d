// The interruption classifier's frame target (bench/bargein/train-interruption.ts): which frames count as the callee
// interrupting, which as not, which are left out — and `onsetSkipMs`, which leaves an interruption's first syllable
// out so that it is not trained apart from a backchannel's.
import { describe, expect, it } from 'vitest';
import { interruptionLabel } from '../bench/bargein/train-interruption.js';
import type { ScenarioLabel } from '../bench/bargein/labels.js';

const bargeIn = { file: 'x.wav', expected: 'barge_in', kind: 'barge_in', promptDurationMs: 5000, callerSpeechSegmentsMs: [{ startMs: 1000, endMs: 2000 }] } as unknown as ScenarioLabel;
const backchannel = { ...bargeIn, expected: 'no_barge_in', kind: 'backchannel' } as unknown as ScenarioLabel;

describe('interruptionLabel', () => {
  it('1 inside a barge-in segment, 0 well before it, −1 at its edges and after the prompt', () => {
    expect(interruptionLabel(bargeIn, 1504)).toBe(1);
    expect(interruptionLabel(bargeIn, 1056)).toBe(1);
    expect(interruptionLabel(bargeIn, 512)).toBe(0);
    expect(interruptionLabel(bargeIn, 1000)).toBe(-1);
    expect(interruptionLabel(bargeIn, 6000)).toBe(-1);
  });
  it('a backchannel is 0 throughout, skip or not', () => {
    expect(interruptionLabel(backchannel, 1504)).toBe(0);
    expect(interruptionLabel(backchannel, 1056, 192)).toBe(0);
  });
  it('onsetSkipMs leaves the first so many ms of the barge-in out, and only those', () => {
    expect(interruptionLabel(bargeIn, 1056, 192)).toBe(-1);
    expect(interruptionLabel(bargeIn, 1216, 192)).toBe(-1);
    expect(interruptionLabel(bargeIn, 1248, 192)).toBe(1);
    expect(interruptionLabel(bargeIn, 512, 192)).toBe(0);
  });
});
