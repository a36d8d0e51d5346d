// Cross-speaker evaluation. A setting (a hotword boost, a fusion rule, a lexicon change) is chosen on some voices and
// scored on others: the natural set is split by source (one public recording collection per fold: its speakers
// share a microphone, a cutting style and often the word list), every source is held out once, the setting is
// chosen on the remaining sources' natural items only (never on the espeak stress set), and the held-out source is
// scored with what was chosen. The held-out scores of all folds together are the figure reported.
import { CLASSES, type ConsentItem, type Expected, type Rate } from './corpus.js';

export interface Outcome {
  item: ConsentItem;
  rate: Rate;
  phase: number;
  decision: Expected | 'none';
  latencyMs: number | null;
}

export interface ClassCount {
  n: number;
  correct: number;
}

export interface Tally {
  perClass: Record<Expected, ClassCount>;
  falseGrants: number;
  /** Items decided `granted` that were not, for the report. */
  falseGrantItems: Outcome[];
  latency: number[];
}

export function tally(os: readonly Outcome[]): Tally {
  const perClass = Object.fromEntries(CLASSES.map((c) => [c, { n: 0, correct: 0 }])) as Record<Expected, ClassCount>;
  const falseGrantItems: Outcome[] = [];
  for (const o of os) {
    const c = perClass[o.item.expected];
    c.n++;
    if (o.decision === o.item.expected) c.correct++;
    if (o.decision === 'granted' && o.item.expected !== 'granted') falseGrantItems.push(o);
  }
  return { perClass, falseGrants: falseGrantItems.length, falseGrantItems, latency: os.filter((o) => o.latencyMs !== null).map((o) => o.latencyMs!) };
}

export const recall = (c: ClassCount): number => (c.n ? c.correct / c.n : NaN);

/**
 * How a candidate is chosen on the tuning voices: no false grant first, then the worse of granted and refused
 * recall, then their sum, then (given as `cost`, e.g. CPU) the cheaper.
 */
export function objective(t: Tally): number[] {
  const g = recall(t.perClass.granted);
  const r = recall(t.perClass.refused);
  return [-t.falseGrants, Math.min(g, r), g + r];
}

function better(a: number[], b: number[]): boolean {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (Math.abs(x - y) > 1e-9) return x > y;
  }
  return false;
}

/**
 * The candidate the selection rule picks on the given outcomes (candidates cheapest, then strictest, first). With a
 * `tolerance` (recall, 0..1) the first candidate listed that makes no more false grants than the best and whose worse
 * recall is within the tolerance of the best's is taken instead: a stricter rule that costs the tuning voices next to
 * nothing is preferred to a looser one fitted to their last yes (a safety margin for voices not seen).
 */
export function choose<C>(candidates: readonly C[], outcomesOf: (c: C) => readonly Outcome[], tolerance = 0, probesOf?: (c: C) => readonly Outcome[]): C {
  const scored = candidates.map((c) => {
    const score = objective(tally(outcomesOf(c)));
    // Hard negatives: the candidate's rules on refusals and non-answers decoded with a much stronger bias, where
    // misheard yeses are common; every grant there counts as a false grant of the candidate.
    if (probesOf) score[0]! -= tally(probesOf(c).filter((o) => o.item.expected !== 'granted')).falseGrants;
    return { c, score };
  });
  let best = scored[0]!;
  for (const x of scored) if (better(x.score, best.score)) best = x;
  if (tolerance <= 0) return best.c;
  return scored.find((x) => x.score[0]! >= best.score[0]! && x.score[1]! >= best.score[1]! - tolerance - 1e-9)!.c;
}

export interface FoldResult<C> {
  heldOut: string;
  chosen: C;
  outcomes: Outcome[];
}

/**
 * Leave-one-source-out selection among candidates. `outcomesOf(c)` gives every outcome of candidate `c` (all
 * sources, rates, phases); candidates are listed cheapest first, so that among equals the cheaper one is chosen.
 */
export function leaveOneSourceOut<C>(candidates: readonly C[], outcomesOf: (c: C) => readonly Outcome[], tolerance = 0, probesOf?: (c: C) => readonly Outcome[]): FoldResult<C>[] {
  const all = candidates.map((c) => ({ c, os: outcomesOf(c) }));
  const sources = [...new Set(all[0]!.os.filter((o) => o.item.set === 'natural').map((o) => o.item.source))].sort();
  return sources.map((heldOut) => {
    const train = (o: Outcome) => o.item.set === 'natural' && o.item.source !== heldOut;
    const chosen = choose(candidates, (c) => all.find((x) => x.c === c)!.os.filter(train), tolerance, probesOf && ((c) => probesOf(c).filter(train)));
    const os = all.find((x) => x.c === chosen)!.os.filter((o) => o.item.source === heldOut);
    return { heldOut, chosen, outcomes: os };
  });
}

export function pct(xs: readonly number[], p: number): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function fmtClass(c: ClassCount): string {
  return `${(recall(c) * 100).toFixed(1).padStart(5)} % (${c.correct}/${c.n})`;
}

export function fmtTally(t: Tally, latency = true): string {
  const lat = latency && t.latency.length ? `  after speech end p50 ${pct(t.latency, 50)} / p95 ${pct(t.latency, 95)} ms` : '';
  return `granted ${fmtClass(t.perClass.granted)}  refused ${fmtClass(t.perClass.refused)}  unclear ${fmtClass(t.perClass.unclear)}  false grants ${t.falseGrants}${lat}`;
}
