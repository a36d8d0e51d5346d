// ConsentSession with a scripted recogniser stream: what audio reaches the recogniser (pre-roll, the utterance, a
// second hearing cut elsewhere), what the judge is given (times on the utterance's own clock), and when a window
// decides. The recogniser and judge are fakes; the real ones are tested in asr-*.test.ts and consent-decide.test.ts.
import { describe, expect, it } from 'vitest';
import type { AsrResult, AsrStream, AudioTransform } from '../gateway/listen/asr/index.js';
import { FRAGMENT_HOLD_MS, ConsentSession, type ConsentDecisionEvent } from '../gateway/listen/ConsentSession.js';
import type { ConsentVerdict, Heard } from '../gateway/listen/consent/index.js';

const RATE = 16000;

class FakeStream implements AsrStream {
  readonly callId = 'c';
  fed: Float32Array[] = [];
  /** Per fed chunk, the transform the worker was asked to apply to it. */
  transforms: (AudioTransform | undefined)[] = [];
  finishes = 0;
  private cb: ((r: AsrResult) => void) | null = null;
  /** Samples accepted so far (the stream's clock). */
  get samples(): number {
    return this.fed.reduce((n, a) => n + a.length, 0);
  }
  accept(x: Float32Array, transform?: AudioTransform): void {
    this.fed.push(x);
    this.transforms.push(transform);
  }
  finish(): void {
    this.finishes++;
  }
  reset(): void {}
  onResult(cb: (r: AsrResult) => void): void {
    this.cb = cb;
  }
  emit(r: Partial<AsrResult>): void {
    this.cb!({ text: '', tokens: [], final: true, ...r });
  }
  stats() {
    return { audioMs: 0, cpuMs: 0, cpuMsPerAudioSec: 0 };
  }
  close(): void {}
}

function verdict(decision: ConsentVerdict['decision'], cue: ConsentVerdict['cue'], transcript: string): ConsentVerdict {
  return { decision, cue, transcript, phrase: null, confidence: 0.9, match: 0.9, complaint: false, reason: `${decision} (${cue})`, opinions: [] };
}

/** A call's inbound audio, 20 ms at a time, each sample's value its own index (so cuts can be checked). */
function setup(opts: { rehear?: { shiftMs: number; transform?: AudioTransform }[]; judge?: (h: Heard) => ConsentVerdict | null } = {}) {
  const stream = new FakeStream();
  const judged: Heard[] = [];
  const decided: ConsentDecisionEvent[] = [];
  const transcripts: string[] = [];
  let pos = 0;
  const s = new ConsentSession({
    openStream: () => stream,
    judge: (h) => (judged.push(h), opts.judge ? opts.judge(h) : verdict('granted', 'consent', h.hypotheses[0]!.text)),
    main: 'recogniser',
    now: () => (pos * 1000) / RATE,
    preRollMs: 400,
    endSilenceMs: 240,
    rehear: opts.rehear ?? [],
    emitTranscript: (t) => transcripts.push(t),
    decide: (d) => decided.push(d),
  });
  const advance = (ms: number) => {
    for (let end = pos + (ms * RATE) / 1000; pos < end; ) {
      const x = new Float32Array(320);
      for (let i = 0; i < x.length; i++) x[i] = (pos + i) / 1e6;
      s.audio(x, pos);
      pos += x.length;
    }
  };
  return { s, stream, judged, decided, transcripts, advance, now: () => (pos * 1000) / RATE };
}

describe('one answer', () => {
  it('feeds the recogniser from the onset minus the pre-roll to the end of speech, then decides once', () => {
    const { s, stream, judged, decided, advance } = setup();
    advance(1000);
    s.expect('p1', 8000);
    advance(200);
    s.speech({ type: 'speech_started', t: 1232, onsetT: 1200 });
    advance(800);
    s.speech({ type: 'speech_ended', t: 2000, startT: 1200 });
    expect(stream.finishes).toBe(1);
    // The first sample fed is the one at 800 ms (onset 1200 − 400 ms of pre-roll).
    expect(Math.round(stream.fed[0]![0]! * 1e6)).toBe(800 * 16);
    const onsetStreamMs = 400;
    stream.emit({ text: 'k ě y ǐ', tokens: ['k', 'ě', 'y', 'ǐ'], tokenMs: [onsetStreamMs + 40, onsetStreamMs + 80, onsetStreamMs + 200, onsetStreamMs + 240] });
    expect(judged).toHaveLength(1);
    expect(judged[0]!.hypotheses[0]).toMatchObject({ text: 'k ě y ǐ', leadMs: 40, tokenMs: [40, 80, 200, 240] });
    expect(judged[0]!.speechMs).toBe(2000 - 240 - 1200);
    expect(decided).toHaveLength(1);
    expect(decided[0]).toMatchObject({ decision: 'granted', promptId: 'p1', speechStartT: 1200, speechEndT: 1760 });
    // Evidence audio: what the recogniser heard (pre-roll included) with half a second of context before it.
    expect(decided[0]!.audio!.length).toBe((2000 - 300) * 16);
  });

  it('keeps listening after something too short to be an answer, and ends unclear when the window closes', () => {
    const { s, stream, decided, advance } = setup({ judge: () => null });
    s.expect('p', 3000);
    s.speech({ type: 'speech_started', t: 532, onsetT: 500 });
    advance(700);
    s.speech({ type: 'speech_ended', t: 700, startT: 500 });
    stream.emit({ text: '' });
    expect(decided).toHaveLength(0);
    advance(2400);
    expect(decided).toEqual([expect.objectContaining({ decision: 'unclear', reason: 'no answer before the window closed' })]);
  });

  it('holds a provisional unclear (a fragment nobody placed) until the callee has said nothing more for FRAGMENT_HOLD_MS', () => {
    const { s, stream, decided, advance, now } = setup({ judge: () => ({ ...verdict('unclear', 'none', 'n ǐ'), provisional: true }) });
    s.expect('p', 8000);
    s.speech({ type: 'speech_started', t: 532, onsetT: 500 });
    advance(800);
    s.speech({ type: 'speech_ended', t: 800, startT: 500 });
    stream.emit({ text: 'n ǐ' });
    const heldAt = now();
    advance(FRAGMENT_HOLD_MS - 40);
    expect(decided).toHaveLength(0);
    advance(80);
    // The fragment's own decision, well before the window's 8 s.
    expect(decided).toEqual([expect.objectContaining({ decision: 'unclear', reason: 'unclear (none)', promptId: 'p' })]);
    expect(now() - heldAt).toBeLessThan(FRAGMENT_HOLD_MS + 60);
  });

  it('lets the utterance after a provisional fragment decide (the rest of the word the VAD split off)', () => {
    const judged: string[] = [];
    const { s, stream, decided, advance, judged: heard } = setup({
      judge: (h) => (judged.push(h.hypotheses[0]!.text), h.hypotheses[0]!.text === 'sh' ? { ...verdict('unclear', 'none', 'sh'), provisional: true } : verdict('granted', 'consent', 'sh ì')),
    });
    s.expect('p', 8000);
    s.speech({ type: 'speech_started', t: 532, onsetT: 500 });
    advance(600);
    s.speech({ type: 'speech_ended', t: 600, startT: 500 });
    stream.emit({ text: 'sh' });
    // The vowel begins before the hold runs out; it is still being spoken when the hold would have ended.
    advance(100);
    s.speech({ type: 'speech_started', t: 732, onsetT: 700 });
    advance(FRAGMENT_HOLD_MS + 200);
    expect(decided).toHaveLength(0);
    s.speech({ type: 'speech_ended', t: 1500, startT: 700 });
    stream.emit({ text: 'sh ì' });
    expect(judged).toEqual(['sh', 'sh ì']);
    // The answer began at the held fragment's onset: the judge measures the unheard lead from there (decide.ts).
    expect(heard.map((h) => h.heldOnsetMs)).toEqual([undefined, 200]);
    expect(decided).toEqual([expect.objectContaining({ decision: 'granted' })]);
    advance(2000);
    expect(decided).toHaveLength(1);
  });

  it('a failed recogniser makes the answer unclear, never lost', () => {
    const { s, stream, decided, advance } = setup();
    s.expect('p', 8000);
    s.speech({ type: 'speech_started', t: 532, onsetT: 500 });
    advance(900);
    s.speech({ type: 'speech_ended', t: 900, startT: 500 });
    stream.emit({ error: 'worker died' });
    expect(decided[0]).toMatchObject({ decision: 'unclear', reason: 'recogniser failed: worker died' });
  });
});

describe('hearing an answer again', () => {
  const placeNothing = (h: Heard) => (h.hypotheses.length === 1 ? verdict('unclear', 'none', h.hypotheses[0]!.text) : verdict('granted', 'consent', h.hypotheses[1]!.text));

  it('feeds the same audio again, cut later, when the first hearing placed nothing, and judges both hearings', () => {
    const { s, stream, judged, decided, transcripts, advance } = setup({ rehear: [{ shiftMs: 160 }], judge: placeNothing });
    advance(1000);
    s.expect('p', 8000);
    s.speech({ type: 'speech_started', t: 1232, onsetT: 1200 });
    advance(800);
    s.speech({ type: 'speech_ended', t: 2000, startT: 1200 });
    const firstLen = stream.samples;
    stream.emit({ text: 'd ù', tokens: ['d', 'ù'], tokenMs: [440, 480] });
    expect(decided).toHaveLength(0);
    expect(stream.finishes).toBe(2);
    // Second feed: from 800 + 160 ms to the end of the first (the audio heard at speech_ended).
    const second = stream.fed.slice(-1)[0]!;
    expect(Math.round(second[0]! * 1e6)).toBe(960 * 16);
    expect(second.length).toBe(firstLen - 160 * 16);
    // Its times map back onto the utterance's onset: the onset lies 240 ms into the second feed.
    const base = (firstLen / 16) + 240;
    stream.emit({ text: 'd uì', tokens: ['d', 'uì'], tokenMs: [base + 40, base + 80] });
    expect(judged.at(-1)!.hypotheses.map((h) => [h.text, h.leadMs, h.reheard === true])).toEqual([['d ù', 40, false], ['d uì', 40, true]]);
    expect(stream.transforms.every((t) => t === undefined)).toBe(true);
    expect(decided).toEqual([expect.objectContaining({ decision: 'granted', transcript: 'd uì' })]);
    // The client saw the first hearing's transcript only.
    expect(transcripts).toEqual(['d ù']);
  });

  it('does not hear again an answer the first hearing placed (a refusal, a question, a yes)', () => {
    const { s, stream, decided, advance } = setup({ rehear: [{ shiftMs: 160 }], judge: () => verdict('refused', 'refusal', 'b ù') });
    s.expect('p', 8000);
    s.speech({ type: 'speech_started', t: 532, onsetT: 500 });
    advance(900);
    s.speech({ type: 'speech_ended', t: 900, startT: 500 });
    stream.emit({ text: 'b ù' });
    expect(stream.finishes).toBe(1);
    expect(decided[0]).toMatchObject({ decision: 'refused' });
  });

  it('asks the worker to transform the second hearing (a narrowband answer, band-extended) and sends it the samples untouched, cut where the first was', () => {
    const extend: AudioTransform = { kind: 'extendBandwidth', db: -5 };
    const { s, stream, decided, advance } = setup({ rehear: [{ shiftMs: 0, transform: extend }], judge: placeNothing });
    advance(1000);
    s.expect('p', 8000);
    s.speech({ type: 'speech_started', t: 1232, onsetT: 1200 });
    advance(800);
    s.speech({ type: 'speech_ended', t: 2000, startT: 1200 });
    const first = stream.fed.slice();
    const firstLen = stream.samples;
    stream.emit({ text: 'd uō', tokens: ['d', 'uō'], tokenMs: [440, 480] });
    expect(stream.finishes).toBe(2);
    const second = stream.fed.slice(first.length);
    expect(second).toHaveLength(1);
    expect(second[0]!.length).toBe(firstLen);
    // The same samples as the first hearing (from 800 ms): the event loop does not filter them, the worker does.
    expect(Math.round(second[0]![0]! * 1e6)).toBe(800 * 16);
    expect(Math.round(second[0]!.at(-1)! * 1e6)).toBe(Math.round(first.at(-1)!.at(-1)! * 1e6));
    expect(stream.transforms.slice(first.length)).toEqual([extend]);
    // The first hearing asked for no transform.
    expect(stream.transforms.slice(0, first.length).every((t) => t === undefined)).toBe(true);
    stream.emit({ text: 'd uì', tokens: ['d', 'uì'], tokenMs: [firstLen / 16 + 440, firstLen / 16 + 480] });
    expect(decided).toEqual([expect.objectContaining({ decision: 'granted', transcript: 'd uì' })]);
  });

  it('feeds every further hearing at once, each cut and transformed as it says, and judges them all once the last is in', () => {
    const extend: AudioTransform = { kind: 'extendBandwidth', db: 0 };
    const placeNone = (h: Heard) => (h.hypotheses.length < 3 ? verdict('unclear', 'none', h.hypotheses[0]!.text) : verdict('granted', 'consent', h.hypotheses[2]!.text));
    const { s, stream, judged, decided, advance } = setup({ rehear: [{ shiftMs: 0, transform: extend }, { shiftMs: -160, transform: extend }], judge: placeNone });
    advance(1000);
    s.expect('p', 8000);
    s.speech({ type: 'speech_started', t: 1232, onsetT: 1200 });
    advance(800);
    s.speech({ type: 'speech_ended', t: 2000, startT: 1200 });
    const firstChunks = stream.fed.length;
    const firstLen = stream.samples;
    stream.emit({ text: 'd uō', tokens: ['d', 'uō'], tokenMs: [440, 480] });
    // Both hearings went out together: the same cut, then one 160 ms earlier (from 640 ms), both for the worker to extend.
    expect(stream.finishes).toBe(3);
    const [a, b] = stream.fed.slice(firstChunks);
    expect(a!.length).toBe(firstLen);
    expect(Math.round(a![0]! * 1e6)).toBe(800 * 16);
    expect(b!.length).toBe(firstLen + 160 * 16);
    expect(Math.round(b![0]! * 1e6)).toBe(640 * 16);
    expect(stream.transforms.slice(firstChunks)).toEqual([extend, extend]);
    // The first further hearing's result alone decides nothing.
    stream.emit({ text: 'd uō', tokens: ['d', 'uō'], tokenMs: [firstLen / 16 + 440, firstLen / 16 + 480] });
    expect(judged).toHaveLength(1);
    expect(decided).toHaveLength(0);
    // The second's onset lies 560 ms into its feed (400 ms pre-roll + 160 ms), after both earlier feeds.
    const base = (2 * firstLen) / 16 + 560;
    stream.emit({ text: 'd uì', tokens: ['d', 'uì'], tokenMs: [base + 40, base + 80] });
    expect(judged).toHaveLength(2);
    expect(judged[1]!.hypotheses.map((h) => [h.text, h.leadMs, h.reheard === true])).toEqual([['d uō', 40, false], ['d uō', 40, true], ['d uì', 40, true]]);
    expect(decided).toEqual([expect.objectContaining({ decision: 'granted', transcript: 'd uì' })]);
  });
});
