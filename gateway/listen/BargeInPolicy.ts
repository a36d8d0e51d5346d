// Decides, frame by frame, whether the callee is really talking over the prompt. Two steps: pause as soon as
// speech is likely (cheap to undo), commit only once it has lasted long enough to be real; a backchannel
// (嗯, 对), a cough or a click stops short of that and the prompt resumes where it paused. While a pause is pending
// a content probe (interruption/ContentProbe.ts) may say what the callee is saying: a backchannel (嗯嗯, 对对对)
// then resumes however long it lasts, and speech that carries content commits, sooner than the duration rule when
// the evidence is clear. Without a verdict in time the duration rule decides, as it does on calls without a probe.
// Pure logic: frames and verdicts in, actions out, so every rule is unit-testable without audio.
import type { BargeInConfig } from '../config.js';

export interface VadFrame {
  /** Inbound-audio ms at the END of this frame. */
  t: number;
  durMs: number;
  prob: number;
  /** The echo canceller judged this frame to be the bot's own voice. */
  echo: boolean;
  /**
   * How far the frame stands above the call's speech-like background (BackgroundLevel), dB; +Infinity or absent
   * when the background is not speech-like. Below `backgroundMarginDb` the frame cannot start a barge-in.
   */
  overBackgroundDb?: number;
}

export type BargeInAction =
  | { type: 'speech_started'; t: number; onsetT: number }
  | { type: 'speech_ended'; t: number; startT: number }
  | { type: 'pause'; t: number; onsetT: number }
  | { type: 'resume'; t: number; backchannel?: boolean }
  | { type: 'commit'; t: number; onsetT: number; voicedMs: number; reason: CommitReason };

/**
 * Why a barge-in was committed: `duration` (the callee spoke long enough and no probe was asked), `content` (the
 * probe heard words that are not a backchannel), `unclear` (it heard nothing, or one word it does not know, for
 * `unsureMaxMs` of speech), `no_verdict` (long enough, and no verdict came in time), `long_backchannel` (backchannel
 * words, but for longer than any backchannel lasts).
 */
export type CommitReason = 'duration' | 'content' | 'unclear' | 'no_verdict' | 'long_backchannel';

/** What the content probe made of the paused stretch so far (from the onset to the audio it had). */
export interface ContentVerdict {
  /**
   * `backchannel`: everything recognised is backchannel words; `content`: something else was said; `none`: nothing
   * recognised yet; `failed`: the probe cannot help this pause (recogniser lost, nothing to listen with).
   */
  kind: 'backchannel' | 'content' | 'none' | 'failed';
  /** `content` only: the evidence is clear (a listed interruption word, or enough other words) — commit early. */
  clear?: boolean;
  /** `content` only: units heard that no backchannel word covers. */
  other?: number;
  /** Onset of the pause it is about: a verdict on an earlier pause is ignored. */
  onsetT: number;
}

export interface ContentRules {
  /** A clear content verdict commits once this much speech has been heard (before the duration rule would). */
  minSpeechMs: number;
  /** When the duration rule is met without a verdict, wait this long (inbound ms) for one before committing. */
  waitMs: number;
  /** Backchannel words that go on for this much speech commit all the same: nobody says 嗯 for that long. */
  backchannelMaxMs: number;
  /**
   * When the probe heard nothing, or a single word that is neither a backchannel nor an interruption word: commit
   * once this much speech has been heard (never before `commitMinSpeechMs`). Echo residue and noise that set off
   * the VAD give the recogniser nothing to hear; a backchannel it misheard gives it one odd word.
   */
  unsureMaxMs: number;
  /**
   * Once the probe has heard only backchannel words in a pause, a later look that is content but not clear, with at
   * most this many units outside them, keeps the backchannel verdict (0: off). The end of a look is where the
   * recogniser adds a syllable that is not there (对对 → 对对我, 好好好 → 好好好考), and an unsure verdict that late,
   * after 320 ms of speech, commits at once.
   */
  trailingUnits: number;
}

export interface BargeInOptions extends Omit<BargeInConfig, 'content' | 'nearEnd' | 'interruption'> {
  /** Trailing silence that closes a speech segment (speech_ended). */
  endSilenceMs: number;
  /** Below this probability a frame counts towards that trailing silence. */
  endThreshold: number;
  /** Rules for content verdicts; they apply only while the call has a probe (`setContentAware`). */
  contentRules?: ContentRules;
}

export class BargeInPolicy {
  private inSpeech = false;
  private run = 0; // consecutive speech ms while not yet in speech
  private runStart = 0;
  private silence = 0; // consecutive non-speech ms while in speech
  private endSilence = 0; // consecutive ms below the end-of-speech threshold
  private onsetT = 0;
  private lastSpeechEnd = 0;
  private voiced = 0; // speech ms since the pause
  private paused = false;
  private pauseOnset = 0;
  private committed = false;
  /** The call has a content probe; cleared for one pause by a `failed` verdict. */
  private contentAware = false;
  private pauseAware = false;
  private verdict: ContentVerdict | null = null;
  /** Inbound ms at which the duration rule was met while waiting for a verdict. */
  private waitFrom: number | null = null;

  constructor(private opts: BargeInOptions) {}

  update(opts: Partial<BargeInOptions>): void {
    this.opts = { ...this.opts, ...opts };
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Forget a pending pause (the prompt ended or was stopped by other means). */
  clearPrompt(): void {
    this.paused = false;
    this.committed = false;
    this.voiced = 0;
  }

  /** Whether a content probe listens to this call's pauses (so a commit may wait for its verdict). */
  setContentAware(on: boolean): void {
    this.contentAware = on && !!this.opts.contentRules;
  }

  /** A verdict of the content probe, arriving at inbound time `t`; may commit at once. */
  content(v: ContentVerdict, t: number): BargeInAction[] {
    if (!this.paused || this.committed || !this.pauseAware || v.onsetT !== this.pauseOnset) return [];
    if (v.kind === 'failed') {
      // Nothing more will come for this pause: the duration rule decides, now if it is already met.
      this.pauseAware = false;
    } else if (this.keepsBackchannel(v)) {
      // A backchannel with one odd syllable at the end of the look: still a backchannel until more is heard.
    } else if (v.kind !== 'none' || !this.verdict) {
      // `none` after words were heard is a recogniser that lost them again, not news.
      this.verdict = v;
    }
    return this.decide(t);
  }

  private keepsBackchannel(v: ContentVerdict): boolean {
    const n = this.opts.contentRules?.trailingUnits ?? 0; // no rules: no content verdicts either
    return n > 0 && this.verdict?.kind === 'backchannel' && v.kind === 'content' && !v.clear && v.other !== undefined && v.other <= n;
  }

  private beginPause(onsetT: number): void {
    this.paused = true;
    this.pauseOnset = onsetT;
    this.pauseAware = this.contentAware;
    this.verdict = null;
    this.waitFrom = null;
  }

  /** The commit rule for a pending pause, duration and content together. */
  private decide(t: number): BargeInAction[] {
    if (!this.paused || this.committed) return [];
    const o = this.opts;
    const c = o.contentRules;
    let reason: CommitReason | null = null;
    if (!this.pauseAware || !c) {
      if (this.voiced >= o.commitMinSpeechMs) reason = 'duration';
    } else {
      const v = this.verdict;
      if (v?.kind === 'content' && v.clear) {
        if (this.voiced >= c.minSpeechMs) reason = 'content';
      } else if (v?.kind === 'backchannel') {
        if (this.voiced >= c.backchannelMaxMs) reason = 'long_backchannel';
      } else if (v) {
        if (this.voiced >= Math.max(o.commitMinSpeechMs, c.unsureMaxMs)) reason = 'unclear';
      } else if (this.voiced >= Math.max(o.commitMinSpeechMs, c.unsureMaxMs)) {
        // No verdict yet is no surer than an unsure one: the same speech, then at most waitMs for a verdict. (Under a
        // classifier's shorter commitMinSpeechMs, the first look — 256 ms after the onset — could not be back in time
        // on a loaded recogniser, and a 300 ms backchannel committed as `no_verdict`.)
        this.waitFrom ??= t;
        if (t - this.waitFrom >= c.waitMs) reason = 'no_verdict';
      }
    }
    return reason ? this.commitNow(t, reason) : [];
  }

  private commitNow(t: number, reason: CommitReason): BargeInAction[] {
    this.committed = true;
    this.paused = false;
    return [{ type: 'commit', t, onsetT: this.pauseOnset, voicedMs: this.voiced, reason }];
  }

  /**
   * @param promptInterruptible an interruptible prompt is playing (or paused by us) right now
   */
  frame(f: VadFrame, promptInterruptible: boolean): BargeInAction[] {
    const o = this.opts;
    const out: BargeInAction[] = [];
    // Over an interruptible prompt, speech must also stand out from a speech-like background (TV, babble) to start
    // a pause; it still keeps one going (the silence threshold alone decides that). Consent and speech events with
    // no prompt playing are not affected.
    const loud = !promptInterruptible || !(o.backgroundMarginDb > 0) || (f.overBackgroundDb ?? Infinity) >= o.backgroundMarginDb;
    const speech = !f.echo && f.prob >= o.pauseThreshold && loud;
    const silent = f.echo || f.prob < o.silenceThreshold;
    // End of an utterance is judged more strictly than the end of a barge-in: a decision waits on it.
    const endish = f.echo || f.prob < o.endThreshold;
    const frameStart = f.t - f.durMs;

    if (!this.inSpeech) {
      if (speech) {
        if (this.run === 0) this.runStart = frameStart;
        this.run += f.durMs;
        // One clear frame pauses at once; a doubtful one needs company (a click or a cough's burst is one frame).
        if (this.run >= (f.prob >= o.pauseInstantThreshold ? f.durMs : Math.max(o.pauseMinSpeechMs, f.durMs))) {
          this.inSpeech = true;
          this.onsetT = this.runStart;
          this.silence = 0;
          this.voiced = this.run;
          out.push({ type: 'speech_started', t: f.t, onsetT: this.onsetT });
          if (promptInterruptible && !this.paused && !this.committed) {
            this.beginPause(this.onsetT);
            out.push({ type: 'pause', t: f.t, onsetT: this.onsetT });
          }
        }
      } else if (silent) {
        this.run = 0;
      }
    } else {
      // Hysteresis: once speech has started, anything above the silence threshold keeps it going and counts
      // towards the commit; only the stricter speech threshold can start a new pause.
      if (!silent) {
        this.silence = 0;
        this.lastSpeechEnd = f.t;
        if (this.paused) this.voiced += f.durMs;
        else if (speech && promptInterruptible && !this.committed) {
          // A prompt started while the callee was already talking: treat it like a fresh onset.
          this.beginPause(frameStart);
          this.voiced = f.durMs;
          out.push({ type: 'pause', t: f.t, onsetT: frameStart });
        }
      } else {
        this.silence += f.durMs;
      }
      this.endSilence = endish ? this.endSilence + f.durMs : 0;
      out.push(...this.decide(f.t));
      if (this.paused && !this.committed && this.silence >= o.resumeAfterSilenceMs && this.waitFrom !== null && !this.verdict) {
        // Long enough for the duration rule and still no verdict when the callee stopped: that was no backchannel
        // we could tell, so it is decided as without a probe.
        out.push(...this.commitNow(f.t, 'no_verdict'));
      }
      if (this.paused && !this.committed && this.silence >= o.resumeAfterSilenceMs) {
        const backchannel = this.pauseAware && this.verdict?.kind === 'backchannel';
        this.paused = false;
        this.voiced = 0;
        out.push(backchannel ? { type: 'resume', t: f.t, backchannel } : { type: 'resume', t: f.t });
      }
      if (this.endSilence >= Math.max(o.endSilenceMs, o.gapMs) && !this.paused) {
        this.inSpeech = false;
        this.endSilence = 0;
        this.run = 0;
        out.push({ type: 'speech_ended', t: f.t, startT: this.onsetT });
        if (!promptInterruptible) this.committed = false;
      }
    }
    if (!promptInterruptible && !this.paused) this.committed = false;
    return out;
  }

  /** End time of the last speech frame (for consent timing). */
  get lastSpeechT(): number {
    return this.lastSpeechEnd;
  }
}
