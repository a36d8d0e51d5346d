// An 8 kHz call's consent cuts from Silero's own 8 kHz mode (consent.narrowbandVad: native), through the real listen
// worker, model and Call: the μ-law 是 of TonePerfect-FV1, which the shared VAD (the residual upsampled to 16 kHz)
// hears as a 32 ms fragment (README, consent7), must reach `narrowSpeech` listeners as an utterance of at least
// consent.minGrantSpeechMs of speech, while the call's own speech events — what barge-in and the client see — stay
// the shared VAD's. Both views of the same call at once, so the comparison is not between two runs.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '../gateway/audio/codec.js';
import { Call, type CallSink } from '../gateway/call/Call.js';
import { loadConfig } from '../gateway/config.js';
import type { BargeInAction } from '../gateway/listen/BargeInPolicy.js';
import { ListenService } from '../gateway/listen/ListenService.js';
import { isResolved, resolveModel } from '../gateway/models.js';
import { Pacer } from '../gateway/speak/Playout.js';
import { labels, wireAudio } from './helpers/corpus.js';

const cfg = loadConfig({}, { limits: { maxInboundRatio: 100, inboundBurstMs: 60000 } });
const vad = resolveModel('silero-vad-v5');
const fv1 = labels().find((l) => l.file.endsWith('TonePerfect-FV1_shi4.wav'))!;
const pacer = new Pacer(1000);
let listen: ListenService;

beforeAll(async () => {
  if (!isResolved(vad)) throw new Error('silero-vad-v5 missing');
  listen = await ListenService.start({ backend: 'silero-ort', modelPath: vad.files.model, tickMs: 16, threads: 1, shards: 1, echo: cfg.echo, narrowVad: true });
});
afterAll(async () => {
  await listen?.close();
});

const sink: CallSink = { sendAudio: () => true, sendEvent: () => {}, close: () => {} };

/** Utterances as [onsetT, endedT] pairs, from speech_started / speech_ended. */
function cuts(actions: BargeInAction[]): [number, number][] {
  const out: [number, number][] = [];
  let onset: number | null = null;
  for (const a of actions) {
    if (a.type === 'speech_started') onset = a.onsetT;
    else if (a.type === 'speech_ended' && onset !== null) {
      out.push([onset, a.t]);
      onset = null;
    }
  }
  return out;
}

/**
 * Streams the clip from its first sample, as the consent eval and e2e test do, then 2 s of silence; both views'
 * actions. Where the clip starts matters to the upsampled view: after 0.5 s of digital silence the shared VAD hears
 * this 是 as 544 ms of speech, from the clip's first sample as 32 ms (as consent7's replays did at 28 placements).
 */
async function run(rate: 8000 | 16000, cutsOn: boolean): Promise<{ shared: BargeInAction[]; narrow: BargeInAction[]; available: boolean }> {
  const call = new Call({ callId: `narrow-${rate}-${cutsOn}`, wire: 'native', format: { encoding: rate === 8000 ? 'mulaw' : 'pcm16', sampleRate: rate }, language: 'zh', callType: 'notification' }, { config: cfg, listen, pacer, log: pino({ level: 'silent' }) }, sink);
  const shared: BargeInAction[] = [];
  const narrow: BargeInAction[] = [];
  call.addListener({ speech: (a) => shared.push(a), narrowSpeech: (a) => narrow.push(a) });
  const available = call.narrowCuts(cutsOn);
  const clip = wireAudio(rate === 8000 ? fv1.twin8k! : fv1.file);
  const audio = new Int16Array(clip.samples.length + rate * 2);
  audio.set(clip.samples, 0);
  const step = rate / 50;
  for (let i = 0; i < audio.length; i += step) call.audio(encode(rate === 8000 ? 'mulaw' : 'pcm16', audio.subarray(i, i + step)));
  // Every frame scored: the last one's verdict has come back once the call's frame tap has seen it.
  const lastIndex = Math.floor((audio.length * (16000 / rate)) / 512) - 1;
  await new Promise<void>((resolve) => {
    const off = call.tapFrames((f) => {
      if (f.t >= (lastIndex + 1) * 32) {
        off();
        resolve();
      }
    });
  });
  // The 8 kHz frames of a tick are delivered after its 16 kHz ones: one more turn for them.
  await new Promise((r) => setTimeout(r, 100));
  await call.end('test');
  return { shared, narrow, available };
}

const speechMs = (c: [number, number]) => c[1] - cfg.consent.endSilenceMs - c[0];

describe('consent.narrowbandVad: native', () => {
  it('gives an 8 kHz call in a consent window the 8 kHz VAD\'s cuts: FV1 是 is an answer there, a fragment in the shared VAD', async () => {
    const { shared, narrow, available } = await run(8000, true);
    expect(available).toBe(true);
    const own = cuts(narrow);
    const theirs = cuts(shared);
    console.log(`FV1 是 at 8 kHz: native ${own.map((c) => `${c[0]}-${c[1]} (${speechMs(c)} ms)`).join(', ')}; shared ${theirs.map((c) => `${c[0]}-${c[1]} (${speechMs(c)} ms)`).join(', ')}`);
    // At least one native cut is long enough to decide, and none starts well before the labelled onset.
    expect(Math.max(...own.map(speechMs))).toBeGreaterThanOrEqual(cfg.consent.minGrantSpeechMs);
    for (const c of own) expect(c[0]).toBeGreaterThanOrEqual(fv1.speechOnsetMs! - 200);
    // The shared VAD, unchanged for barge-in, still hears no more than a fragment: what the wiring is for.
    expect(Math.max(0, ...theirs.map(speechMs))).toBeLessThan(cfg.consent.minGrantSpeechMs);
  }, 30_000);

  it('sends nothing while no window asked for it, and has no 8 kHz VAD for a 16 kHz call', async () => {
    const off = await run(8000, false);
    expect(off.available).toBe(true);
    expect(off.narrow).toEqual([]);
    const wide = await run(16000, true);
    expect(wide.available).toBe(false);
    expect(wide.narrow).toEqual([]);
    expect(cuts(wide.shared).length).toBeGreaterThan(0);
  }, 30_000);
});
