// Pure parts of the bench: percentiles, budget checks, and per-call metrics against labels.
import { describe, expect, it } from 'vitest';
import { percentile, summarize } from '../bench/stats.js';
import { checkBudgets } from '../bench/budgets.js';
import { computeMetrics, decisionTail } from '../bench/metrics.js';
import { parseLag, parseStages } from '../bench/promScrape.js';
import { reduceStep } from '../bench/result.js';
import { parseOptions } from '../bench/options.js';
import type { CallRecord } from '../bench/record.js';

describe('percentiles', () => {
  it('uses nearest rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 95)).toBe(95);
    expect(percentile([], 95)).toBeNull();
    expect(summarize([3, 1, 2])).toMatchObject({ n: 3, p50: 2, p95: 3, max: 3 });
  });
});

describe('budgets', () => {
  it('names each broken budget and ignores metrics without samples', () => {
    const metrics = { pauseMs: summarize([100, 200]), consentMs: summarize([]) };
    const v = checkBudgets({ pauseMs: { p95: 150 }, consentMs: { p95: 500 }, falseBargeIns: { max: 0 } }, metrics, { falseBargeIns: 2 });
    expect(v.map((x) => x.metric)).toEqual(['pauseMs', 'falseBargeIns']);
    expect(v[0]).toMatchObject({ limit: 'p95 <= 150', actual: 200 });
    expect(checkBudgets({ pauseMs: { p95: 250 } }, metrics, {})).toEqual([]);
  });
});

function rec(over: Partial<CallRecord>): CallRecord {
  return {
    scenarioId: 's', kind: 'bargein', labelKind: 'barge_in', expected: 'barge_in', onsetMs: 1000, endMs: 2000, hasEcho: false,
    startedAt: 0, ok: true, playSentAt: 0, trackStartAt: 10, frameSentAt: Array.from({ length: 200 }, (_, i) => i * 20), promptFrames: [],
    events: [], audioMsSent: 4000, ...over,
  };
}

describe('metrics', () => {
  it('measures pause, barge-in, stop and late frames against the label', () => {
    const m = computeMetrics([rec({
      promptFrames: [10, 30, 50, 1070, 1090, 1200],
      events: [
        { type: 'speech_started', t: 1040, wall: 1060 },
        { type: 'prompt_paused', t: 1064, wall: 1080 },
        { type: 'barge_in', t: 1300, wall: 1110 },
      ],
    })]);
    expect(m.samples.pauseMs).toEqual([64]);
    expect(m.samples.pauseWallMs).toEqual([80]);
    expect(m.samples.bargeInMs).toEqual([300]);
    expect(m.samples.onsetMs).toEqual([40]);
    expect(m.samples.stopMs).toEqual([120]); // last frame at 1200, pause arrived at 1080
    expect(m.counters.lateFrames).toBe(1); // 1200 > 1110 + 40
    expect(m.samples.firstAudioMs).toEqual([10]);
  });

  it('measures wall latencies also from when the audio reached the gateway: the same for a wire that sends every frame, from the chunk\'s send where the far end chunks the caller', () => {
    const events = [
      { type: 'prompt_paused', t: 1064, wall: 1130 },
      { type: 'barge_in', t: 1300, wall: 1420 },
    ];
    const perFrame = computeMetrics([rec({ events })]);
    expect(perFrame.samples.pauseArrivalMs).toEqual(perFrame.samples.pauseWallMs);
    expect(perFrame.samples.bargeInArrivalMs).toEqual([420]);
    // 100 ms chunks: frames 50–54 (onset 1000 ms is frame 50, sent at 1000) leave with frame 54, at 1080.
    const frameLeftAt = Array.from({ length: 200 }, (_, i) => (Math.floor(i / 5) * 5 + 4) * 20);
    const chunked = computeMetrics([rec({ events, frameLeftAt })]);
    expect(chunked.samples.pauseWallMs).toEqual([130]);
    expect(chunked.samples.pauseArrivalMs).toEqual([50]);
    expect(chunked.samples.bargeInArrivalMs).toEqual([340]);
    const consent = computeMetrics([rec({ kind: 'consent', labelKind: 'consent', expected: 'granted', frameLeftAt, events: [{ type: 'consent', decision: 'granted', t: 2300, wall: 2400 }] })]);
    expect(consent.samples.consentWallMs).toEqual([400]);
    expect(consent.samples.consentArrivalMs).toEqual([320]);
  });

  it('counts underruns against a far-end buffer: grouped frames and absorbed jitter are fine, a dry buffer is not', () => {
    const noSpeech = { labelKind: 'echo_only', expected: 'no_barge_in' as const, onsetMs: null };
    // Pairs every 40 ms after a first group of four: never dry.
    const grouped = [0, 0, 0, 0, ...Array.from({ length: 20 }, (_, i) => 40 + 40 * Math.floor(i / 2))];
    expect(computeMetrics([rec({ ...noSpeech, promptFrames: grouped })]).counters.underrunFrames).toBe(0);
    // Three frames of lead, then one each 20 ms: a frame 30 ms late is absorbed; a 160 ms hole is not.
    const absorbed = [0, 0, 0, 20, 40, 90, 100, 120, 140, 300, 320];
    expect(computeMetrics([rec({ ...noSpeech, promptFrames: absorbed })]).counters.underrunFrames).toBe(1);
    // Without lead the same 30 ms finds the buffer dry.
    const late = [0, 20, 40, 90, 100];
    expect(computeMetrics([rec({ ...noSpeech, promptFrames: late })]).counters.underrunFrames).toBe(1);
    // The same hole across a pause is intended silence.
    const paused = computeMetrics([rec({ ...noSpeech, promptFrames: [0, 20, 40, 300, 320], events: [{ type: 'prompt_paused', t: 60, wall: 60 }, { type: 'prompt_resumed', t: 290, wall: 290 }] })]);
    expect(paused.counters.underrunFrames).toBe(0);
  });

  it('counts false barge-ins on no-barge-in scenarios and false grants on consent', () => {
    const m = computeMetrics([
      rec({ labelKind: 'echo_only', expected: 'no_barge_in', onsetMs: null, events: [{ type: 'barge_in', t: 500, wall: 500 }] }),
      rec({ kind: 'consent', labelKind: 'consent', expected: 'refused', events: [{ type: 'consent', decision: 'granted', t: 2300, wall: 2320 }] }),
      rec({ ok: false, error: 'connect ECONNREFUSED 127.0.0.1:1234' }),
    ]);
    expect(m.counters.falseBargeIns).toBe(1);
    expect(m.counters.falseGranted).toBe(1);
    expect(m.samples.consentMs).toEqual([300]);
    expect(m.samples.consentWallMs).toEqual([320]);
    expect(m.counters.failedCalls).toBe(1);
  });

  it('times every frame decision from the packet that completed its frame, and nothing decided elsewhere', () => {
    // Packets leave every 20 ms (frameSentAt[i] = 20 i): the frame ending at 1728 ms completes in packet 86 (1720 ms).
    const m = computeMetrics([rec({
      events: [
        { type: 'prompt_paused', t: 1728, wall: 1720 + 7 },
        { type: 'speech_started', t: 1760, wall: 1740 + 35 }, // packet 87 (1740–1760 ms)
        { type: 'transcript', t: 1792, wall: 1900 },
        { type: 'consent', t: 1792, wall: 1900 },
      ],
    })]);
    expect(m.samples.decisionDelayMs).toEqual([7, 35]);
    expect(decisionTail(m.samples.decisionDelayMs)).toMatchObject({ n: 2, p50: 7, max: 35, over20: 1, over30: 1 });
    expect(decisionTail([])).toMatchObject({ n: 0, p50: null, over30: 0 });
  });

  it('does not credit a barge-in long before the onset (echo) as a detection', () => {
    const m = computeMetrics([rec({ events: [{ type: 'barge_in', t: 300, wall: 300 }] })]);
    expect(m.counters.earlyBargeIns).toBe(1);
    expect(m.samples.bargeInMs).toEqual([]);
    expect(m.incidents.map((i) => i.what)).toEqual(['missed_pause', 'early_barge_in']);
  });

  it('counts a barge-in scenario without a pause as missed (it adds no pause sample) and reads onsetT', () => {
    const m = computeMetrics([rec({
      events: [
        { type: 'prompt_paused', t: 500, wall: 500 },
        { type: 'speech_started', t: 1048, onsetT: 1016, wall: 1060 },
        { type: 'barge_in', t: 1330, wall: 1340 },
      ],
    })]);
    expect(m.counters.missedPauses).toBe(1);
    expect(m.counters.earlyPauses).toBe(1);
    expect(m.samples.pauseMs).toEqual([]);
    expect(m.samples.onsetMs).toEqual([48]);
    expect(m.samples.onsetEstMs).toEqual([16]);
    const v = checkBudgets({ missedPauses: { max: 0 } }, {}, { ...m.counters } as unknown as Record<string, number>);
    expect(v.map((x) => x.metric)).toEqual(['missedPauses']);
  });
});

describe('helpers', () => {
  it('reads prom-client event-loop lag', () => {
    expect(parseLag('# HELP x\nnodejs_eventloop_lag_p99_seconds 0.0123\n').p99Ms).toBeCloseTo(12.3);
    expect(parseLag('earshot_nodejs_eventloop_lag_max_seconds 0.05\n').maxMs).toBeCloseTo(50);
  });
  it("reads earshot's listen-stage counters, summed over shards", () => {
    const text = [
      '# HELP earshot_listen_worker_cpu_seconds_total x',
      'earshot_listen_worker_cpu_seconds_total{shard="0"} 1.5',
      'earshot_listen_worker_cpu_seconds_total{shard="1"} 2.5',
      'earshot_listen_stage_seconds_total{stage="echo"} 0.75',
      'earshot_listen_stage_seconds_total{stage="vad"} 1.25',
    ].join('\n');
    expect(parseStages(text)).toEqual({ listenCpu: 4, echo: 0.75, vad: 1.25 });
    // A peer without the counters has no stage figures.
    expect(parseStages('nodejs_eventloop_lag_p99_seconds 0.01\n')).toBeNull();
  });
  it('turns the scrapes either side of a step into ms per call-second', () => {
    const records = [rec({ audioMsSent: 10_000 }), rec({ audioMsSent: 10_000 })]; // 20 call-seconds
    const lag = [
      { wall: 50, p99Ms: 1, maxMs: 2, stages: { listenCpu: 1, echo: 0.5, vad: 0.25 } },
      { wall: 500, p99Ms: 1, maxMs: 2, stages: { listenCpu: 1.1, echo: 0.55, vad: 0.3 } },
      { wall: 1100, p99Ms: 1, maxMs: 2, stages: { listenCpu: 1.2, echo: 0.6, vad: 0.35 } },
    ];
    const r = reduceStep({
      calls: 2, durationS: 1, budgets: {}, proc: null, baselineRssMB: null, lag, lagAvailable: true,
      outcome: { records, generatorLatenessMs: [], startedAt: 100, endedAt: 1000, workerLag: null, generatorCpuMs: 0, genWorkers: 1 },
      generatorLag: { p50: null, p99: null, max: null },
    });
    // From the scrape before the start (wall 50) to the first after the end (wall 1100): 200 ms of listen CPU.
    expect(r.stageMsPerCallSecond).toEqual({ listenWorkers: 10, echo: 5, vad: 5 });
  });
  it('judges wall budgets from the chunk\'s arrival only where the far end chunks the caller, and says so', () => {
    const events = [{ type: 'prompt_paused', t: 1064, wall: 1130 }];
    const step = (over: Partial<CallRecord>) => reduceStep({
      calls: 1, durationS: 1, budgets: { pauseWallMs: { p95: 100 } }, proc: null, baselineRssMB: null, lag: null, lagAvailable: null,
      outcome: { records: [rec({ events, ...over })], generatorLatenessMs: [], startedAt: 0, endedAt: 1, workerLag: null, generatorCpuMs: 0, genWorkers: 1 },
      generatorLag: { p50: null, p99: null, max: null },
    });
    // Every frame sent as spoken: 130 ms from speech is over a 100 ms budget.
    const perFrame = step({});
    expect(perFrame.wallBudgetsFrom).toBe('speech');
    expect(perFrame.violations).toMatchObject([{ metric: 'pauseWallMs', actual: 130 }]);
    // Sent in 100 ms chunks: the onset's chunk left at 1080, so the gateway took 50 ms; 130 stays in the figures.
    const chunked = step({ frameLeftAt: Array.from({ length: 200 }, (_, i) => (Math.floor(i / 5) * 5 + 4) * 20) });
    expect(chunked.wallBudgetsFrom).toBe('arrival');
    expect(chunked.violations).toEqual([]);
    expect(chunked.metrics.pauseWallMs.p95).toBe(130);
    // A slow gateway still breaks the budget on the arrival clock.
    const slow = step({ events: [{ type: 'prompt_paused', t: 1064, wall: 1200 }], frameLeftAt: Array.from({ length: 200 }, (_, i) => (Math.floor(i / 5) * 5 + 4) * 20) });
    expect(slow.violations).toMatchObject([{ metric: 'pauseWallMs', actual: 120 }]);
  });
  it('rejects bad options with the option name', () => {
    expect(() => parseOptions(['--rate', '44k'])).toThrow(/--rate/);
    expect(() => parseOptions(['--peer', 'pipecat'])).toThrow(/--peer/);
    expect(() => parseOptions(['--peer', 'toString'])).toThrow(/--peer/);
    expect(parseOptions(['--peer', 'avr-vad']).peer).toBe('avr-vad');
    expect(parseOptions(['--ramp-steps', '50,10']).ramp).toEqual([10, 50]);
    expect(parseOptions([]).warmupS).toBe(15);
    expect(parseOptions(['--warmup', '0']).warmupS).toBe(0);
    expect(() => parseOptions(['--warmup', '-5'])).toThrow(/--warmup/);
  });
});
