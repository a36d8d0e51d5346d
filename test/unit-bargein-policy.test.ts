// gateway/listen/BargeInPolicy.ts: VAD frames in, barge-in actions out.
import { describe, expect, it } from 'vitest';
import { BargeInPolicy, type BargeInAction, type BargeInOptions } from '../gateway/listen/BargeInPolicy.js';

const OPTS: BargeInOptions = {
  pauseThreshold: 0.3,
  pauseMinSpeechMs: 32,
  pauseInstantThreshold: 1,
  commitMinSpeechMs: 320,
  resumeAfterSilenceMs: 160,
  silenceThreshold: 0.25,
  gapMs: 96,
  backgroundMarginDb: 9,
  endSilenceMs: 240,
  endThreshold: 0.4,
};
const F = 32;

/** Feeds probabilities as consecutive 32 ms frames starting at t=0; returns every action with its frame index. */
function feed(probs: (number | { p: number; echo?: boolean; over?: number })[], interruptible: boolean | ((i: number) => boolean) = true, opts: Partial<BargeInOptions> = {}) {
  const pol = new BargeInPolicy({ ...OPTS, ...opts });
  const out: (BargeInAction & { i: number })[] = [];
  probs.forEach((x, i) => {
    const p = typeof x === 'number' ? x : x.p;
    const echo = typeof x === 'number' ? false : !!x.echo;
    const overBackgroundDb = typeof x === 'number' ? undefined : x.over;
    const intr = typeof interruptible === 'function' ? interruptible(i) : interruptible;
    for (const a of pol.frame({ t: (i + 1) * F, durMs: F, prob: p, echo, overBackgroundDb }, intr)) out.push({ ...a, i });
  });
  return { pol, out, types: out.map((a) => a.type) };
}
const rep = <T>(n: number, v: T): T[] => new Array(n).fill(v);

describe('pause', () => {
  describe('a doubtful frame needs a second (pauseMinSpeechMs 64, pauseInstantThreshold 0.7)', () => {
    const two = { pauseMinSpeechMs: 64, pauseInstantThreshold: 0.7 };
    it('one doubtful frame (a click, a cough\'s burst) does not pause', () => {
      expect(feed([0, 0.5, 0, 0, 0, 0], true, two).types).not.toContain('pause');
      // …and a second one later, after silence, starts counting afresh.
      expect(feed([0, 0.5, 0.1, 0.6, 0, 0], true, two).types).not.toContain('pause');
    });
    it('one clear frame pauses at once', () => {
      const { out } = feed([0, 0.8, 0, 0], true, two);
      expect(out.find((a) => a.type === 'pause')?.i).toBe(1);
    });
    it('two doubtful frames pause on the second, from the first one\'s onset', () => {
      const { out } = feed([0, 0.4, 0.5, 0.5], true, two);
      const p = out.find((a) => a.type === 'pause')!;
      expect(p.i).toBe(2);
      expect(p.type === 'pause' && p.onsetT).toBe(F);
    });
  });

  it('pauses on the first speech frame while an interruptible prompt plays, onset = frame start', () => {
    const { out, pol } = feed([...rep(3, 0.05), 0.9]);
    expect(out).toEqual([
      { type: 'speech_started', t: 128, onsetT: 96, i: 3 },
      { type: 'pause', t: 128, onsetT: 96, i: 3 },
    ]);
    expect(pol.isPaused).toBe(true);
  });
  it('a frame exactly at pauseThreshold counts as speech; just below does not', () => {
    expect(feed([0.3]).types).toEqual(['speech_started', 'pause']);
    expect(feed([0.29, 0.29, 0.29]).types).toEqual([]);
  });
  it('pauseMinSpeechMs = 64 needs two frames; onsetT is the start of the first', () => {
    const { out } = feed([0.05, 0.9, 0.9], true, { pauseMinSpeechMs: 64 });
    expect(out.map((a) => [a.type, a.t, 'onsetT' in a ? a.onsetT : null])).toEqual([
      ['speech_started', 96, 32],
      ['pause', 96, 32],
    ]);
  });
  it('a silent frame between two single speech frames resets the run (pauseMinSpeechMs = 64)', () => {
    expect(feed([0.9, 0.1, 0.9, 0.1], true, { pauseMinSpeechMs: 64 }).types).toEqual([]);
  });
  it('non-interruptible prompt → speech is reported but never paused or committed', () => {
    const { types } = feed([...rep(20, 0.9), ...rep(10, 0.01)], false);
    expect(types).toEqual(['speech_started', 'speech_ended']);
  });
  it('echo-flagged frames never start speech, however loud', () => {
    const { types } = feed(rep(30, { p: 0.99, echo: true }));
    expect(types).toEqual([]);
  });
  it('echo frames inside speech count as silence (they end a backchannel)', () => {
    const { types } = feed([0.9, 0.9, ...rep(5, { p: 0.99, echo: true })]);
    expect(types).toEqual(['speech_started', 'pause', 'resume']);
  });
});

describe('speech-like background (overBackgroundDb)', () => {
  it('a frame less than backgroundMarginDb over the background cannot start a pause; one above it can', () => {
    const { out } = feed([...rep(5, { p: 0.9, over: 6 }), { p: 0.9, over: 12 }]);
    expect(out.filter((a) => a.type === 'pause').map((a) => a.i)).toEqual([5]);
  });
  it('once paused, frames near the background keep the speech going and count towards the commit', () => {
    const { types } = feed([{ p: 0.9, over: 12 }, ...rep(12, { p: 0.9, over: 0 })]);
    expect(types).toContain('commit');
  });
  it('+Infinity or no figure (no speech-like background) and backgroundMarginDb 0 never gate', () => {
    expect(feed([{ p: 0.9, over: Infinity }]).types).toContain('pause');
    expect(feed([{ p: 0.9 }]).types).toContain('pause');
    expect(feed([{ p: 0.9, over: -20 }], true, { backgroundMarginDb: 0 }).types).toContain('pause');
  });
  it('with no interruptible prompt the gate does not apply: speech_started still comes (consent listens then)', () => {
    expect(feed([{ p: 0.9, over: 0 }], false).types).toEqual(['speech_started']);
  });
});

describe('commit', () => {
  it('commits after commitMinSpeechMs (320 ms = 10 frames) of speech, onset = pause onset', () => {
    const { out } = feed([...rep(3, 0.05), ...rep(12, 0.9)]);
    expect(out.map((a) => a.type)).toEqual(['speech_started', 'pause', 'commit']);
    expect(out[2]).toEqual({ type: 'commit', t: 416, onsetT: 96, voicedMs: 320, reason: 'duration', i: 12 });
  });
  it('hysteresis frames (between silenceThreshold and pauseThreshold) keep speech going and count towards the commit', () => {
    const { out } = feed([0.9, 0.27, 0.27, 0.9, 0.27, 0.26, 0.27, 0.9, 0.27, 0.27, 0.05]);
    const commit = out.find((a) => a.type === 'commit');
    expect(commit).toEqual({ type: 'commit', t: 320, onsetT: 0, voicedMs: 320, reason: 'duration', i: 9 });
  });
  it('frames below silenceThreshold do not count: 9 speech frames + silence gaps never commit', () => {
    const probs = [0.9, 0.9, 0.9, 0.1, 0.9, 0.9, 0.9, 0.1, 0.9, 0.9, ...rep(10, 0.01)];
    const { types } = feed(probs);
    expect(types).not.toContain('commit');
    expect(types).toEqual(['speech_started', 'pause', 'resume', 'speech_ended']);
  });
  it('commits only once per prompt even if the callee keeps talking', () => {
    const { types } = feed(rep(40, 0.9));
    expect(types.filter((t) => t === 'commit')).toHaveLength(1);
    expect(types.filter((t) => t === 'pause')).toHaveLength(1);
  });
});

describe('resume (backchannel)', () => {
  it('7 speech frames (224 ms) then silence → resume after 160 ms of silence, then speech_ended after 240 ms', () => {
    const { out } = feed([...rep(3, 0.05), ...rep(7, 0.9), ...rep(10, 0.02)]);
    expect(out.map((a) => [a.type, a.t])).toEqual([
      ['speech_started', 128],
      ['pause', 128],
      ['resume', 480],
      ['speech_ended', 576],
    ]);
    expect(out[3]).toMatchObject({ type: 'speech_ended', startT: 96 });
  });
  it('after a resume a new utterance pauses again', () => {
    const { types } = feed([...rep(3, 0.9), ...rep(9, 0.02), ...rep(2, 0.9)]);
    expect(types).toEqual(['speech_started', 'pause', 'resume', 'speech_ended', 'speech_started', 'pause']);
  });
  it('a short gap (< resumeAfterSilenceMs) does not resume', () => {
    const { types } = feed([...rep(3, 0.9), ...rep(4, 0.02), ...rep(3, 0.9)]);
    expect(types).toEqual(['speech_started', 'pause']);
  });
  it('clearPrompt forgets a pending pause', () => {
    const { pol } = feed([0.9]);
    expect(pol.isPaused).toBe(true);
    pol.clearPrompt();
    expect(pol.isPaused).toBe(false);
  });
});

describe('speech segments', () => {
  it('speech_started/speech_ended timing: onsetT = frame start, ended after endSilenceMs, startT = onset', () => {
    const { out } = feed([0.01, 0.01, ...rep(5, 0.9), ...rep(8, 0.01)], false);
    expect(out).toEqual([
      { type: 'speech_started', t: 96, onsetT: 64, i: 2 },
      { type: 'speech_ended', t: 480, startT: 64, i: 14 },
    ]);
  });
  it('gapMs larger than endSilenceMs sets the end', () => {
    const { out } = feed([0.9, ...rep(12, 0.01)], false, { gapMs: 320 });
    expect(out.find((a) => a.type === 'speech_ended')?.t).toBe(32 + 320);
  });
  it('lastSpeechT is the end of the last non-silent frame', () => {
    const { pol } = feed([0.9, 0.9, 0.9, 0.27, 0.01, 0.01]);
    expect(pol.lastSpeechT).toBe(128);
  });
  it('a prompt that starts while the callee is already talking pauses on the next speech frame', () => {
    const { out } = feed(rep(6, 0.9), (i) => i >= 3);
    expect(out.map((a) => [a.type, a.t])).toEqual([
      ['speech_started', 32],
      ['pause', 128],
    ]);
    expect(out[1]).toMatchObject({ onsetT: 96 });
  });
});

describe('content verdicts (while a pause is pending)', () => {
  // trailingUnits 0 (off) here: each rule is tested on its own; the trailing-syllable test turns it on.
  const RULES = { minSpeechMs: 128, waitMs: 96, backchannelMaxMs: 2000, unsureMaxMs: 320, trailingUnits: 0 };
  type V = { at: number; kind: 'backchannel' | 'content' | 'none' | 'failed'; clear?: boolean; other?: number; onsetT?: number };
  /**
   * Frames as in `feed`, with content verdicts delivered after frame `at` (at its end time), as the probe's results
   * arrive between frames. `aware` = the call has a probe.
   */
  function feedContent(probs: number[], verdicts: V[], opts: { aware?: boolean; rules?: typeof RULES | undefined } = {}) {
    const pol = new BargeInPolicy({ ...OPTS, contentRules: 'rules' in opts ? opts.rules : RULES });
    pol.setContentAware(opts.aware ?? true);
    const out: (BargeInAction & { i: number })[] = [];
    let onsetT = -1;
    probs.forEach((p, i) => {
      const t = (i + 1) * F;
      for (const a of pol.frame({ t, durMs: F, prob: p, echo: false }, true)) {
        if (a.type === 'pause') onsetT = a.onsetT;
        out.push({ ...a, i });
      }
      for (const v of verdicts.filter((x) => x.at === i)) {
        for (const a of pol.content({ kind: v.kind, clear: v.clear, other: v.other, onsetT: v.onsetT ?? onsetT }, t)) out.push({ ...a, i });
      }
    });
    return { pol, out, types: out.map((a) => a.type), commit: out.find((a) => a.type === 'commit') };
  }

  it('a backchannel that outlasts the duration threshold (对对对, 800 ms) resumes instead of committing', () => {
    // 25 speech frames = 800 ms, verdicts "backchannel" every few frames, then silence.
    const { types, out } = feedContent([...rep(25, 0.9), ...rep(10, 0.02)], [{ at: 7, kind: 'backchannel' }, { at: 11, kind: 'backchannel' }, { at: 20, kind: 'backchannel' }]);
    expect(types).toEqual(['speech_started', 'pause', 'resume', 'speech_ended']);
    expect(out[2]).toMatchObject({ type: 'resume', backchannel: true, t: (25 + 5) * F });
  });

  it('the same stretch commits by duration on a call without a probe (today\'s rule)', () => {
    const { commit } = feedContent([...rep(25, 0.9), ...rep(10, 0.02)], [{ at: 7, kind: 'backchannel' }], { aware: false });
    expect(commit).toMatchObject({ t: 10 * F, reason: 'duration' });
  });

  it('a backchannel verdict without content rules configured is ignored (duration rule)', () => {
    const { commit } = feedContent([...rep(25, 0.9), ...rep(10, 0.02)], [{ at: 7, kind: 'backchannel' }], { rules: undefined });
    expect(commit).toMatchObject({ t: 10 * F, reason: 'duration' });
  });

  it('backchannel words past backchannelMaxMs commit all the same', () => {
    const { commit } = feedContent(rep(80, 0.9), [{ at: 5, kind: 'backchannel' }]);
    expect(commit).toMatchObject({ reason: 'long_backchannel', voicedMs: 2016 });
  });

  it('clear content commits as soon as it is heard, before the duration threshold', () => {
    const { commit, types } = feedContent(rep(12, 0.9), [{ at: 5, kind: 'content', clear: true }]);
    expect(commit).toMatchObject({ t: 6 * F, reason: 'content', voicedMs: 6 * F });
    expect(types.filter((t) => t === 'commit')).toHaveLength(1);
  });

  it('clear content heard before minSpeechMs of speech commits once that much speech is in', () => {
    const { commit } = feedContent(rep(12, 0.9), [{ at: 1, kind: 'content', clear: true }]);
    expect(commit).toMatchObject({ t: 4 * F, reason: 'content', voicedMs: 128 });
  });

  it('content that is not clear (one unknown word) is unsure: it commits at unsureMaxMs, without the wait', () => {
    const { commit } = feedContent(rep(14, 0.9), [{ at: 5, kind: 'content', clear: false }]);
    expect(commit).toMatchObject({ t: 10 * F, reason: 'unclear' });
    const later = feedContent(rep(30, 0.9), [{ at: 5, kind: 'content', clear: false }], { rules: { ...RULES, unsureMaxMs: 640 } });
    expect(later.commit).toMatchObject({ t: 20 * F, reason: 'unclear' });
  });

  it('unsure and the callee stops before unsureMaxMs: the prompt resumes (echo residue, a misheard 嗯)', () => {
    const { types } = feedContent([...rep(14, 0.9), ...rep(8, 0.02)], [{ at: 6, kind: 'none' }], { rules: { ...RULES, unsureMaxMs: 640 } });
    expect(types).toEqual(['speech_started', 'pause', 'resume', 'speech_ended']);
  });

  it('unsureMaxMs below the duration threshold never commits sooner than the duration rule', () => {
    const { commit } = feedContent(rep(14, 0.9), [{ at: 2, kind: 'none' }], { rules: { ...RULES, unsureMaxMs: 64 } });
    expect(commit).toMatchObject({ t: 10 * F, reason: 'unclear' });
  });

  it('unsure, then recognised as a backchannel before unsureMaxMs: holds past it and resumes as a backchannel', () => {
    const rules = { ...RULES, unsureMaxMs: 480 };
    const { types, out } = feedContent([...rep(24, 0.9), ...rep(8, 0.02)], [{ at: 4, kind: 'none' }, { at: 12, kind: 'backchannel' }], { rules });
    expect(types).toEqual(['speech_started', 'pause', 'resume', 'speech_ended']);
    expect(out[2]).toMatchObject({ type: 'resume', backchannel: true });
  });

  it('unsure, then clear content: commits when the content is heard, before unsureMaxMs', () => {
    const rules = { ...RULES, unsureMaxMs: 960 };
    const { commit } = feedContent(rep(40, 0.9), [{ at: 4, kind: 'content', clear: false }, { at: 11, kind: 'content', clear: true }], { rules });
    expect(commit).toMatchObject({ t: 12 * F, reason: 'content' });
  });

  it('"none" arriving during the no-verdict wait ends the wait: the unsure rule decides (commits at unsureMaxMs, not at the wait)', () => {
    const rules = { ...RULES, unsureMaxMs: 640 };
    const { commit } = feedContent(rep(30, 0.9), [{ at: 11, kind: 'none' }], { rules });
    expect(commit).toMatchObject({ t: 20 * F, reason: 'unclear', voicedMs: 640 });
    // Without any verdict the wait starts at the same 640 ms of speech (no verdict is no surer than "none").
    expect(feedContent(rep(30, 0.9), [], { rules }).commit).toMatchObject({ t: 23 * F, reason: 'no_verdict' });
  });

  it('a shorter duration rule (a classifier\'s 192 ms) does not commit a short backchannel whose verdict is late', () => {
    // 10 frames (320 ms) of 嗯, no verdict back before the callee stops (a loaded recogniser): resumes.
    const pol = new BargeInPolicy({ ...OPTS, commitMinSpeechMs: 192, contentRules: RULES });
    pol.setContentAware(true);
    const types: string[] = [];
    [...rep(9, 0.9), ...rep(10, 0.02)].forEach((p, i) => {
      for (const a of pol.frame({ t: (i + 1) * F, durMs: F, prob: p, echo: false }, true)) types.push(a.type);
    });
    expect(types).toEqual(['speech_started', 'pause', 'resume', 'speech_ended']);
  });

  it('"none" during the wait and the callee stops before unsureMaxMs: resumes (it was not long enough to be sure)', () => {
    const rules = { ...RULES, unsureMaxMs: 640, waitMs: 1000 };
    const { types } = feedContent([...rep(12, 0.9), ...rep(8, 0.02)], [{ at: 11, kind: 'none' }], { rules });
    expect(types).toEqual(['speech_started', 'pause', 'resume', 'speech_ended']);
  });

  it('with trailingUnits, a backchannel whose later look adds one odd syllable (对对 → 对对我) still resumes', () => {
    const probs = [...rep(25, 0.9), ...rep(10, 0.02)];
    const verdicts: V[] = [{ at: 7, kind: 'backchannel' }, { at: 11, kind: 'backchannel' }, { at: 15, kind: 'content', other: 1 }];
    expect(feedContent(probs, verdicts, { rules: { ...RULES, trailingUnits: 1 } }).types).toEqual(['speech_started', 'pause', 'resume', 'speech_ended']);
    // Off (RULES: 0), the unsure verdict commits at once, 320 ms of speech being in.
    expect(feedContent(probs, verdicts).commit).toMatchObject({ t: 16 * F, reason: 'unclear' });
    // Two odd syllables, clear content, or an odd syllable with no backchannel heard before it are not kept.
    const rules = { ...RULES, trailingUnits: 1 };
    expect(feedContent(probs, [{ at: 7, kind: 'backchannel' }, { at: 15, kind: 'content', other: 2 }], { rules }).commit).toMatchObject({ reason: 'unclear' });
    expect(feedContent(probs, [{ at: 7, kind: 'backchannel' }, { at: 15, kind: 'content', clear: true, other: 1 }], { rules }).commit).toMatchObject({ reason: 'content' });
    expect(feedContent(probs, [{ at: 7, kind: 'content', other: 1 }], { rules }).commit).toMatchObject({ reason: 'unclear' });
  });

  it('a backchannel that turns into content (对，不用了) commits when the content is heard', () => {
    const { commit } = feedContent(rep(30, 0.9), [{ at: 8, kind: 'backchannel' }, { at: 17, kind: 'content', clear: true }]);
    expect(commit).toMatchObject({ t: 18 * F, reason: 'content' });
  });

  it('no verdict in time → waits waitMs past the duration threshold, then commits (no_verdict)', () => {
    const { commit } = feedContent(rep(20, 0.9), []);
    // Threshold met at frame 10 (t=320); 96 ms later (t=416) the wait is over.
    expect(commit).toMatchObject({ t: 13 * F, reason: 'no_verdict' });
  });

  it('a verdict arriving inside the wait decides it: backchannel holds, content commits at once', () => {
    expect(feedContent([...rep(14, 0.9), ...rep(8, 0.02)], [{ at: 11, kind: 'backchannel' }]).types).toEqual(['speech_started', 'pause', 'resume', 'speech_ended']);
    expect(feedContent(rep(14, 0.9), [{ at: 11, kind: 'content', clear: true }]).commit).toMatchObject({ t: 12 * F, reason: 'content' });
  });

  it('"none" (nothing recognised) is unsure: with unsureMaxMs = the duration threshold it commits as today', () => {
    const { commit } = feedContent(rep(20, 0.9), [{ at: 8, kind: 'none' }, { at: 10, kind: 'none' }]);
    expect(commit).toMatchObject({ t: 10 * F, reason: 'unclear' });
  });

  it('"none" after a backchannel verdict keeps the backchannel (a recogniser that lost the words again)', () => {
    const { types } = feedContent([...rep(20, 0.9), ...rep(8, 0.02)], [{ at: 6, kind: 'backchannel' }, { at: 12, kind: 'none' }]);
    expect(types).not.toContain('commit');
    expect(types).toContain('resume');
  });

  it('a recogniser failure never blocks a decision: failed → duration rule, at once if it is already met', () => {
    const before = feedContent(rep(20, 0.9), [{ at: 4, kind: 'failed' }]);
    expect(before.commit).toMatchObject({ t: 10 * F, reason: 'duration' });
    const during = feedContent(rep(20, 0.9), [{ at: 10, kind: 'failed' }]);
    expect(during.commit).toMatchObject({ t: 11 * F, reason: 'duration' });
  });

  it('a failure after a backchannel verdict hands the pause back to the duration rule', () => {
    const { commit } = feedContent(rep(20, 0.9), [{ at: 6, kind: 'backchannel' }, { at: 12, kind: 'failed' }]);
    expect(commit).toMatchObject({ t: 13 * F, reason: 'duration' });
  });

  it('the callee stops during the wait with no verdict: commits (no_verdict) rather than resuming', () => {
    const { types, commit } = feedContent([...rep(10, 0.9), ...rep(10, 0.02)], [], { rules: { ...RULES, waitMs: 1000 } });
    expect(types).toContain('commit');
    expect(commit).toMatchObject({ reason: 'no_verdict', t: (10 + 5) * F });
  });

  it('a short stretch with no verdict resumes exactly as today', () => {
    const { types } = feedContent([...rep(7, 0.9), ...rep(10, 0.02)], []);
    expect(types).toEqual(['speech_started', 'pause', 'resume', 'speech_ended']);
  });

  it('verdicts about another pause, or with no pause pending, are ignored', () => {
    const stale = feedContent(rep(14, 0.9), [{ at: 4, kind: 'content', clear: true, onsetT: 9999 }]);
    expect(stale.types).toContain('commit');
    expect(stale.commit).toMatchObject({ reason: 'no_verdict' });
    const pol = new BargeInPolicy({ ...OPTS, contentRules: RULES });
    pol.setContentAware(true);
    expect(pol.content({ kind: 'content', clear: true, onsetT: 0 }, 100)).toEqual([]);
  });

  it('after a commit further verdicts change nothing', () => {
    const { types } = feedContent(rep(20, 0.9), [{ at: 5, kind: 'content', clear: true }, { at: 8, kind: 'content', clear: true }]);
    expect(types.filter((t) => t === 'commit')).toHaveLength(1);
  });
});
