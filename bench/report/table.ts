// The short plain-text summary printed at the end of a run.
import type { PeerResult, StepResult } from '../result.js';

const f = (v: number | null | undefined, w = 7) => (v === null || v === undefined ? '–' : String(v)).padStart(w);

export function renderTable(steps: StepResult[], peer: PeerResult | null, maxCalls: number | null): string {
  const lines: string[] = [];
  lines.push(`${'calls'.padStart(6)} ${'ok'.padStart(3)} ${'pause'.padStart(7)} ${'pauseW'.padStart(7)} ${'barge'.padStart(7)} ${'bargeW'.padStart(7)} ${'stop'.padStart(7)} ${'consW'.padStart(7)} ${'1stAud'.padStart(7)} ${'falseBI'.padStart(7)} ${'fail'.padStart(5)} ${'cpu%'.padStart(6)} ${'rssMB'.padStart(6)} ${'genLag'.padStart(6)}   (latency p95, ms)`);
  for (const s of steps) {
    const m = s.metrics;
    lines.push(`${f(s.calls, 6)} ${(s.withinBudget ? 'yes' : 'NO').padStart(3)} ${f(m.pauseMs.p95)} ${f(m.pauseWallMs.p95)} ${f(m.bargeInMs.p95)} ${f(m.bargeInWallMs.p95)} ${f(m.stopMs.p95)} ${f(m.consentWallMs.p95)} ${f(m.firstAudioMs.p95)} ${f(s.falseBargeIns)} ${f(s.counters.failedCalls, 5)} ${f(s.cpuPercent?.mean, 6)} ${f(s.rssMB?.max, 6)} ${f(s.generatorLagMs.p99, 6)}`);
  }
  const unmeasured = Object.entries(steps[steps.length - 1].metrics).filter(([, v]) => v.n === 0).map(([k]) => k);
  if (unmeasured.length) lines.push(`not measured (no samples, so no budget check): ${unmeasured.join(', ')}`);
  if (steps.length > 1) lines.push(`maxCallsWithinBudget: ${maxCalls ?? 'none'}`);
  for (const s of steps) {
    const st = s.stageMsPerCallSecond;
    if (st) lines.push(`  ${s.calls} calls: listen workers ${st.listenWorkers} ms CPU per call-second (echo canceller ${st.echo}, VAD inference ${st.vad}), whole gateway ${s.cpuMsPerCallSecond}`);
  }
  for (const s of steps) {
    const mp = s.monitor;
    if (mp) lines.push(`  ${s.calls} calls, monitor open on ${mp.pages} call(s)${mp.nice ? ` (Chromium at nice ${mp.nice})` : ''}: fewest frames plotted by a page ${mp.minFramesPlotted} (idle below ${mp.minFramesExpected}), fewest events shown ${mp.minEventsShown}, idle pages ${mp.idlePages}; update delay p50/p95/p99 ${mp.updateDelayMs.p50}/${mp.updateDelayMs.p95}/${mp.updateDelayMs.p99} ms; Chromium + driver CPU ${mp.cpuPercent?.mean ?? '–'} %`);
  }
  for (const s of steps) if (s.violations.length) lines.push(`  ${s.calls} calls broke: ${s.violations.map((v) => `${v.metric} ${v.limit} (${v.actual})`).join('; ')}`);
  if (peer) {
    lines.push(`peer ${peer.name} @${peer.calls} calls: CPU ${peer.cpuMsPerCallSecond} ms/call-s, onset p50/p95 ${peer.onsetMs.p50}/${peer.onsetMs.p95} ms (n=${peer.onsetMs.n})`);
    lines.push(`earshot (${peer.earshot.pipeline}) @${peer.earshot.calls}: CPU ${peer.earshot.cpuMsPerCallSecond} ms/call-s, onset p50/p95 ${peer.earshot.onsetMs.p50}/${peer.earshot.onsetMs.p95} ms; ratio CPU earshot/peer ${peer.ratios.cpuPerCallSecond}`);
    lines.push(`VAD stage: earshot ${peer.earshot.vadStageMsPerCallSecond} ms/call-s (batched inference in the listen workers) vs peer ${peer.vadStageMsPerCallSecond} (${peer.cpuMsPerCallSecond} − ${peer.baselineCpuMsPerCallSecond} with its VAD off); ratio ${peer.ratios.vadStageCpu}`);
  }
  return lines.join('\n');
}
