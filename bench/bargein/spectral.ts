// Does the residual's spectral shape tell a callee under echo from residual echo? On the offline frames of the
// tuning half (bench/bargein/offline.ts, the `.spec2` cache, extracted with `echo.shapeFigures` on), for the frames a
// locked canceller's gate called our own voice while the VAD said speech (≥ 0.5): how well each figure separates the
// callee's labelled speech (barge-in scenarios) from frames with no caller sound at all (AUC), and what a gate
// override on it does to the criteria (the other frames as they are). Tuning half only.
//
// Usage: npx tsx bench/bargein/spectral.ts [--rate 16k|8k|both] [--override FEATURE>=X[&…];…] [--frames-only] [--policy SPEC]
//   FEATURE: one of the names in FEATURES; --frames-only: compare the frames (AUC), no replay; SPEC as for
//   `npm run eval:bargein:offline -- --policy` (default `base`), for the replays and the oracles alike.
import { parseArgs } from 'node:util';
import { loadConfig } from '../../gateway/config.js';
import { VAD_FRAME_MS } from '../../gateway/listen/vad/VadModel.js';
import { unexplainedShare } from '../../gateway/listen/echo/spectralShape.js';
import { ensureCorpus } from '../corpus/build.js';
import { evaluate, framesFor, makePolicy, scenarioId, summaryLine } from '../eval-bargein-offline.js';
import { loadScenarioLabels, type ScenarioLabel } from './labels.js';
import { falseCommitsByKind } from './failures.js';
import type { ScenarioFrames } from './offline.js';

type Seg = { startMs: number; endMs: number };
const segsOf = (l: ScenarioLabel): Seg[] =>
  (l.callerSpeechSegmentsMs as Seg[] | undefined) ?? (l.speechOnsetMs != null ? [{ startMs: l.speechOnsetMs, endMs: l.speechEndMs ?? l.speechOnsetMs }] : []);

/** Per-frame figures compared (higher = more like the callee). */
export const FEATURES: Record<string, (s: ScenarioFrames, i: number) => number> = {
  // Today's evidence: what stands out bin by bin, against expected echo + noise.
  excessRatio: (s, i) => s.cols.excess[i] / (s.cols.exp[i] + s.cols.noise[i] + 1e-12),
  resOverExp: (s, i) => s.cols.res[i] / (s.cols.exp[i] + s.cols.noise[i] + 1e-12),
  micOverEst: (s, i) => s.cols.mic[i] / (s.cols.est[i] + 1e-12),
  // Share of the telephone band's bins standing out above the margin.
  overFrac: (s, i) => s.cols.overb[i] / Math.max(1, s.cols.bandb[i]),
  // Share of the residual's band power the echo estimate's shape cannot explain (best scaled copy removed).
  unexplained: (s, i) => unexplainedShare(s.cols.bcross[i], s.cols.bres[i], s.cols.best[i]),
  // Share of the residual's band power not coherent with the block's echo estimate (over ~50 ms per bin).
  incoherentShare: (s, i) => s.cols.incoh[i] / (s.cols.bres[i] + 1e-30),
  // That power against the gate's floor: the share (spectral units cancel) times the residual's energy.
  incoherentRatio: (s, i) => ((s.cols.incoh[i] / (s.cols.bres[i] + 1e-30)) * s.cols.res[i]) / (s.cols.exp[i] + s.cols.noise[i] + 1e-12),
  // Mean microphone–residual coherence over the band's bins.
  cohDe: (s, i) => s.cols.cohde[i] / Math.max(1, s.cols.bandb[i]),
  // Over this frame and the two before it (a callee's speech lasts; residual echo's excursions are brief).
  overFracMean3: (s, i) => mean3(s, i, (j) => s.cols.overb[j] / Math.max(1, s.cols.bandb[j])),
  excessRatioMean3: (s, i) => mean3(s, i, (j) => s.cols.excess[j] / (s.cols.exp[j] + s.cols.noise[j] + 1e-12)),
  excessRatioMin3: (s, i) => Math.min(...[0, 1, 2].map((d) => (i - d < 0 ? 0 : s.cols.excess[i - d] / (s.cols.exp[i - d] + s.cols.noise[i - d] + 1e-12)))),
  // The residual's power the estimate's shape leaves unexplained, against the gate's floor (expected echo + noise).
  unexplainedRatio: (s, i) => (unexplainedShare(s.cols.bcross[i], s.cols.bres[i], s.cols.best[i]) * s.cols.res[i]) / (s.cols.exp[i] + s.cols.noise[i] + 1e-12),
};

function mean3(s: ScenarioFrames, i: number, f: (j: number) => number): number {
  let m = 0;
  for (let d = 0; d < 3; d++) m += i - d >= 0 ? f(i - d) : 0;
  return m / 3;
}

function auc(pos: number[], neg: number[]): number {
  const all = [...pos.map((v) => [v, 1] as const), ...neg.map((v) => [v, 0] as const)].sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j][0] === all[i][0]) j++;
    const r = (i + j + 1) / 2;
    for (let k = i; k < j; k++) if (all[k][1]) rankSum += r;
    i = j;
  }
  return (rankSum - (pos.length * (pos.length + 1)) / 2) / (pos.length * neg.length || 1);
}

const quant = (x: number[], q: number) => {
  const s = [...x].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};

async function main(): Promise<void> {
  // node's own strict parser, as every earshot command reads its arguments (an unknown option is an error).
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      rate: { type: 'string', default: 'both' },
      override: { type: 'string', default: '' },
      'frames-only': { type: 'boolean', default: false },
      policy: { type: 'string', default: 'base' },
    },
  });
  const rates: (8000 | 16000)[] = values.rate === 'both' ? [16000, 8000] : [values.rate === '8k' ? 8000 : 16000];
  const overrides = values.override.split(';').filter(Boolean);
  const framesOnly = values['frames-only'];
  const spec = values.policy;
  const folder = await ensureCorpus(1);
  const cfg = loadConfig(process.env, { port: 0 });
  const items = loadScenarioLabels(folder).filter((l) => l.split === 'tune');
  for (const rate of rates) {
    const frames = await framesFor(folder, items, rate, cfg, 'tune');
    // Frames the gate held back although the VAD heard speech, by what they are.
    const groups: Record<'callee' | 'backchannel' | 'other_event' | 'no_caller', Record<string, number[]>> = { callee: {}, backchannel: {}, other_event: {}, no_caller: {} };
    for (const l of items) {
      const s = frames.get(scenarioId(l))!;
      const segs = segsOf(l);
      for (let i = 0; i < s.n; i++) {
        if (!s.cols.locked[i] || s.cols.verdict[i] !== 0 || s.cols.prob[i] < 0.5 || s.cols.bandb[i] === 0) continue;
        const t = i * VAD_FRAME_MS;
        const inSeg = segs.some((g) => t >= g.startMs && t < g.endMs);
        const nearSeg = segs.some((g) => t >= g.startMs - 200 && t < g.endMs + 300);
        const g = inSeg ? (l.expected === 'barge_in' ? 'callee' : l.kind === 'backchannel' ? 'backchannel' : 'other_event') : nearSeg ? null : 'no_caller';
        if (!g) continue;
        for (const [name, f] of Object.entries(FEATURES)) (groups[g][name] ??= []).push(f(s, i));
      }
    }
    process.stdout.write(`\n=== ${rate / 1000}k tune: hard-gated frames with VAD ≥ 0.5 (locked): callee ${groups.callee.excessRatio?.length ?? 0}, backchannel ${groups.backchannel.excessRatio?.length ?? 0}, other events ${groups.other_event.excessRatio?.length ?? 0}, no caller ${groups.no_caller.excessRatio?.length ?? 0}\n`);
    for (const name of Object.keys(FEATURES)) {
      const p = groups.callee[name] ?? [];
      const n = groups.no_caller[name] ?? [];
      const b = groups.backchannel[name] ?? [];
      const qs = (x: number[]) => [0.1, 0.5, 0.9].map((q) => quant(x, q).toPrecision(3)).join('/');
      process.stdout.write(`${name.padEnd(14)} AUC callee vs no caller ${auc(p, n).toFixed(3)}  vs backchannel ${auc(p, b).toFixed(3)} | p10/50/90 callee ${qs(p)} no caller ${qs(n)} backchannel ${qs(b)}\n`);
    }
    if (framesOnly) continue;
    const baseOs = evaluate(items, frames, makePolicy(cfg, spec));
    process.stdout.write(`base:               ${summaryLine(baseOs)} | false commits by kind ${falseCommitsByKind(baseOs)}\n`);
    // A perfect near-end detector inside the gate: every frame of the caller's labelled sound cleared — of the
    // barge-ins only (analyze.ts --oracle), or of every scenario (backchannels, coughs, laughs … are the callee too,
    // and a detector of the callee's voice cannot tell them apart frame by frame).
    for (const which of ['barge-ins', 'all caller sound'] as const) {
      const cleared = new Map([...frames].map(([id, f]) => [id, { ...f, cols: { ...f.cols, echo: [...f.cols.echo] } }]));
      for (const l of items) {
        if (which === 'barge-ins' && l.expected !== 'barge_in') continue;
        const f = cleared.get(scenarioId(l))!;
        const segs = segsOf(l);
        for (let i = 0; i < f.n; i++) if (segs.some((g) => i * VAD_FRAME_MS >= g.startMs && i * VAD_FRAME_MS < g.endMs)) f.cols.echo[i] = 0;
      }
      const os = evaluate(items, cleared, makePolicy(cfg, spec));
      process.stdout.write(`oracle, ${which.padEnd(16)}: ${summaryLine(os)} | false commits by kind ${falseCommitsByKind(os)}\n`);
    }
    for (const o of overrides) {
      // FEATURE>=X[&FEATURE>=Y]: a hard-gated frame of a locked canceller passes when every clause holds.
      const clauses = o.split('&').map((c) => {
        const [name, x] = c.split('>=');
        if (!FEATURES[name]) throw new Error(`unknown feature ${name}`);
        return { f: FEATURES[name], x: Number(x) };
      });
      const cleared = new Map([...frames].map(([id, f]) => [id, { ...f, cols: { ...f.cols, echo: [...f.cols.echo] } }]));
      for (const s of cleared.values())
        for (let i = 0; i < s.n; i++) if (s.cols.echo[i] && s.cols.locked[i] && s.cols.verdict[i] === 0 && s.cols.bandb[i] > 0 && clauses.every((c) => c.f(s, i) >= c.x)) s.cols.echo[i] = 0;
      process.stdout.write(`${o.padEnd(20)}: ${summaryLine(evaluate(items, cleared, makePolicy(cfg, spec)))}\n`);
    }
  }
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`spectral: ${e.stack}\n`);
    process.exit(2);
  },
);
