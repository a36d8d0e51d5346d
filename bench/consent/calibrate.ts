// Calibrates the `confidence` of consent decisions: per decision (granted / refused / unclear) a logistic model over
// the decision's features (gateway/listen/consent/calibration.ts) predicts whether the decision is right. Fitted and
// checked across speakers: for each natural source, fit on the other sources and predict the held-out one; the
// reliability table of those held-out predictions says whether "confidence 0.9" means right nine times in ten. The
// model fitted on every natural source is written for the gateway (--write).
//
// Usage: tsx bench/consent/calibrate.ts [corpus dir] --replay DIR --arrangement hot2 [--gap MS] [--alt-grants] [--write FILE]
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FEATURES, logistic, type Calibration } from '../../gateway/listen/consent/calibration.js';
import { consentItems, type Expected } from './corpus.js';
import { arrangementVariants, loadReplays, parseArrangement, phasesOf, REPLAY_OPTIONS, replayDecisions, rulesFrom, type Decided } from './decisions.js';

interface Sample {
  x: number[];
  y: 0 | 1;
}

/** L2-regularised logistic regression by gradient descent (a few hundred samples, five features). */
export function fitLogistic(samples: Sample[], l2 = 0.001, steps = 4000, rate = 0.5): { bias: number; weights: number[] } {
  const d = FEATURES.length;
  const w = new Array<number>(d).fill(0);
  let b = 0;
  if (samples.length === 0) return { bias: 0, weights: w };
  const pos = samples.filter((s) => s.y === 1).length;
  // All right (or all wrong): the base rate, shrunk towards one half by a pseudo-count, is all there is to learn.
  if (pos === 0 || pos === samples.length) return { bias: Math.log((pos + 1) / (samples.length - pos + 1)), weights: w };
  for (let it = 0; it < steps; it++) {
    const gw = new Array<number>(d).fill(0);
    let gb = 0;
    for (const s of samples) {
      const e = logistic({ bias: b, weights: w }, s.x) - s.y;
      gb += e;
      for (let k = 0; k < d; k++) gw[k]! += e * s.x[k]!;
    }
    b -= (rate * gb) / samples.length;
    for (let k = 0; k < d; k++) w[k]! -= rate * (gw[k]! / samples.length + l2 * w[k]!);
  }
  return { bias: round(b), weights: w.map(round) };
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;

export function fitCalibration(ds: Decided[], source: string): Calibration {
  const fit = (decision: Expected) =>
    fitLogistic(ds.filter((d) => d.decision === decision && d.features).map((d) => ({ x: d.features!, y: d.item.expected === decision ? 1 : 0 })));
  return { features: [...FEATURES], granted: fit('granted'), refused: fit('refused'), unclear: fit('unclear'), source };
}

export const BINS = [0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0001];

/** Reliability: per confidence bin, how many decisions and how many of them right. */
export function reliability(pairs: { p: number; right: boolean }[]): { lo: number; hi: number; n: number; right: number; meanP: number }[] {
  return BINS.slice(0, -1).map((lo, i) => {
    const hi = BINS[i + 1]!;
    const inBin = pairs.filter((x) => x.p >= lo && x.p < hi);
    return { lo, hi: Math.min(1, hi), n: inBin.length, right: inBin.filter((x) => x.right).length, meanP: inBin.length ? inBin.reduce((a, x) => a + x.p, 0) / inBin.length : NaN };
  });
}

function main(): void {
  const { values, positionals } = parseArgs({ options: { ...REPLAY_OPTIONS, arrangement: { type: 'string', default: 'hot2' }, write: { type: 'string' } }, allowPositionals: true });
  const o = { dir: positionals[0] ?? '../shared/audio', replay: values.replay, arrangement: values.arrangement, write: values.write ?? '' };
  const rules = rulesFrom(values);
  const a = parseArrangement(o.arrangement, rules);
  const replays = loadReplays(o.replay, arrangementVariants(a));
  const items = consentItems(resolve(o.dir));
  const ds = replayDecisions(items, replays, a, phasesOf(replays)).filter((d) => d.decision !== 'none');
  const natural = ds.filter((d) => d.item.set === 'natural');
  const sources = [...new Set(natural.map((d) => d.item.source))].sort();

  const held: { p: number; right: boolean; decision: string; rate: string }[] = [];
  for (const s of sources) {
    const cal = fitCalibration(natural.filter((d) => d.item.source !== s), `all but ${s}`);
    for (const d of natural.filter((x) => x.item.source === s)) {
      held.push({ p: logistic(cal[d.decision as Expected], d.features!), right: d.decision === d.item.expected, decision: d.decision, rate: d.rate });
    }
  }
  const table = (pairs: { p: number; right: boolean }[]) =>
    reliability(pairs).map((b) => `  ${b.lo.toFixed(2)}–${b.hi.toFixed(2)}  n ${String(b.n).padStart(4)}  mean confidence ${Number.isNaN(b.meanP) ? '  –  ' : b.meanP.toFixed(3)}  right ${b.n ? ((b.right / b.n) * 100).toFixed(1).padStart(5) : '  –  '} %`).join('\n');
  console.log(`Reliability of the calibrated confidence on held-out sources (${held.length} natural decisions, ${o.arrangement}, both rates):`);
  console.log(table(held));
  for (const dec of ['granted', 'refused', 'unclear']) {
    console.log(`${dec}:`);
    console.log(table(held.filter((h) => h.decision === dec)));
  }
  const brier = held.reduce((a, h) => a + (h.p - (h.right ? 1 : 0)) ** 2, 0) / held.length;
  console.log(`Brier score ${brier.toFixed(4)} (match score as confidence: ${(natural.reduce((a, d) => a + (d.features![0]! - (d.decision === d.item.expected ? 1 : 0)) ** 2, 0) / natural.length).toFixed(4)})`);
  if (o.write) {
    const cal = fitCalibration(natural, `bench/consent/calibrate.ts --arrangement ${o.arrangement}: every natural source of ../shared/audio (${natural.length} decisions, 16k + 8k, phases ${phasesOf(replays).join(',')} ms)`);
    writeFileSync(o.write, JSON.stringify(cal, null, 2) + '\n');
    console.log(`wrote ${o.write}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
