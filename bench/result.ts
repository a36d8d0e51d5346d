// The shape of result.json and how one step's raw material (call records, /proc samples, lag scrapes) is
// reduced to it.
import { checkBudgets, type Budgets, type Violation } from './budgets.js';
import { computeMetrics, summaries, type CallMetrics, type Counters, type LatencyMetric } from './metrics.js';
import type { StepOutcome } from './loadGenerator.js';
import { cpuMsBetween, type ProcSample } from './procSampler.js';
import type { LagSample } from './promScrape.js';
import { summarize, type Summary } from './stats.js';
import type { MonitorStep } from './monitorPages.js';

export interface StepResult {
  calls: number;
  durationS: number;
  withinBudget: boolean;
  violations: Violation[];
  /**
   * Where the wall budgets were counted from: `speech` (the moment the labelled audio was spoken, which is when a
   * far end that streams every 20 ms frame sends it) or `arrival` (when the chunk holding it reached the gateway,
   * for a far end that holds the caller and sends it in chunks; its wall-from-speech figures stay in `metrics`).
   */
  wallBudgetsFrom: 'speech' | 'arrival';
  metrics: Record<LatencyMetric, Summary>;
  falseBargeIns: number;
  falsePauses: number;
  counters: Counters;
  consentConfusion: Record<string, Record<string, number>>;
  errors: Record<string, number>;
  incidents: CallMetrics['incidents'];
  callSeconds: number; // inbound audio streamed, summed over calls
  cpuPercent: { mean: number | null; p95: number | null; max: number | null } | null;
  cpuMsPerCallSecond: number | null;
  /**
   * The gateway's own account of its listen workers, per second of inbound audio (ms): their threads' CPU, and
   * the time spent in VAD inference and in echo cancellation. Null for a gateway that does not export them.
   */
  stageMsPerCallSecond: { listenWorkers: number; vad: number; echo: number } | null;
  rssMB: { start: number | null; mean: number | null; max: number | null } | null;
  rssPerCallMB: number | null;
  gatewayLagMs: { p99Max: number | null; p99Mean: number | null; available: boolean } | null;
  generatorLagMs: { p50: number | null; p99: number | null; max: number | null };
  generatorSendLateMs: Summary;
  /** Generator processes used and their CPU (% of one core, mean over the step). */
  genWorkers: number;
  generatorCpuPercent: number | null;
  /** Raw latency samples for the report's distributions. */
  samples: Record<LatencyMetric, number[]>;
  timeline: { s: number; cpuPercent: number; rssMB: number }[];
  /** 1-minute load average of the host at the end of the step (all processes, not just ours). */
  hostLoadAvg1m?: number;
  hostLoadAvg1mStart?: number;
  /** `--monitor N`: what the monitor pages received during the step, and their CPU. */
  monitor?: MonitorStep;
}

export function reduceStep(p: {
  calls: number;
  durationS: number;
  outcome: StepOutcome;
  budgets: Budgets;
  proc: ProcSample[] | null;
  baselineRssMB: number | null;
  lag: LagSample[] | null;
  lagAvailable: boolean | null;
  generatorLag: { p50: number | null; p99: number | null; max: number | null };
}): StepResult {
  const m = computeMetrics(p.outcome.records);
  const metrics = summaries(m);
  const counters = m.counters;
  // A platform that holds the caller and sends it in chunks (Exotel: about every 100 ms, documented, not
  // configurable) delays every decision by up to a chunk before the gateway holds a sample of the audio it decides
  // on. A budget is the gateway's: for such a wire it counts from the chunk's arrival. For every other wire the two
  // clocks are the same (each frame is sent as it is spoken).
  const chunked = p.outcome.records.some((r) => r.frameLeftAt !== undefined);
  const judged = chunked
    ? { ...metrics, pauseWallMs: metrics.pauseArrivalMs, bargeInWallMs: metrics.bargeInArrivalMs, consentWallMs: metrics.consentArrivalMs }
    : metrics;
  const violations = checkBudgets(p.budgets, judged, { ...counters } as unknown as Record<string, number>);
  if (counters.failedCalls > 0) violations.push({ metric: 'failedCalls', limit: 'max <= 0', actual: counters.failedCalls });
  const callSeconds = p.outcome.records.reduce((a, r) => a + r.audioMsSent, 0) / 1000;
  const { startedAt, endedAt } = p.outcome;
  let cpuPercent: StepResult['cpuPercent'] = null;
  let rssMB: StepResult['rssMB'] = null;
  let cpuMsPerCallSecond: number | null = null;
  let rssPerCallMB: number | null = null;
  const timeline: StepResult['timeline'] = [];
  if (p.proc && p.proc.length) {
    const win = p.proc.filter((s) => s.wall > startedAt && s.wall <= endedAt);
    const c = summarize(win.map((s) => s.cpuPercent));
    cpuPercent = { mean: c.mean, p95: c.p95, max: c.max };
    const r = summarize(win.map((s) => s.rssMB));
    rssMB = { start: p.baselineRssMB, mean: r.mean, max: r.max };
    const cpuMs = cpuMsBetween(p.proc, startedAt, endedAt);
    cpuMsPerCallSecond = callSeconds > 0 ? Math.round((cpuMs / callSeconds) * 100) / 100 : null;
    if (p.baselineRssMB !== null && r.max !== null) rssPerCallMB = Math.round(((r.max - p.baselineRssMB) / p.calls) * 100) / 100;
    for (const s of win) timeline.push({ s: Math.round((s.wall - startedAt) / 100) / 10, cpuPercent: Math.round(s.cpuPercent), rssMB: Math.round(s.rssMB) });
  }
  let gatewayLagMs: StepResult['gatewayLagMs'] = null;
  let stageMsPerCallSecond: StepResult['stageMsPerCallSecond'] = null;
  if (p.lag) {
    // Counters are cumulative: the last scrape before the step and the first after it bracket its work.
    const withStages = p.lag.filter((s) => s.stages);
    const before = withStages.filter((s) => s.wall <= startedAt).pop() ?? withStages.find((s) => s.wall > startedAt);
    const after = withStages.find((s) => s.wall >= endedAt) ?? withStages[withStages.length - 1];
    if (before?.stages && after?.stages && after !== before && callSeconds > 0) {
      const per = (k: keyof NonNullable<LagSample['stages']>) => Math.round(((1000 * (after.stages![k] - before.stages![k])) / callSeconds) * 100) / 100;
      stageMsPerCallSecond = { listenWorkers: per('listenCpu'), vad: per('vad'), echo: per('echo') };
    }
    const win = p.lag.filter((s) => s.wall > startedAt && s.wall <= endedAt);
    const l = summarize(win.map((s) => s.p99Ms ?? s.maxMs ?? NaN));
    gatewayLagMs = { p99Max: l.max, p99Mean: l.mean, available: !!p.lagAvailable };
  }
  return {
    calls: p.calls,
    durationS: p.durationS,
    withinBudget: violations.length === 0,
    violations,
    wallBudgetsFrom: chunked ? 'arrival' : 'speech',
    metrics,
    falseBargeIns: counters.falseBargeIns,
    falsePauses: counters.falsePauses,
    counters,
    consentConfusion: m.consentConfusion,
    errors: m.errors,
    incidents: m.incidents,
    callSeconds: Math.round(callSeconds),
    cpuPercent,
    cpuMsPerCallSecond,
    stageMsPerCallSecond,
    rssMB,
    rssPerCallMB,
    gatewayLagMs,
    generatorLagMs: p.generatorLag,
    generatorSendLateMs: summarize(p.outcome.generatorLatenessMs),
    genWorkers: p.outcome.genWorkers,
    generatorCpuPercent: endedAt > startedAt ? Math.round((100 * p.outcome.generatorCpuMs) / (endedAt - startedAt)) : null,
    samples: m.samples,
    timeline,
  };
}

export interface PeerResult {
  name: string;
  calls: number;
  cpuMsPerCallSecond: number | null;
  cpuPercent: StepResult['cpuPercent'];
  rssMB: StepResult['rssMB'];
  onsetMs: Summary;
  onsetSamples: number[];
  missedOnsets: number;
  /**
   * The peer's VAD stage alone: its CPU minus that of the same server with the VAD switched off (sockets, decoding
   * and events only), measured on the same load right after.
   */
  baselineCpuMsPerCallSecond: number | null;
  vadStageMsPerCallSecond: number | null;
  earshot: {
    pipeline: string;
    calls: number;
    cpuMsPerCallSecond: number | null;
    /** VAD inference in earshot's listen workers (framing included), ms per call-second. */
    vadStageMsPerCallSecond: number | null;
    onsetMs: Summary;
    pauseMs: Summary;
    comparable: boolean;
    note: string;
  };
  ratios: { cpuPerCallSecond: number | null; vadStageCpu: number | null; onsetP50: number | null; onsetP95: number | null };
  generatorLagMs: StepResult['generatorLagMs'];
}
