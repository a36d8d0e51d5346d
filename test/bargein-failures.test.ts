// bench/bargein/failures.ts: when a barge-in missed "commit ≤ 500 ms" and what held it back, on hand-made records.
import { describe, expect, it } from 'vitest';
import { causeOf, commitFailure, falseCommitsByKind, windowCounts, type FrameView } from '../bench/bargein/failures.js';
import type { ScenarioLabel } from '../bench/bargein/labels.js';
import type { BargeinRecord, CallEvent } from '../bench/bargein/runCall.js';
import { score } from '../bench/bargein/score.js';

const label: ScenarioLabel = {
  file: 'a.wav', twin8k: '8k/a.wav', kind: 'barge_in', lang: 'zh', text: '等一下', expected: 'barge_in', speechOnsetMs: 2000, speechEndMs: 2900,
  durationMs: 6000, promptFile: 'p.wav', conditions: ['echo'],
};
const rec = (events: [string, number][]): BargeinRecord => ({
  ok: true, trackStartAt: 0, promptFrames: [],
  events: [...events.map(([type, t]): CallEvent => ({ type, t, wall: t })), { type: 'call_summary', t: 6000, wall: 6000 }],
});
const opts = { silenceThreshold: 0.25, pauseThreshold: 0.3, backgroundMarginDb: 9 };
/** 32 ms frames from 1776 ms; `kind` per frame: s = speech, e = echo-gated, l = low, g = speech under the background. */
const frames = (kinds: string): FrameView[] =>
  [...kinds].map((k, i) => ({ startMs: 1776 + 32 * i, prob: k === 'l' ? 0.1 : 0.9, echo: k === 'e', overBackgroundDb: k === 'g' ? 3 : Infinity }));

describe('commitFailure', () => {
  it('in time → none; before the onset → early; after 500 ms → late; no commit → never, paused or not', () => {
    expect(commitFailure(score(label, rec([['prompt_paused', 2050], ['barge_in', 2400]])))).toBeNull();
    expect(commitFailure(score(label, rec([['prompt_paused', 1500], ['barge_in', 1800]])))).toBe('early');
    expect(commitFailure(score(label, rec([['prompt_paused', 2050], ['barge_in', 2600]])))).toBe('late');
    expect(commitFailure(score(label, rec([['prompt_paused', 2050], ['prompt_resumed', 2300]])))).toBe('never_paused');
    expect(commitFailure(score(label, rec([])))).toBe('never_no_pause');
    expect(commitFailure(score({ ...label, kind: 'echo_only', expected: 'no_barge_in', speechOnsetMs: null, speechEndMs: null }, rec([['barge_in', 3000]])))).toBeNull();
  });
});

describe('windowCounts and causeOf', () => {
  it('counts only the frames of the first 500 ms after the onset', () => {
    // 1776–1999: 7 frames before the onset (ignored), then the 16 frames of the window from 2000, then more (ignored).
    const w = windowCounts(frames('sssssss' + 'sseeeeeeelllggss' + 'eeee'), 2000, opts);
    expect(w).toEqual({ speech: 6, echo: 7, low: 3, gated: 2 });
  });
  it('short word first, then the echo gate, then the background gate (a third of the window each), else other', () => {
    expect(causeOf({ speech: 0, echo: 16, low: 0, gated: 0 }, 380)).toBe('short_word');
    expect(causeOf({ speech: 10, echo: 6, low: 0, gated: 6 }, 900)).toBe('echo_gate');
    expect(causeOf({ speech: 11, echo: 5, low: 0, gated: 6 }, 900)).toBe('background_gate');
    expect(causeOf({ speech: 11, echo: 5, low: 0, gated: 5 }, 900)).toBe('other');
  });
});

describe('falseCommitsByKind', () => {
  it('counts commits of scenarios without a barge-in per kind, most first, never a barge-in\'s own commit', () => {
    const no = (kind: string, events: [string, number][]) =>
      score({ ...label, kind, expected: 'no_barge_in', speechOnsetMs: null, speechEndMs: null }, rec(events));
    const os = [
      no('laugh', [['barge_in', 3000]]),
      no('backchannel', [['barge_in', 3000]]),
      no('backchannel', [['prompt_paused', 2000], ['barge_in', 2400]]),
      no('cough', [['prompt_paused', 2000], ['prompt_resumed', 2300]]),
      score(label, rec([['prompt_paused', 2050], ['barge_in', 2400]])),
    ];
    expect(falseCommitsByKind(os)).toBe('backchannel 2, laugh 1');
    expect(falseCommitsByKind([])).toBe('');
  });
});
