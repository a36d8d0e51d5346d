// A fixed stratified sample of the generated corpus's TEST half (voices never tuned on: bench/corpus), streamed at
// real time through the real gateway at 16 kHz pcm16 and 8 kHz μ-law, all calls at once. The floors are what
// today's detector achieves on this sample (issue #14's "before"), so a regression fails here; the detector work
// raises them. `npm run eval:bargein -- --generated --split test` measures the whole half.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScenarioLabels, type ScenarioLabel } from '../bench/bargein/labels.js';
import { textTable } from '../bench/bargein/report.js';
import { loadScenarioAudio, runScenarioCall } from '../bench/bargein/runCall.js';
import { byKind, criteria, groupRow, score, type Outcome } from '../bench/bargein/score.js';
import { ensureCorpus } from '../bench/corpus/build.js';
import { DEFAULT_COUNT, sampleIndices } from '../bench/corpus/plan.js';
import { Pacer } from '../bench/pacer.js';
import { wireAudioFor } from '../bench/scenarios.js';
import { wsWire } from '../bench/wires/ws.js';
import type { Gateway } from '../gateway/Gateway.js';
import { CALLING_HOURS, startGateway } from './helpers/gateway.js';

const SEED = 1;
/** Scenarios per kind/variant taken from the test half (50 in all), the same every run. */
const PER_CELL: Record<string, number> = {
  'barge_in/content': 10, 'barge_in/long': 10, 'backchannel/1': 3, 'backchannel/2': 3, 'backchannel/3': 3, 'echo_only/echo_only': 6,
  'cough/cough': 2, 'laugh/laugh': 2, 'click/click': 2, 'dtmf/dtmf': 2, 'background_speech/tv': 2, 'background_speech/babble': 2,
  'noise_only/car': 1, 'noise_only/hum': 1, 'noise_only/hiss': 1,
};
const SAMPLE_KINDS = { barge_in: 20, backchannel: 9, echo_only: 6, cough: 2, laugh: 2, click: 2, dtmf: 2, background_speech: 4, noise_only: 3 };

/**
 * Today's detector on this sample (default configuration, two runs under the heavy lock, 16 kHz | 8 kHz): pause in
 * time 6, 4 | 6, 5 of 20; commit in time 8, 8 | 8, 7 of 20; false commits 20, 20 | 18, 18 of 30; false pauses
 * without backchannels 16, 17 | 18, 18 of 21; early pauses + commits 17, 22 | 17, 19. The floors leave room for the
 * run-to-run variation of the echo canceller's timing; issue #14's detector work raises them towards its targets
 * (95 %, 95 %, 0, ≤ 5 %). With the block canceller and the speech-like-background gate (bargeIn.backgroundMarginDb),
 * the same 50 scenarios within the 320-scenario test-half eval (2026-12-06, 40 calls at once): pause in time 65 | 60 %,
 * commit in time 50 | 45 %, false commits 9 | 7, false pauses without backchannels 9 | 7, early 3 | 4; this test itself
 * (load 1.6–2.4): pause 65 | 70 %, commit 50 | 50 %, false commits 10 | 10, false pauses 9 | 7. The floors leave room
 * for the run-to-run variation.
 */
const FLOORS = {
  '16k': { pauseInTime: 0.35, commitInTime: 0.3, maxFalseCommits: 16, maxFalsePauses: 15, maxEarly: 12 },
  '8k': { pauseInTime: 0.35, commitInTime: 0.3, maxFalseCommits: 16, maxFalsePauses: 15, maxEarly: 12 },
};

let gw: Gateway;
let labels: ScenarioLabel[] = [];
const outcomes: Record<'16k' | '8k', Outcome[]> = { '16k': [], '8k': [] };

beforeAll(async () => {
  const only = sampleIndices(DEFAULT_COUNT, 'test', PER_CELL);
  const dir = await ensureCorpus(SEED, DEFAULT_COUNT, undefined, only);
  const wanted = new Set(only);
  labels = loadScenarioLabels(dir).filter((l) => wanted.has((l.generator as { index: number }).index));
  const started = await startGateway({ policy: { clock: CALLING_HOURS } });
  gw = started.gw;
  const pacer = new Pacer();
  const jobs = (['16k', '8k'] as const).flatMap((rate) => {
    const audio = wireAudioFor(rate === '8k' ? 8000 : 16000);
    // Audio is read before any call starts so that decoding files does not compete with the calls.
    return labels.map((l, i) => ({ rate, l, audio, frames: loadScenarioAudio(dir, l, audio), i }));
  });
  const results = await Promise.all(
    jobs.map(async (j, k) => {
      await new Promise((r) => setTimeout(r, k * 15));
      const rec = await runScenarioCall({ wire: wsWire, url: started.url, token: null, label: j.l, audio: j.audio, frames: j.frames, pacer, callId: `gen-${j.rate}-${j.i}` });
      return { rate: j.rate, o: score(j.l, rec) };
    }),
  );
  pacer.stop();
  for (const r of results) outcomes[r.rate].push(r.o);
  for (const rate of ['16k', '8k'] as const) {
    console.log(textTable(`generated test-half sample at ${rate}`, byKind(outcomes[rate])));
    console.log(criteria(outcomes[rate]).map((c) => `${c.pass ? 'PASS' : 'FAIL'} ${c.name}: ${c.measured}`).join('\n'));
  }
}, 300_000);

afterAll(async () => {
  await gw?.stop(0);
});

describe.each(['16k', '8k'] as const)('generated test half at %s', (rate) => {
  const os = () => outcomes[rate];
  const row = () => groupRow('all', os());

  it('ran the whole sample, kind by kind, and every call completed', () => {
    const counts: Record<string, number> = {};
    for (const o of os()) counts[o.kind] = (counts[o.kind] ?? 0) + 1;
    expect(counts).toEqual(SAMPLE_KINDS);
    expect(os().filter((o) => !o.ok).map((o) => `${o.id}: ${o.error}`)).toEqual([]);
  });

  it('pauses and commits in time at least as often as today', () => {
    expect(row().pauseInTime!).toBeGreaterThanOrEqual(FLOORS[rate].pauseInTime);
    expect(row().commitInTime!).toBeGreaterThanOrEqual(FLOORS[rate].commitInTime);
  });

  it('commits and pauses falsely no more often than today', () => {
    expect(row().falseCommits).toBeLessThanOrEqual(FLOORS[rate].maxFalseCommits);
    const notBackchannel = os().filter((o) => o.expected === 'no_barge_in' && o.kind !== 'backchannel');
    expect(notBackchannel.filter((o) => o.pauses.length > 0).length).toBeLessThanOrEqual(FLOORS[rate].maxFalsePauses);
    expect(row().earlyPauses + row().earlyCommits).toBeLessThanOrEqual(FLOORS[rate].maxEarly);
  });

  it('never leaves a prompt paused for good, and stops the audio at once', () => {
    expect(os().filter((o) => o.stuckPause).map((o) => o.id)).toEqual([]);
    for (const o of os()) expect(Math.max(o.audioAfterPauseMs, o.audioAfterCommitMs), o.id).toBeLessThanOrEqual(40);
  });
});
