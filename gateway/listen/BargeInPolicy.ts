// Decides, frame by frame, whether the callee is really talking over the prompt. Two steps: pause as soon as
// speech is likely (cheap to undo), commit only once it has lasted long enough to be real; a backchannel
// (嗯, 对), a cough or a click stops short of that and the prompt resumes where it paused. Pure logic: frames in,
// actions out, so every rule is unit-testable without audio.
import type { BargeInConfig } from '../config.js';

export interface VadFrame {
  /** Inbound-audio ms at the END of this frame. */
  t: number;
  durMs: number;
  prob: number;
  /** The echo canceller judged this frame to be the bot's own voice. */
  echo: boolean;
}

export type BargeInAction =
  | { type: 'speech_started'; t: number; onsetT: number }
  | { type: 'speech_ended'; t: number; startT: number }
  | { type: 'pause'; t: number; onsetT: number }
  | { type: 'resume'; t: number }
  | { type: 'commit'; t: number; onsetT: number; voicedMs: number };

export interface BargeInOptions extends BargeInConfig {
  /** Trailing silence that closes a speech segment (speech_ended). */
  endSilenceMs: number;
  /** Below this probability a frame counts towards that trailing silence. */
  endThreshold: number;
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

  /**
   * @param promptInterruptible an interruptible prompt is playing (or paused by us) right now
   */
  frame(f: VadFrame, promptInterruptible: boolean): BargeInAction[] {
    const o = this.opts;
    const out: BargeInAction[] = [];
    const speech = !f.echo && f.prob >= o.pauseThreshold;
    const silent = f.echo || f.prob < o.silenceThreshold;
    // End of an utterance is judged more strictly than the end of a barge-in: a decision waits on it.
    const endish = f.echo || f.prob < o.endThreshold;
    const frameStart = f.t - f.durMs;

    if (!this.inSpeech) {
      if (speech) {
        if (this.run === 0) this.runStart = frameStart;
        this.run += f.durMs;
        if (this.run >= Math.max(o.pauseMinSpeechMs, f.durMs)) {
          this.inSpeech = true;
          this.onsetT = this.runStart;
          this.silence = 0;
          this.voiced = this.run;
          out.push({ type: 'speech_started', t: f.t, onsetT: this.onsetT });
          if (promptInterruptible && !this.paused && !this.committed) {
            this.paused = true;
            this.pauseOnset = this.onsetT;
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
          this.paused = true;
          this.pauseOnset = frameStart;
          this.voiced = f.durMs;
          out.push({ type: 'pause', t: f.t, onsetT: frameStart });
        }
      } else {
        this.silence += f.durMs;
      }
      this.endSilence = endish ? this.endSilence + f.durMs : 0;
      if (this.paused && !this.committed && this.voiced >= o.commitMinSpeechMs) {
        this.committed = true;
        this.paused = false;
        out.push({ type: 'commit', t: f.t, onsetT: this.pauseOnset, voicedMs: this.voiced });
      }
      if (this.paused && !this.committed && this.silence >= o.resumeAfterSilenceMs) {
        this.paused = false;
        this.voiced = 0;
        out.push({ type: 'resume', t: f.t });
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
