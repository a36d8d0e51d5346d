// The further hearings of a narrowband answer end to end through the real ASR worker and model: ConsentSession asks
// for them (two `extended` hearings of consent.rehear.narrowband), the event loop forwards the answer's samples
// untouched, and the recogniser hears them band-extended — exactly what the same model decodes in-process from extendBandwidth() of
// those samples, and not what it decodes from the samples themselves. No fakes: the only thing added to the real
// stream is a record of what ConsentSession handed it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extendBandwidth } from '../gateway/audio/bandwidth.js';
import { createEngine } from '../gateway/listen/asr/backends.js';
import type { AsrEngineSpec } from '../gateway/listen/asr/engine.js';
import { AsrWorkerPool, type AsrResult, type AsrStream, type AudioTransform } from '../gateway/listen/asr/index.js';
import { ConsentSession, type ConsentDecisionEvent } from '../gateway/listen/ConsentSession.js';
import type { ConsentVerdict, Heard } from '../gateway/listen/consent/index.js';
import { isResolved, resolveModel } from '../gateway/models.js';
import { loadConfig } from '../gateway/config.js';
import { rehearing } from '../gateway/features/consent.js';
import { load16k } from './helpers/asrAudio.js';

const MODEL = 'zipformer-wenetspeech-kws-3.3m';
const model = resolveModel(MODEL);
const RATE = 16000;
const TAIL_MS = 480; // the pool's default tail padding
const DUI = 'natural/003_audiocmn-YueTan_dui4.wav';

/** What the model makes of `x` decoded in this thread as the worker decodes a finished utterance. */
function decodeHere(x: Float32Array): { tokens: string[]; logProbs?: number[] } {
  if (!isResolved(model)) throw new Error('model missing');
  const spec: AsrEngineSpec = { mode: 'recognizer', entry: model.entry, files: model.files, threads: 1, decoding: { method: 'greedy' }, dynamicBatch: false };
  const es = createEngine(spec).createStream();
  es.accept(x);
  es.accept(new Float32Array((TAIL_MS * RATE) / 1000));
  es.inputFinished();
  while (es.isReady()) es.decode();
  const h = es.result();
  return { tokens: h.tokens, logProbs: h.logProbs };
}

const close = (a: number[] | undefined, b: number[] | undefined) => a!.length === b!.length && a!.every((v, i) => Math.abs(v - b![i]!) < 1e-3);

describe.runIf(isResolved(model))('a narrowband answer heard again, band-extended in the ASR worker', () => {
  let pool: AsrWorkerPool;
  beforeAll(async () => {
    pool = await AsrWorkerPool.start({ model: MODEL, mode: 'recognizer', workers: 1, decoding: { method: 'greedy' }, tailPaddingMs: TAIL_MS });
  }, 60_000);
  afterAll(() => pool?.close());

  it('gives the recogniser extendBandwidth() of the samples the session forwarded, which the session sends untouched', async () => {
    const extend: AudioTransform = { kind: 'extendBandwidth', db: 0 };
    // Two further hearings of an 8 kHz answer, band-extended from the first cut and from 160 ms earlier (the
    // shipped one and the configurable second), so both the cut and the transform are checked.
    const shipped = rehearing(loadConfig({}, { consent: { rehear: { narrowband: [{ input: 'extended' }, { input: 'extended', shiftMs: -160 }] } } }), true);
    expect(shipped.map((h) => [h.shiftMs, h.transform])).toEqual([[0, extend], [-160, extend]]);
    const fed: { samples: Float32Array; transform?: AudioTransform }[] = [];
    const judged: Heard[] = [];
    let decided!: (d: ConsentDecisionEvent) => void;
    const done = new Promise<ConsentDecisionEvent>((r) => (decided = r));
    const recorded = (st: AsrStream): AsrStream => ({
      callId: st.callId,
      accept: (x, t) => {
        fed.push({ samples: x.slice(), transform: t });
        st.accept(x, t);
      },
      finish: () => st.finish(),
      reset: () => st.reset(),
      onResult: (cb: (r: AsrResult) => void) => st.onResult(cb),
      stats: () => st.stats(),
      close: () => st.close(),
    });
    const audio = load16k(DUI, '8k');
    let pos = 0;
    // The first hearing is made to place nothing, so the answer is heard again; the second decides.
    const unplaced = (text: string): ConsentVerdict => ({ decision: 'unclear', cue: 'none', transcript: text, phrase: null, confidence: 0, match: 0, complaint: false, reason: 'test', opinions: [] });
    const s = new ConsentSession({
      openStream: () => recorded(pool.open('c', { narrowband: true })),
      judge: (h) => (judged.push(h), unplaced(h.hypotheses[0]?.text ?? '')),
      main: 'recogniser',
      now: () => (pos * 1000) / RATE,
      preRollMs: 400,
      endSilenceMs: 160,
      rehear: shipped,
      emitTranscript: () => {},
      decide: (d) => decided(d),
    });
    // A second of line silence, the answer, then the end of speech.
    const call = new Float32Array(RATE + audio.length);
    call.set(audio, RATE);
    s.expect('p', 8000);
    for (; pos < call.length; pos += 320) s.audio(call.slice(pos, pos + 320), pos);
    s.speech({ type: 'speech_started', t: 1032, onsetT: 1000 });
    s.speech({ type: 'speech_ended', t: (pos * 1000) / RATE, startT: 1000 });
    await done;
    s.close();

    // One decision over all three hearings.
    expect(judged).toHaveLength(2);
    const reheard = judged[1]!.hypotheses.filter((h) => h.reheard);
    expect(reheard).toHaveLength(2);
    // The session forwarded the utterance twice more, each as one chunk, untouched, with the transform for the worker:
    // the first cut, then 160 ms more of the ring before it.
    const again = fed.filter((f) => f.transform);
    expect(again.map((f) => f.transform)).toEqual([extend, extend]);
    const firstHeard = fed.filter((f) => !f.transform);
    const firstAudio = new Float32Array(firstHeard.reduce((n, f) => n + f.samples.length, 0));
    firstHeard.reduce((at, f) => (firstAudio.set(f.samples, at), at + f.samples.length), 0);
    expect(again[0]!.samples).toEqual(firstAudio);
    expect(again[1]!.samples.length).toBe(firstAudio.length + 160 * 16);
    expect(again[1]!.samples.subarray(160 * 16)).toEqual(firstAudio);

    // What the worker's recogniser heard each time: the band-extended samples, token for token and score for score …
    for (const [i, h] of reheard.entries()) {
      const heardExtended = decodeHere(extendBandwidth(again[i]!.samples, 0));
      expect(h.tokens).toEqual(heardExtended.tokens);
      expect(close(h.logProbs, heardExtended.logProbs)).toBe(true);
    }
    // … which is not what the samples themselves decode to (the first hearing's, the same model).
    const heardPlain = decodeHere(again[0]!.samples);
    const heardExtended = decodeHere(extendBandwidth(again[0]!.samples, 0));
    expect(close(judged[0]!.hypotheses[0]!.logProbs, heardPlain.logProbs)).toBe(true);
    expect(heardPlain.tokens.join(' ') !== heardExtended.tokens.join(' ') || !close(heardPlain.logProbs, heardExtended.logProbs)).toBe(true);
  }, 60_000);

  it('transforms a chunk as one segment, never joined with the audio sent in the same task', async () => {
    const a = load16k(DUI, '8k');
    const cut = Math.floor(a.length / 2);
    const head = a.slice(0, cut);
    const tail = a.slice(cut);
    const st = pool.open('j', { narrowband: true });
    const final = new Promise<AsrResult>((r) => st.onResult((x) => x.final && r(x)));
    // One task: plain audio, then a transformed chunk, then the end — what the pool sends in one message.
    st.accept(head.slice());
    st.accept(tail.slice(), { kind: 'extendBandwidth', db: 0 });
    st.finish();
    const r = await final;
    st.close();
    const joined = new Float32Array(a.length);
    joined.set(head);
    joined.set(extendBandwidth(tail, 0), cut);
    const want = decodeHere(joined);
    expect(r.tokens).toEqual(want.tokens);
    expect(close(r.logProbs, want.logProbs)).toBe(true);
    expect(close(r.logProbs, decodeHere(a).logProbs) && r.tokens.join() === decodeHere(a).tokens.join()).toBe(false);
  }, 60_000);
});
