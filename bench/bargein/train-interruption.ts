// Trains the interruption classifier (gateway/listen/nearEnd/InterruptionModel.ts) on the barge-in corpus's TUNING
// half only, at both rates in one model, from the frames the offline path extracts with band energies
// (bench/bargein/offline.ts: the listen worker's own code), and chooses its policy thresholds by cross-validation
// grouped BY SPEAKER inside the tuning half (never the test half). Frame targets:
//   1: the callee's labelled speech in barge_in scenarios (64 ms around each segment edge ignored);
//   0: everything else while the prompt plays — echo, noise, backchannels (their speech too), coughs, laughs, clicks,
//      keys, TV/babble, and a barge-in scenario's frames before its onset;
//   frames after the prompt ended (+200 ms) are left out: no decision is taken there.
// One hidden layer (tanh), logistic output, Adam on class-balanced cross-entropy, early stopping on a held-out speaker
// group, fixed seed. Folds: the tuning half's 8 speakers in 4 groups of 2, scenarios without a speaker (echo, noise,
// events, background) dealt round-robin. For each fold: a model trained on the other three (early stopping on one of
// them), its out-of-fold probabilities replayed through the policy for every threshold setting; the setting is
// chosen on three folds' replays and reported on the fourth (nested), then once more on all four to ship. The final
// model trains on the whole tuning half for the median early-stopped epoch count.
//
// The canceller behind the frames is the configuration's (`echo.robustFilter` from EARSHOT_CONFIG) unless
// `--train-echo` / `--eval-echo` say otherwise: the folds' models train on one canceller's frames and are replayed on
// the held-out speakers' frames of the other (a model trained on the default filter, scored under the robust one).
// `--onset-skip-ms N` leaves a barge-in's first N ms of speech out of the target (neither 1 nor 0), so that its first
// syllable and a backchannel's are not forced apart. `--fixed mode/silence/commitMs,…` also reports those settings.
//
// Usage: npx tsx bench/bargein/train-interruption.ts [--hidden 16] [--epochs 30] [--l2 1e-4] [--out FILE] [--no-final]
//          [--train-echo default|robust] [--eval-echo default|robust] [--onset-skip-ms 0] [--fixed pausedVeto/0.7/256]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../../gateway/config.js';
import { PROJECT_ROOT } from '../../gateway/models.js';
import { BargeInPolicy } from '../../gateway/listen/BargeInPolicy.js';
import { InterruptionFeatures, interruptionFeatureNames, N_INTERRUPTION_FEATURES } from '../../gateway/listen/nearEnd/InterruptionFeatures.js';
import { trainNet, type TrainOptions } from './mlp.js';
import { applyClassifier } from '../../gateway/listen/nearEnd/classifierFrame.js';
import { InterruptionModel, type InterruptionWeights } from '../../gateway/listen/nearEnd/InterruptionModel.js';
import { N_BANDS } from '../../gateway/listen/nearEnd/BandEnergies.js';
import { VAD_FRAME_MS } from '../../gateway/listen/vad/VadModel.js';
import { ensureCorpus } from '../corpus/build.js';
import { evaluate, framesFor, scenarioId, summaryLine } from '../eval-bargein-offline.js';
import { loadScenarioLabels, type ScenarioLabel } from './labels.js';
import { backgroundOf, basePolicy, frameAt, probOf, type FramePolicy, type ScenarioFrames } from './offline.js';
import { falseCommitsByKind } from './failures.js';
import { committedInTime, pausedInTime, type Outcome } from './score.js';

export const DEFAULT_INTERRUPTION_WEIGHTS = join(PROJECT_ROOT, 'gateway', 'listen', 'nearEnd', 'interruption.v1.json');
const EDGE_MS = 64;
const D = N_INTERRUPTION_FEATURES;
const PER = 2 * N_BANDS;

/** Every frame's inputs, in order, as the gateway computes them for this scenario at this rate. */
export function scenarioInputs(s: ScenarioFrames): Float32Array {
  if (!s.bands) throw new Error(`${s.id}: frames without band energies`);
  const fx = new InterruptionFeatures(s.rate === 16000 ? 512 : 256);
  const out = new Float32Array(s.n * D);
  for (let i = 0; i < s.n; i++) fx.next(frameAt(s, i), s.bands.slice(i * PER, (i + 1) * PER), out.subarray(i * D, (i + 1) * D));
  return out;
}

type Seg = { startMs: number; endMs: number };
const segsOf = (l: ScenarioLabel): Seg[] =>
  (l.callerSpeechSegmentsMs as Seg[] | undefined) ?? (l.speechOnsetMs != null ? [{ startMs: l.speechOnsetMs, endMs: l.speechEndMs ?? l.speechOnsetMs }] : []);

/**
 * 1 the callee interrupting, 0 not, −1 left out, for the frame ending at `tEnd` ms. `onsetSkipMs`: the first so many
 * ms after the barge-in's onset (its first segment) are left out too — what an interruption's first syllable shares
 * with a backchannel's is not held against either.
 */
export function interruptionLabel(l: ScenarioLabel, tEnd: number, onsetSkipMs = 0): number {
  const promptMs = (l.promptDurationMs as number | undefined) ?? Infinity;
  if (tEnd > promptMs + 200) return -1;
  if (l.expected !== 'barge_in') return 0;
  const t0 = tEnd - VAD_FRAME_MS;
  const segs = segsOf(l);
  if (onsetSkipMs > 0 && segs.length && t0 < segs[0].startMs + onsetSkipMs && tEnd > segs[0].startMs - EDGE_MS) return -1;
  for (const s of segs) {
    if (t0 >= s.startMs + 16 && tEnd <= s.endMs + 16) return 1;
    if (tEnd > s.startMs - EDGE_MS && t0 < s.endMs + EDGE_MS) return -1;
  }
  return 0;
}

/** A trained interruption network and the epoch early stopping kept. */
export interface Trained {
  w: InterruptionWeights;
  bestEpoch: number;
  valLoss: number;
}

/** The shared trainer (mlp.ts) over the interruption inputs, its weights in the model's file format. */
export function trainInterruption(X: Float32Array, y: Uint8Array, trainRows: Int32Array, valRows: Int32Array, o: TrainOptions): Trained {
  const t = trainNet(X, D, y, trainRows, valRows, o, (ep, l) => process.stderr.write(`  epoch ${ep}: val loss ${l.toFixed(4)}\n`));
  return { bestEpoch: t.bestEpoch, valLoss: t.valLoss, w: { kind: 'interruption', features: interruptionFeatureNames(), ...t.net } };
}

/** The policy's thresholds (BargeInPolicy's, on the classifier's probability). */
export interface InterruptThresholds {
  /**
   * `replace`: over an interruptible prompt the classifier alone (no VAD, echo or background gate); `veto`: today's
   * rule, but a frame counts only as much as the classifier believes it too; `paused`: today's rule pauses, and once
   * paused the classifier alone decides resume and commit; `pausedVeto`: the same, the classifier vetoing today's.
   */
  mode: 'replace' | 'veto' | 'paused' | 'pausedVeto';
  pauseThreshold: number;
  silenceThreshold: number;
  commitMinSpeechMs: number;
}

/**
 * The classifier's probabilities (precomputed per frame) through BargeInPolicy in place of the VAD's and the echo
 * gate, while a prompt plays (as Call does with `bargeIn.nearEnd.mode: interrupt`); no background gate (the
 * classifier sees the call's floor itself).
 */
export function interruptPolicy(cfg: Config, th: InterruptThresholds, probs: (s: ScenarioFrames) => ArrayLike<number>): FramePolicy {
  const bi = cfg.bargeIn;
  const p = new BargeInPolicy({ ...bi, commitMinSpeechMs: th.commitMinSpeechMs, endSilenceMs: cfg.consent.endSilenceMs, endThreshold: cfg.consent.endThreshold });
  let q: ArrayLike<number> | null = null;
  let over: ((i: number) => number) | null = null;
  const use = { kind: 'interruption', mode: th.mode, pauseThreshold: th.pauseThreshold, silenceThreshold: th.silenceThreshold } as const;
  return {
    frame: (s, i, interruptible) => {
      q ??= probs(s);
      over ??= backgroundOf(s, (j) => probOf(s, j, cfg.vad.rejectDtmf));
      const t = Math.round((i + 1) * VAD_FRAME_MS);
      const bg = over(i);
      // As Call does (classifierFrame.ts): the classifier over an interruptible prompt (on the VAD's scale), the VAD elsewhere.
      const e = { prob: probOf(s, i, cfg.vad.rejectDtmf), echo: s.cols.echo[i] === 1, overBackgroundDb: bg };
      applyClassifier(e, q[i], use, interruptible, p.isPaused, bi);
      return p.frame({ t, durMs: VAD_FRAME_MS, ...e }, interruptible);
    },
  };
}

/** Counts of the issue's criteria, for choosing thresholds. */
interface Counts {
  p150: number;
  c500: number;
  bi: number;
  fc: number;
  fp: number;
  notBc: number;
}
function counts(os: Outcome[]): Counts {
  const bi = os.filter((o) => o.expected === 'barge_in');
  const nb = os.filter((o) => o.expected === 'no_barge_in');
  const notBc = nb.filter((o) => o.kind !== 'backchannel');
  return { p150: bi.filter(pausedInTime).length, c500: bi.filter(committedInTime).length, bi: bi.length, fc: nb.filter((o) => o.commitT !== null).length, fp: notBc.filter((o) => o.pauses.length > 0).length, notBc: notBc.length };
}
const add = (a: Counts, b: Counts): Counts => ({ p150: a.p150 + b.p150, c500: a.c500 + b.c500, bi: a.bi + b.bi, fc: a.fc + b.fc, fp: a.fp + b.fp, notBc: a.notBc + b.notBc });
const ZERO: Counts = { p150: 0, c500: 0, bi: 0, fc: 0, fp: 0, notBc: 0 };
/** What a setting is chosen for: commits in time and no false commits first, then pauses in time and no false pauses. */
const objective = (c: Counts) => c.c500 - 1.5 * c.fc + 0.5 * (c.p150 - c.fp);

export const GRID: InterruptThresholds[] = [];
for (const mode of ['replace', 'veto', 'paused', 'pausedVeto'] as const)
  for (const pauseThreshold of mode.startsWith('paused') ? [0.5] : [0.1, 0.3, 0.5, 0.7, 0.8, 0.9])
    for (const silenceThreshold of [0.05, 0.1, 0.2, 0.3, 0.5, 0.7])
      for (const commitMinSpeechMs of [128, 192, 256, 320, 384, 448])
        if (silenceThreshold <= pauseThreshold || mode.startsWith('paused')) GRID.push({ mode, pauseThreshold: Math.max(pauseThreshold, silenceThreshold), silenceThreshold, commitMinSpeechMs });
const thText = (t: InterruptThresholds) => `${t.mode} pause ${t.pauseThreshold} silence ${t.silenceThreshold} commit ${t.commitMinSpeechMs} ms`;

/** Speaker groups of the tuning half (4 folds of 2 speakers; speakerless scenarios dealt round-robin). */
export function foldOf(items: ScenarioLabel[]): Map<string, number> {
  const speakers = [...new Set(items.map((l) => l.speaker as string | undefined).filter((s): s is string => !!s))].sort();
  // Balance barge-ins per fold: speakers by their barge-in count, largest first, each to the fold with fewest.
  const nBi = (s: string) => items.filter((l) => l.speaker === s && l.expected === 'barge_in').length;
  const load = [0, 0, 0, 0];
  const fold = new Map<string, number>();
  for (const s of speakers.sort((a, b) => nBi(b) - nBi(a) || a.localeCompare(b))) {
    const f = load.indexOf(Math.min(...load));
    fold.set(s, f);
    load[f] += nBi(s);
  }
  const out = new Map<string, number>();
  let k = 0;
  for (const l of items) out.set(scenarioId(l), l.speaker ? fold.get(l.speaker as string)! : k++ % 4);
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      hidden: { type: 'string', default: '16' },
      epochs: { type: 'string', default: '30' },
      l2: { type: 'string', default: '1e-4' },
      lr: { type: 'string', default: '0.003' },
      patience: { type: 'string', default: '4' },
      out: { type: 'string', default: DEFAULT_INTERRUPTION_WEIGHTS },
      'no-final': { type: 'boolean', default: false },
      /** Out-of-fold probabilities: written after the folds' training, or read instead of training them. */
      'oof-out': { type: 'string', default: '' },
      'oof-in': { type: 'string', default: '' },
      /** The canceller of the frames trained on, and of those the held-out folds are replayed on. */
      'train-echo': { type: 'string', default: '' },
      'eval-echo': { type: 'string', default: '' },
      'onset-skip-ms': { type: 'string', default: '0' },
      /** Settings reported besides the chosen ones: mode/silenceThreshold/commitMinSpeechMs, comma-separated. */
      fixed: { type: 'string', default: 'pausedVeto/0.7/256,pausedVeto/0.7/192,pausedVeto/0.7/128' },
    },
  });
  const onsetSkipMs = Number(values['onset-skip-ms']);
  const o: TrainOptions = { hidden: Number(values.hidden), epochs: Number(values.epochs), lr: Number(values.lr), seed: 14, l2: Number(values.l2), patience: Number(values.patience), batch: 512 };
  const folder = await ensureCorpus(1);
  const cfg = loadConfig(process.env, { port: 0 });
  const withEcho = (v: string): Config => (v === '' ? cfg : { ...cfg, echo: { ...cfg.echo, robustFilter: v === 'robust' } });
  const trainCfg = withEcho(values['train-echo']!);
  const evalCfg = values['eval-echo'] ? withEcho(values['eval-echo']) : trainCfg;
  const echoName = (c: Config) => (c.echo.robustFilter === true ? 'robust' : c.echo.robustFilter === 'wideband' ? 'robust (16 kHz) or default (8 kHz)' : 'default');
  process.stdout.write(`frames: trained on the ${echoName(trainCfg)} canceller's, held-out folds replayed on the ${echoName(evalCfg)}'s; target from ${onsetSkipMs} ms after the onset\n`);
  const items = loadScenarioLabels(folder).filter((l) => l.split === 'tune');
  const fold = foldOf(items);
  for (let f = 0; f < 4; f++) process.stdout.write(`fold ${f}: ${[...new Set(items.filter((l) => fold.get(scenarioId(l)) === f && l.speaker).map((l) => l.speaker))].join(', ')}; ${items.filter((l) => fold.get(scenarioId(l)) === f).length} scenarios\n`);
  // Every frame of both rates in one table; rows remember scenario, rate and frame.
  const rates = [16000, 8000] as const;
  const framesOf = async (c: Config) => {
    const m = new Map<number, Map<string, ScenarioFrames>>();
    for (const rate of rates) m.set(rate, await framesFor(folder, items, rate, c, 'tune', true));
    return m;
  };
  /** Every frame's inputs and target of one canceller's frames, in one table. */
  const tableOf = (fr: Map<number, Map<string, ScenarioFrames>>, skip: number) => {
    const inputs = new Map<string, Float32Array>();
    let total = 0;
    for (const rate of rates)
      for (const l of items) {
        const s = fr.get(rate)!.get(scenarioId(l))!;
        inputs.set(`${rate}/${s.id}`, scenarioInputs(s));
        total += s.n;
      }
    const X = new Float32Array(total * D);
    const y = new Uint8Array(total);
    const rowFold = new Int8Array(total).fill(-1);
    const start = new Map<string, number>();
    let r = 0;
    for (const rate of rates)
      for (const l of items) {
        const key = `${rate}/${scenarioId(l)}`;
        const x = inputs.get(key)!;
        const n = x.length / D;
        start.set(key, r);
        X.set(x, r * D);
        for (let i = 0; i < n; i++) {
          const lab = interruptionLabel(l, (i + 1) * VAD_FRAME_MS, skip);
          y[r + i] = lab === 1 ? 1 : 0;
          if (lab >= 0) rowFold[r + i] = fold.get(scenarioId(l))!;
        }
        r += n;
      }
    const rowsOf = (pred: (f: number) => boolean) => {
      const out: number[] = [];
      for (let i = 0; i < total; i++) if (rowFold[i] >= 0 && pred(rowFold[i])) out.push(i);
      return Int32Array.from(out);
    };
    return { X, y, total, start, rowsOf };
  };
  const trainFrames = await framesOf(trainCfg);
  const sameEcho = echoName(trainCfg) === echoName(evalCfg);
  const frames = sameEcho ? trainFrames : await framesOf(evalCfg);
  const tr = tableOf(trainFrames, onsetSkipMs);
  const { X, y, total, rowsOf } = tr;
  // The held-out folds are scored against the full target (onset included), on the frames they are replayed on.
  const ev = sameEcho && onsetSkipMs === 0 ? tr : tableOf(frames, 0);
  const start = ev.start;
  process.stdout.write(`${total} frames, ${rowsOf(() => true).length} labelled, ${y.reduce((s, v) => s + v, 0)} positive; ${D} inputs, hidden ${o.hidden}\n`);

  // Out-of-fold probabilities of every frame.
  let oof = new Float32Array(ev.total);
  let epochs: number[] = [];
  const t0 = Date.now();
  if (values['oof-in']) {
    const saved = JSON.parse(readFileSync(values['oof-in'], 'utf8')) as { oof: number[]; epochs: number[] };
    oof = Float32Array.from(saved.oof);
    epochs = saved.epochs;
  }
  for (let f = 0; f < 4 && !values['oof-in']; f++) {
    const val = (f + 1) % 4;
    const tr = trainInterruption(X, y, rowsOf((k) => k !== f && k !== val), rowsOf((k) => k === val), o);
    epochs.push(tr.bestEpoch);
    const model = new InterruptionModel(tr.w);
    for (const l of items) {
      if (fold.get(scenarioId(l)) !== f) continue;
      for (const rate of rates) {
        const st = start.get(`${rate}/${scenarioId(l)}`)!;
        const n = frames.get(rate)!.get(scenarioId(l))!.n;
        for (let i = 0; i < n; i++) oof[st + i] = model.score(ev.X.subarray((st + i) * D, (st + i + 1) * D));
      }
    }
    process.stdout.write(`fold ${f}: early-stopped at epoch ${tr.bestEpoch} (val loss ${tr.valLoss.toFixed(4)}, fold ${val}), ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  }
  if (values['oof-out']) writeFileSync(values['oof-out'], JSON.stringify({ oof: Array.from(oof, (v) => Math.round(v * 1e4) / 1e4), epochs }));
  // Frame AUC of the out-of-fold probabilities, interrupting against not.
  {
    const lab = ev.rowsOf(() => true);
    const pairs = Array.from(lab, (i) => [oof[i], ev.y[i]] as const).sort((a, b) => a[0] - b[0]);
    let rank = 0;
    let np = 0;
    pairs.forEach(([, t], k) => {
      if (t) {
        rank += k + 1;
        np++;
      }
    });
    process.stdout.write(`out-of-fold frame AUC ${((rank - (np * (np + 1)) / 2) / (np * (pairs.length - np))).toFixed(3)}\n`);
  }
  // Every threshold setting replayed per fold and rate.
  const probsOf = (rate: number) => (s: ScenarioFrames) => {
    const st = start.get(`${rate}/${s.id}`)!;
    return oof.subarray(st, st + s.n);
  };
  const perFold = (outcomes: (rate: 8000 | 16000) => Outcome[], rate: 8000 | 16000): Counts[] => {
    const os = outcomes(rate);
    const c: Counts[] = [ZERO, ZERO, ZERO, ZERO];
    for (let f = 0; f < 4; f++) c[f] = counts(os.filter((x) => fold.get(x.id) === f));
    return c;
  };
  const table = GRID.map((th) => {
    const c = Object.fromEntries(rates.map((rate) => [rate, perFold((rt) => evaluate(items, frames.get(rt)!, () => interruptPolicy(cfg, th, probsOf(rt))), rate)])) as Record<number, Counts[]>;
    return { th, c };
  });
  const base = Object.fromEntries(rates.map((rate) => [rate, perFold((rt) => evaluate(items, frames.get(rt)!, () => basePolicy(cfg)), rate)])) as Record<number, Counts[]>;
  const sum = (cs: Counts[], pick: (f: number) => boolean) => cs.reduce((a, c, f) => (pick(f) ? add(a, c) : a), ZERO);
  const both = (e: (typeof table)[number], pick: (f: number) => boolean) => add(sum(e.c[16000], pick), sum(e.c[8000], pick));
  const line = (c: Counts) => `P≤150 ${c.p150}/${c.bi} (${((100 * c.p150) / c.bi).toFixed(1)} %) | C≤500 ${c.c500}/${c.bi} (${((100 * c.c500) / c.bi).toFixed(1)} %) | falseC ${c.fc} | falseP ${c.fp}/${c.notBc}`;
  // Nested: the setting chosen on three folds (both rates), scored on the fourth.
  const nested: Record<number, Counts> = { 16000: ZERO, 8000: ZERO };
  const chosenPerFold: string[] = [];
  for (let f = 0; f < 4; f++) {
    const best = table.reduce((a, e) => (objective(both(e, (k) => k !== f)) > objective(both(a, (k) => k !== f)) ? e : a));
    chosenPerFold.push(thText(best.th));
    for (const rate of rates) nested[rate] = add(nested[rate], best.c[rate][f]);
  }
  process.stdout.write(`\nheld-out speaker folds (thresholds chosen on the other three; 4 folds):\n`);
  for (const rate of rates) {
    process.stdout.write(`  ${rate / 1000}k base:         ${line(sum(base[rate], () => true))}\n`);
    process.stdout.write(`  ${rate / 1000}k interruption: ${line(nested[rate])}\n`);
  }
  process.stdout.write(`  chosen per fold: ${chosenPerFold.join(' | ')}\n`);
  const chosen = table.reduce((a, e) => (objective(both(e, () => true)) > objective(both(a, () => true)) ? e : a));
  process.stdout.write(`chosen on all four folds' out-of-fold replays: ${thText(chosen.th)}\n`);
  for (const rate of rates) process.stdout.write(`  ${rate / 1000}k: ${line(sum(chosen.c[rate], () => true))}\n`);
  // The few best settings, for the README's "what else was close".
  const top = [...table].sort((a, b) => objective(both(b, () => true)) - objective(both(a, () => true))).slice(0, 6);
  for (const e of top) process.stdout.write(`  ${thText(e.th).padEnd(40)} 16k ${line(sum(e.c[16000], () => true))} || 8k ${line(sum(e.c[8000], () => true))}\n`);
  for (const rate of rates) {
    const os = evaluate(items, frames.get(rate)!, () => interruptPolicy(cfg, chosen.th, probsOf(rate)));
    process.stdout.write(`  ${rate / 1000}k OOF with the chosen setting: ${summaryLine(os)}\n`);
  }
  // Settings fixed beforehand (the shipped model's, say): out-of-fold models, so held out by speaker for the model.
  for (const spec of values.fixed!.split(',').filter(Boolean)) {
    const [mode, silence, commit] = spec.split('/');
    const th: InterruptThresholds = { mode: mode as InterruptThresholds['mode'], pauseThreshold: Math.max(0.5, Number(silence)), silenceThreshold: Number(silence), commitMinSpeechMs: Number(commit) };
    for (const rate of rates) {
      const os = evaluate(items, frames.get(rate)!, () => interruptPolicy(cfg, th, probsOf(rate)));
      process.stdout.write(`  ${rate / 1000}k OOF, fixed ${thText(th)}: ${summaryLine(os)}; committed ${falseCommitsByKind(os)}\n`);
    }
  }
  for (const rate of rates) {
    const os = evaluate(items, frames.get(rate)!, () => basePolicy(cfg));
    process.stdout.write(`  ${rate / 1000}k base (${echoName(evalCfg)} canceller): ${summaryLine(os)}; committed ${falseCommitsByKind(os)}\n`);
  }
  if (values['no-final']) return;
  const finalEpochs = [...epochs].sort((a, b) => a - b)[Math.floor(epochs.length / 2)];
  const fin = trainInterruption(X, y, rowsOf(() => true), new Int32Array(0), { ...o, epochs: finalEpochs });
  fin.w.trainedOn = {
    corpus: 'bench/corpus generator v2, seed 1, 640 scenarios: the tune half only (320, split by speaker, bench/corpus/README.md)',
    rates: '16 kHz pcm16 and 8 kHz μ-law twins, frames from bench/bargein/offline.ts with band energies',
    echo: `echo.robustFilter: ${String(trainCfg.echo.robustFilter)}`,
    frames: rowsOf(() => true).length,
    positives: y.reduce((s, v) => s + v, 0),
    labels: `1 = callee speech of barge_in scenarios (±64 ms edges ignored${onsetSkipMs > 0 ? `; the first ${onsetSkipMs} ms after the onset left out` : ''}); 0 = everything else while the prompt plays (echo, noise, backchannels, coughs, laughs, clicks, DTMF, TV/babble, before the onset); after prompt end + 200 ms left out`,
    training: { ...o, epochs: finalEpochs, earlyStoppedEpochsPerFold: epochs },
    thresholds: chosen.th,
    thresholdsChosenBy: '4 speaker-grouped folds of the tune half, out-of-fold replays at 16 and 8 kHz, objective c500 − 1.5·falseCommits + 0.5·(p150 − falsePauses)',
    command: `npx tsx bench/bargein/train-interruption.ts ${process.argv.slice(2).filter((a) => a !== '--' && !a.startsWith('/tmp')).join(' ')}`.trim(),
  };
  writeFileSync(values.out, JSON.stringify(fin.w) + '\n');
  process.stdout.write(`final model: ${finalEpochs} epochs on the whole tuning half → ${values.out}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (e: Error) => {
      process.stderr.write(`${e.stack}\n`);
      process.exit(2);
    },
  );
}
