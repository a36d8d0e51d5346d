// Hears the callee's answer to a consent question on one call. Recognition runs only inside a decision window
// (opened by expect_consent) and only around speech: each utterance is fed to the recogniser from its VAD onset
// minus a pre-roll, finished at the VAD end of speech, judged (gateway/listen/consent/decide.ts), written to the
// evidence store — durably, before the client is told — and then sent as a `consent` event. A window with no usable
// answer ends `unclear`.
import { floatToInt16 } from '../audio/codec.js';
import type { CallListener } from '../call/Call.js';
import type { AsrHypothesis, AsrResult, AsrStream, AudioTransform } from './asr/index.js';
import type { BargeInAction } from './BargeInPolicy.js';
import type { ConsentVerdict, Heard, Hypothesis } from './consent/decide.js';
import { HistoryRings } from './consent/HistoryRings.js';

const RATE = 16000;
const HISTORY_S = 4; // audio kept for pre-roll and evidence context
/**
 * How long a provisional decision (consent.fragmentUnplaced: listen) waits for more speech. The rest of a word the
 * VAD split off has begun by the time the fragment is decided (its end silence and the recogniser's final come
 * first); a person who heard only a murmur would ask again after about this long, not after the whole window.
 */
export const FRAGMENT_HOLD_MS = 600;
/** Shared by every session of the process: a ring goes back when its call's session closes. */
const rings = new HistoryRings(RATE * HISTORY_S);
const NO_AUDIO = new Float32Array(0);

export interface ConsentDecisionEvent {
  decision: 'granted' | 'refused' | 'unclear';
  phrase: string | null;
  transcript: string;
  confidence: number;
  complaint: boolean;
  reason: string;
  speechStartT: number | null;
  speechEndT: number | null;
  promptId?: string;
  /** Answer audio with context, for evidence. */
  audio?: Int16Array;
}

/** One further hearing of an unplaced answer (ConsentSessionDeps.rehear). */
export interface Rehearing {
  shiftMs: number;
  transform?: AudioTransform;
}

export interface ConsentSessionDeps {
  openStream(): AsrStream;
  /** Weighs what was heard of one utterance; null when it is too short to be an answer (keep listening). */
  judge(heard: Heard): ConsentVerdict | null;
  /** Which opinion carries the decision: the recogniser's transcript, or (keyword-spotting mode) the spotter's. */
  main: Heard['main'];
  /** Current inbound position, ms. */
  now(): number;
  preRollMs: number;
  endSilenceMs: number;
  /**
   * The further hearings of an answer whose first hearing placed no lexicon phrase (consent.rehear, per call rate):
   * the same audio fed again once per entry, cut `shiftMs` later (negative: earlier), with `transform` applied by the
   * ASR worker (a narrowband answer band-extended); their transcripts are weighed, with the first's, in one decision
   * once the last is in. Empty: never.
   */
  rehear: Rehearing[];
  /**
   * Set when this session's speech events come from a VAD of its own that runs only while a window is open (an 8 kHz
   * call's 8 kHz VAD, consent.narrowbandVad): turned on with each window, off when it ends.
   */
  ownVad?(on: boolean): void;
  emitTranscript(text: string, final: boolean): void;
  /** Persist and announce; must not throw. */
  decide(d: ConsentDecisionEvent): void;
}

interface Utterance {
  /** Stream audio ms (since the recogniser stream opened) at which the VAD onset lies. */
  onsetStreamMs: number;
  startSample: number;
  /** Absolute sample one past the last one fed (set at the end of speech). */
  endSample: number | null;
  startT: number;
  endT: number | null;
  lastPartial: string;
  /** Set while the utterance is being heard again: what the hearings so far heard, on the utterance's clock. */
  first?: Heard;
  /** The stream ms at which the utterance's onset lies in each further hearing still to come, in order. */
  later?: number[];
}

export class ConsentSession implements CallListener {
  private hist = rings.take();
  private histEnd = 0; // absolute sample index one past the newest sample in `hist`
  private stream: AsrStream | null = null;
  private utt: Utterance | null = null;
  private window: { promptId?: string; deadlineT: number } | null = null;
  private inSpeech = false;
  private speechOnsetT = 0;
  private closed = false;
  /** A provisional decision (a fragment nobody could place) and when it stands if no more speech has come. */
  private held: { d: ConsentDecisionEvent; atT: number; onsetT: number } | null = null;
  /** Audio accepted by the recogniser stream so far, ms. */
  private streamMs = 0;

  constructor(private readonly d: ConsentSessionDeps) {}

  get windowOpen(): boolean {
    return this.window !== null;
  }

  /** Opens a decision window: the next utterance(s) are the answer to `promptId`. */
  expect(promptId: string | undefined, windowMs: number): void {
    this.window = { promptId, deadlineT: this.d.now() + windowMs };
    this.held = null;
    this.d.ownVad?.(true);
    // The callee may already be answering (talking over the question): start from that onset.
    if (this.inSpeech && !this.utt) this.begin(this.speechOnsetT);
  }

  audio(samples: Float32Array, start: number): void {
    // Its ring may already be another call's.
    if (this.closed) return;
    this.remember(samples, start);
    if (this.utt) {
      const copy = samples.slice();
      this.streamMs += (copy.length / RATE) * 1000;
      this.stream!.accept(copy);
    }
    if (this.window && !this.utt) {
      const now = this.d.now();
      if (this.held && !this.inSpeech && now >= this.held.atT) this.finishWindow(this.held.d);
      else if (now >= this.window.deadlineT) this.finishWindow(this.held?.d ?? { decision: 'unclear', phrase: null, transcript: '', confidence: 0, complaint: false, reason: 'no answer before the window closed', speechStartT: null, speechEndT: null });
    }
  }

  speech(a: BargeInAction): void {
    if (a.type === 'speech_started') {
      this.inSpeech = true;
      this.speechOnsetT = a.onsetT;
      if (this.window && !this.utt) this.begin(a.onsetT);
    } else if (a.type === 'speech_ended') {
      this.inSpeech = false;
      if (this.utt && this.utt.endT === null) {
        this.utt.endT = Math.max(this.utt.startT, a.t - this.d.endSilenceMs);
        this.utt.endSample = this.histEnd;
        this.stream!.finish();
      }
    }
  }

  /** Keeps the last HISTORY_S seconds in a ring (the call's audio passes here sample by sample: no shifting). */
  private remember(samples: Float32Array, start: number): void {
    const h = this.hist;
    const H = h.length;
    this.histEnd = start;
    let w = ((start % H) + H) % H;
    for (let i = 0; i < samples.length; i++) {
      h[w] = samples[i];
      if (++w === H) w = 0;
    }
    this.histEnd = start + samples.length;
  }

  /** Held audio over absolute samples [from, to), clipped to what the ring still has. */
  private slice(from: number, to: number): Float32Array {
    const H = this.hist.length;
    const a = Math.max(from, this.histEnd - H, 0);
    const b = Math.min(to, this.histEnd);
    if (b <= a) return new Float32Array(0);
    const out = new Float32Array(b - a);
    for (let i = a; i < b; i++) out[i - a] = this.hist[i % H];
    return out;
  }

  private begin(onsetT: number): void {
    if (!this.stream) {
      this.stream = this.d.openStream();
      this.stream.onResult((r) => this.onResult(r));
    }
    const startSample = Math.max(0, Math.round(((onsetT - this.d.preRollMs) * RATE) / 1000));
    const pre = this.slice(startSample, this.histEnd);
    const onsetStreamMs = this.streamMs + Math.max(0, onsetT - (this.histEnd * 1000) / RATE + (pre.length * 1000) / RATE);
    this.utt = { onsetStreamMs, startSample, endSample: null, startT: onsetT, endT: null, lastPartial: '' };
    this.streamMs += (pre.length / RATE) * 1000;
    if (pre.length) this.stream.accept(pre);
  }

  private onResult(r: AsrResult): void {
    if (this.closed || !this.utt) return;
    if (!r.final) {
      if (!this.utt.first && r.text && r.text !== this.utt.lastPartial) {
        this.utt.lastPartial = r.text;
        this.d.emitTranscript(r.text, false);
      }
      return;
    }
    const utt = this.utt;
    this.utt = null;
    const text = r.error ? '' : r.text.trim();
    if (!utt.first) this.d.emitTranscript(text, true);
    if (!this.window) return;
    if (r.error) {
      this.finishWindow(this.decision(utt, { decision: 'unclear', phrase: null, confidence: 0, complaint: false, reason: `recogniser failed: ${r.error}` }, utt.first?.hypotheses[0]?.text ?? ''));
      return;
    }
    let heard = this.heard(utt, r);
    // A further hearing's own transcript may grant where the first placed nothing; engines beside it (secondOpinion)
    // weigh in as they do on the first.
    if (utt.first) heard = { ...utt.first, hypotheses: [...utt.first.hypotheses, ...heard.hypotheses.map((h, i) => (i === 0 ? { ...h, reheard: true } : h))] };
    if (utt.later?.length) {
      // One decision over every hearing: the next one's result is on its way (fed and finished already).
      this.utt = { ...utt, onsetStreamMs: utt.later[0]!, later: utt.later.slice(1), first: heard };
      return;
    }
    // After held speech the answer began at the held onset: a grant must have heard from there (decide.ts).
    if (this.held) heard = { ...heard, heldOnsetMs: utt.startT - this.held.onsetT };
    const v = this.d.judge(heard);
    if (!utt.first && (!v || v.cue === 'none' || v.cue === 'empty') && this.rehear(utt, heard)) return;
    if (v?.provisional) {
      // Speech may follow at once (the rest of a word the VAD split): that decides. Only if the callee says nothing
      // more within FRAGMENT_HOLD_MS does the fragment's own `unclear` stand, rather than the whole window's wait.
      this.held = { d: this.decision(utt, v, v.transcript), atT: this.d.now() + FRAGMENT_HOLD_MS, onsetT: this.held?.onsetT ?? utt.startT };
    } else if (v) {
      this.finishWindow(this.decision(utt, v, v.transcript));
      return;
    }
    // Nothing usable in speech too short to be an answer (a click, a cough): keep listening, from the speech
    // already under way if there is some.
    if (this.inSpeech) this.begin(this.speechOnsetT);
  }

  /** Feeds the utterance's audio again, once per `rehear` entry (cut, transform); false when none is possible. */
  private rehear(utt: Utterance, first: Heard): boolean {
    if (!this.d.rehear.length || this.d.main !== 'recogniser' || utt.endSample === null || !this.stream) return false;
    const onsets: number[] = [];
    for (const how of this.d.rehear) {
      const from = Math.max(0, utt.startSample + Math.round((how.shiftMs * RATE) / 1000));
      const held = this.slice(from, utt.endSample);
      if (held.length < RATE / 10) continue;
      // The stream's clock runs on: each hearing's times are mapped back onto the utterance's own onset.
      onsets.push(this.streamMs + (utt.startT - (from * 1000) / RATE));
      // A transform keeps the length (the worker applies it; the event loop only forwards the samples).
      this.streamMs += (held.length / RATE) * 1000;
      this.stream.accept(held, how.transform);
      this.stream.finish();
    }
    if (!onsets.length) return false;
    this.utt = { ...utt, onsetStreamMs: onsets[0]!, later: onsets.slice(1), first };
    return true;
  }

  /** The recogniser's result on the utterance's own clock: ms from its VAD onset. */
  private heard(utt: Utterance, r: AsrResult): Heard {
    const rel = (h: AsrHypothesis): Hypothesis => {
      const tokenMs = h.tokenMs?.map((t) => t - utt.onsetStreamMs);
      const first = tokenMs?.[0] ?? (h.startMs !== undefined ? h.startMs - utt.onsetStreamMs : undefined);
      return { text: h.text.trim(), tokens: h.tokens, logProbs: h.logProbs, tokenMs, leadMs: first ?? null };
    };
    const heard: Heard = {
      main: this.d.main,
      hypotheses: this.d.main === 'recogniser' ? [rel(r), ...(r.alternatives ?? []).map(rel)] : [],
      speechMs: (utt.endT ?? this.d.now()) - utt.startT,
    };
    if (r.hits?.length) {
      heard.spotted = r.hits.map((k) => ({
        keyword: k.keyword,
        startTime: k.startMs === undefined ? undefined : (k.startMs - utt.onsetStreamMs) / 1000,
        endTime: k.endMs === undefined ? undefined : (k.endMs - utt.onsetStreamMs) / 1000,
      }));
    }
    return heard;
  }

  private decision(utt: Utterance, c: Pick<ConsentDecisionEvent, 'decision' | 'phrase' | 'confidence' | 'complaint' | 'reason'>, transcript: string): ConsentDecisionEvent {
    // Evidence audio: the utterance with ~0.5 s of context either side (as much as is held).
    const ctx = RATE / 2;
    const from = Math.max(0, utt.startSample - ctx);
    const audio = floatToInt16(this.slice(from, this.histEnd));
    return {
      decision: c.decision,
      phrase: c.phrase,
      transcript,
      confidence: c.confidence,
      complaint: c.complaint,
      reason: c.reason,
      speechStartT: utt.startT,
      speechEndT: utt.endT,
      audio,
    };
  }

  private finishWindow(d: ConsentDecisionEvent): void {
    const w = this.window;
    this.held = null;
    if (!w) return;
    this.window = null;
    this.stopOwnVad();
    this.d.decide({ ...d, promptId: w.promptId });
  }

  /** A VAD that stops hears no end to the speech it was in: the next window starts from its own first onset. */
  private stopOwnVad(): void {
    if (!this.d.ownVad) return;
    this.d.ownVad(false);
    this.inSpeech = false;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.window = null;
    this.stopOwnVad();
    this.stream?.close();
    this.stream = null;
    rings.give(this.hist);
    this.hist = NO_AUDIO;
    this.histEnd = 0;
  }
}
