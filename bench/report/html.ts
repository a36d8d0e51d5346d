// Self-contained HTML report: one file, inline CSS and SVG, nothing fetched.
import type { Budgets } from '../budgets.js';
import { LATENCY_METRICS } from '../metrics.js';
import type { PeerResult, StepResult } from '../result.js';
import { cdfChart, esc, lineChart } from './svg.js';

export interface ReportInput {
  title: string;
  meta: Record<string, string | number | null>;
  budgets: Budgets;
  steps: StepResult[];
  maxCallsWithinBudget: number | null;
  peer: PeerResult | null;
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '–' : String(v));

function stepTable(steps: StepResult[], budgets: Budgets): string {
  const cols = LATENCY_METRICS.map((m) => `<th>${m} p95${budgets[m]?.p95 !== undefined ? ` (≤${budgets[m].p95})` : ''}</th>`).join('');
  const rows = steps.map((s) => `<tr class="${s.withinBudget ? 'ok' : 'bad'}"><td>${s.calls}</td><td>${s.withinBudget ? 'yes' : 'NO'}</td>${LATENCY_METRICS.map((m) => `<td>${fmt(s.metrics[m].p95)}</td>`).join('')}<td>${s.falseBargeIns}</td><td>${s.counters.failedCalls}</td><td>${fmt(s.cpuPercent?.mean)}</td><td>${fmt(s.rssMB?.max)}</td><td>${fmt(s.cpuMsPerCallSecond)}</td><td>${fmt(s.stageMsPerCallSecond?.listenWorkers)}</td><td>${fmt(s.stageMsPerCallSecond?.echo)} / ${fmt(s.stageMsPerCallSecond?.vad)}</td><td>${fmt(s.gatewayLagMs?.p99Max)}</td><td>${fmt(s.generatorLagMs.p99)}${s.genWorkers > 1 ? ` (${s.genWorkers} procs)` : ''}</td><td>${fmt(s.hostLoadAvg1mStart)}→${fmt(s.hostLoadAvg1m)}</td></tr>`).join('');
  return `<table><tr><th>calls</th><th>within budget</th>${cols}<th>false barge-ins</th><th>failed calls</th><th>CPU % mean</th><th>RSS MB max</th><th>CPU ms / call-s</th><th>listen workers CPU ms / call-s</th><th>echo / VAD ms / call-s</th><th>gw lag p99 ms</th><th>gen lag p99 ms</th><th>host load 1m</th></tr>${rows}</table>`;
}

function metricTable(s: StepResult): string {
  const rows = LATENCY_METRICS.map((m) => {
    const x = s.metrics[m];
    return `<tr><td>${m}</td><td>${x.n}</td><td>${fmt(x.p50)}</td><td>${fmt(x.p95)}</td><td>${fmt(x.p99)}</td><td>${fmt(x.max)}</td></tr>`;
  }).join('');
  return `<table><tr><th>metric</th><th>n</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>${rows}</table>`;
}

export function renderHtml(r: ReportInput): string {
  const last = r.steps[r.steps.length - 1];
  const best = r.steps.filter((s) => s.withinBudget).pop() ?? last;
  const parts: string[] = [];
  parts.push(`<h1>${esc(r.title)}</h1>`);
  parts.push(`<p class="meta">${Object.entries(r.meta).map(([k, v]) => `<b>${esc(k)}</b> ${esc(String(v ?? '–'))}`).join(' · ')}</p>`);
  if (r.steps.length > 1) {
    parts.push(`<h2>Ramp: max calls within budget = ${fmt(r.maxCallsWithinBudget)}</h2>`);
    const xs = r.steps.map((s) => s.calls);
    parts.push('<div class="row">');
    parts.push(lineChart('p95 latency vs concurrent calls', 'concurrent calls', 'ms', xs,
      ['pauseWallMs', 'bargeInWallMs', 'stopMs', 'consentWallMs', 'firstAudioMs'].map((m) => ({ name: m, ys: r.steps.map((s) => s.metrics[m as keyof StepResult['metrics']].p95) }))));
    parts.push(lineChart('gateway CPU vs concurrent calls', 'concurrent calls', 'CPU % (200 = 2 cores)', xs,
      [{ name: 'mean', ys: r.steps.map((s) => s.cpuPercent?.mean ?? null) }, { name: 'p95', ys: r.steps.map((s) => s.cpuPercent?.p95 ?? null) }], { y: 200, label: 'all cores' }));
    parts.push(lineChart('gateway RSS vs concurrent calls', 'concurrent calls', 'MB', xs, [{ name: 'RSS max', ys: r.steps.map((s) => s.rssMB?.max ?? null) }]));
    parts.push('</div>');
  }
  parts.push('<h2>Steps</h2>', stepTable(r.steps, r.budgets));
  for (const s of r.steps) if (s.violations.length) parts.push(`<p class="bad">${s.calls} calls: ${s.violations.map((v) => esc(`${v.metric} ${v.limit}, measured ${v.actual}`)).join('; ')}</p>`);
  parts.push(`<h2>Latency distributions at ${best.calls} calls${best === last ? '' : ' (largest step within budget)'}</h2>`);
  parts.push(metricTable(best));
  parts.push('<div class="row">');
  for (const m of LATENCY_METRICS) {
    const series = [{ name: `earshot ${best.calls} calls`, values: best.samples[m] }];
    if (r.steps.length > 1 && last !== best) series.push({ name: `earshot ${last.calls} calls`, values: last.samples[m] });
    if (m === 'onsetMs' && r.peer) series.push({ name: r.peer.name, values: r.peer.onsetSamples });
    parts.push(cdfChart(m, series, r.budgets[m]?.p95));
  }
  parts.push('</div>');
  const c = best.counters;
  parts.push(`<h2>Correctness at ${best.calls} calls</h2><table>
<tr><td>scenarios run</td><td>${c.scenarios}</td><td>failed calls</td><td>${c.failedCalls}</td></tr>
<tr><td>barge-in scenarios</td><td>${c.bargeInScenarios}</td><td>missed / early barge-ins</td><td>${c.missedBargeIns} / ${c.earlyBargeIns}</td></tr>
<tr><td>pauses on barge-in scenarios</td><td>${c.bargeInScenarios - c.missedPauses}</td><td>missed / early (before onset − 250 ms) pauses</td><td>${c.missedPauses} / ${c.earlyPauses}</td></tr>
<tr><td>no-barge-in scenarios</td><td>${c.noBargeInScenarios}</td><td>false barge-ins / false pauses</td><td>${c.falseBargeIns} / ${c.falsePauses}</td></tr>
<tr><td>consent scenarios</td><td>${c.consentScenarios}</td><td>correct / no decision / false granted / consent unavailable</td><td>${c.consentCorrect} / ${c.consentMissing} / ${c.falseGranted} / ${c.consentUnavailable}</td></tr>
<tr><td>prompt frames</td><td>${c.promptFrames}</td><td>arriving after the far-end buffer ran dry / &gt; 40 ms after barge-in</td><td>${c.underrunFrames} / ${c.lateFrames}</td></tr>
<tr><td>error events</td><td>${c.errorEvents}</td><td>errors</td><td>${esc(JSON.stringify(best.errors))}</td></tr></table>`);
  if (Object.keys(best.consentConfusion).length) {
    const decided = [...new Set(Object.values(best.consentConfusion).flatMap((d) => Object.keys(d)))].sort();
    parts.push(`<h3>Consent: expected (rows) × decided (columns)</h3><table><tr><th></th>${decided.map((d) => `<th>${esc(d)}</th>`).join('')}</tr>${Object.entries(best.consentConfusion).map(([e, d]) => `<tr><td>${esc(e)}</td>${decided.map((k) => `<td>${d[k] ?? 0}</td>`).join('')}</tr>`).join('')}</table>`);
  }
  if (best.timeline.length) {
    const xs = best.timeline.map((t) => t.s);
    parts.push('<div class="row">', lineChart(`gateway CPU over time (${best.calls} calls)`, 's', 'CPU %', xs, [{ name: 'CPU %', ys: best.timeline.map((t) => t.cpuPercent) }], { y: 200, label: 'all cores' }),
      lineChart(`gateway RSS over time (${best.calls} calls)`, 's', 'MB', xs, [{ name: 'RSS', ys: best.timeline.map((t) => t.rssMB) }]), '</div>');
  }
  if (r.peer) {
    const p = r.peer;
    parts.push(`<h2>Peer: ${esc(p.name)} (${p.calls} calls, same audio, same process layout)</h2>
<table><tr><th></th><th>CPU ms per call-second</th><th>onset p50 ms</th><th>onset p95 ms</th><th>onset n</th><th>CPU % mean</th><th>RSS MB max</th></tr>
<tr><td>earshot (pipeline ${esc(p.earshot.pipeline)}, ${p.earshot.calls} calls)</td><td>${fmt(p.earshot.cpuMsPerCallSecond)}</td><td>${fmt(p.earshot.onsetMs.p50)}</td><td>${fmt(p.earshot.onsetMs.p95)}</td><td>${p.earshot.onsetMs.n}</td><td colspan="2"></td></tr>
<tr><td>${esc(p.name)}</td><td>${fmt(p.cpuMsPerCallSecond)}</td><td>${fmt(p.onsetMs.p50)}</td><td>${fmt(p.onsetMs.p95)}</td><td>${p.onsetMs.n}</td><td>${fmt(p.cpuPercent?.mean)}</td><td>${fmt(p.rssMB?.max)}</td></tr>
<tr><td>ratio earshot ÷ peer</td><td>${fmt(p.ratios.cpuPerCallSecond)}</td><td>${fmt(p.ratios.onsetP50)}</td><td>${fmt(p.ratios.onsetP95)}</td><td colspan="3"></td></tr></table>
<h3>VAD stage alone (CPU ms per call-second)</h3>
<table><tr><th>earshot: batched inference in the listen workers</th><th>${esc(p.name)}: with VAD − with VAD off</th><th>ratio earshot ÷ peer</th></tr>
<tr><td>${fmt(p.earshot.vadStageMsPerCallSecond)}</td><td>${fmt(p.vadStageMsPerCallSecond)} (${fmt(p.cpuMsPerCallSecond)} − ${fmt(p.baselineCpuMsPerCallSecond)})</td><td>${fmt(p.ratios.vadStageCpu)}</td></tr></table>
<p class="muted">${esc(p.earshot.note)} Peer missed onsets: ${p.missedOnsets}. Onset = speech_started.t − labelled onset on barge-in scenarios without echo (audio ms).</p>`);
  }
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(r.title)}</title><style>
body{font:13px system-ui,sans-serif;margin:20px;color:#222}table{font-size:10px}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}
th{background:#f4f4f4}.row{display:flex;flex-wrap:wrap;gap:12px}.chart h4{margin:4px 0}.muted{color:#777}.bad{color:#b00}tr.bad td{background:#fee}tr.ok td:nth-child(2){color:#070}.meta{color:#555}
</style></head><body>${parts.join('\n')}</body></html>`;
}
