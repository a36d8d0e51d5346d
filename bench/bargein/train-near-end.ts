// Trains the near-end frame classifier (gateway/listen/nearEnd/) on the barge-in corpus's TUNING half only, from
// the frames the offline path extracts (bench/bargein/offline.ts: the listen worker's own code), at both rates in
// one model (its features are per sample, so rate-free). Frame labels from the scenario labels:
//   callee speech: inside a labelled speech segment of a barge-in or a backchannel (a backchannel may pause);
//   not: every frame of echo-only, noise-only, event and background-speech scenarios, and anything before the
//        callee's onset (less 100 ms: onsets are ±30 ms) in the others;
//   ignored: the callee's gaps and the 100 ms around each segment edge.
// One hidden layer (tanh), logistic output, Adam on class-balanced cross-entropy, fixed seed: the same data gives
// the same weights. Writes the JSON the gateway loads, with where it came from.
//
// Usage: npx tsx bench/bargein/train-near-end.ts [--hidden 12] [--epochs 40] [--out gateway/listen/nearEnd/near-end.v1.json]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../gateway/config.js';
import { PROJECT_ROOT } from '../../gateway/models.js';
import { NearEndFeatures, FEATURE_NAMES, N_FEATURES, type FrameFigures } from '../../gateway/listen/nearEnd/NearEndFeatures.js';
import type { NearEndWeights } from '../../gateway/listen/nearEnd/NearEndModel.js';
import { trainNet } from './mlp.js';
import { ensureCorpus } from '../corpus/build.js';
import { framesFor, scenarioId } from '../eval-bargein-offline.js';
import { loadScenarioLabels, type ScenarioLabel } from './labels.js';
import { frameAt, type ScenarioFrames } from './offline.js';

export const DEFAULT_WEIGHTS = join(PROJECT_ROOT, 'gateway', 'listen', 'nearEnd', 'near-end.v1.json');
const EDGE_MS = 100;

/** Every frame's features, in order, as the gateway computes them for this scenario at this rate. */
export function scenarioFeatures(s: ScenarioFrames): Float32Array {
  const fx = new NearEndFeatures(s.rate === 16000 ? 512 : 256);
  const out = new Float32Array(s.n * N_FEATURES);
  for (let i = 0; i < s.n; i++) {
    const f = frameAt(s, i);
    const fig: FrameFigures = { ...f };
    fx.next(fig, out.subarray(i * N_FEATURES, (i + 1) * N_FEATURES));
  }
  return out;
}

/** 1 callee speech, 0 not, −1 ignored, for the frame ending at `tEnd` ms. */
export function frameLabel(l: ScenarioLabel, tEnd: number): number {
  const t0 = tEnd - 32;
  const segs = ((l.callerSpeechSegmentsMs as { startMs: number; endMs: number }[] | undefined) ?? []).slice();
  if (!segs.length && l.speechOnsetMs !== null && l.speechEndMs !== null) segs.push({ startMs: l.speechOnsetMs, endMs: l.speechEndMs });
  const speaking = l.kind === 'barge_in' || l.kind === 'backchannel';
  if (!speaking) return 0;
  for (const s of segs) {
    if (t0 >= s.startMs + 16 && tEnd <= s.endMs + 16) return 1;
    if (tEnd > s.startMs - EDGE_MS && t0 < s.endMs + EDGE_MS) return -1;
  }
  const onset = segs.length ? Math.min(...segs.map((s) => s.startMs)) : Infinity;
  return tEnd < onset - EDGE_MS ? 0 : -1;
}

/** The shared trainer (mlp.ts) on every row, for a fixed number of epochs, in the near-end model's file format. */
export function train(X: Float32Array, y: Uint8Array, o: { hidden: number; epochs: number; lr: number; seed: number; l2: number }): NearEndWeights {
  const all = Int32Array.from({ length: y.length }, (_, i) => i);
  const t = trainNet(X, N_FEATURES, y, all, new Int32Array(0), { ...o, patience: 0, batch: 1024 });
  return { features: [...FEATURE_NAMES], ...t.net };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2).filter((a) => a !== '--');
  const arg = (k: string, d: string) => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : d;
  };
  const o = { hidden: Number(arg('--hidden', '12')), epochs: Number(arg('--epochs', '30')), lr: 0.01, seed: 14, l2: 1e-4 };
  const out = arg('--out', DEFAULT_WEIGHTS);
  const folder = await ensureCorpus(1);
  const cfg = loadConfig(process.env, { port: 0 });
  const items = loadScenarioLabels(folder).filter((l) => l.split === 'tune');
  const rows: number[][] = [];
  const ys: number[] = [];
  for (const rate of [16000, 8000] as const) {
    const frames = await framesFor(folder, items, rate, cfg, 'tune');
    for (const l of items) {
      const s = frames.get(scenarioId(l))!;
      const X = scenarioFeatures(s);
      for (let i = 0; i < s.n; i++) {
        const y = frameLabel(l, (i + 1) * 32);
        if (y < 0) continue;
        rows.push(Array.from(X.subarray(i * N_FEATURES, (i + 1) * N_FEATURES)));
        ys.push(y);
      }
    }
  }
  const X = new Float32Array(rows.length * N_FEATURES);
  rows.forEach((r, i) => X.set(r, i * N_FEATURES));
  const y = Uint8Array.from(ys);
  const t0 = Date.now();
  const w = train(X, y, o);
  w.trainedOn = {
    corpus: 'bench/corpus generator v2, seed 1, 640 scenarios: the tune half only (320, split by speaker, bench/corpus/README.md)',
    rates: '16 kHz pcm16 and 8 kHz μ-law twins, frames from bench/bargein/offline.ts',
    frames: y.length,
    positives: ys.reduce((s, v) => s + v, 0),
    labels: 'callee speech = inside labelled speech segments of barge_in/backchannel; not = no-barge-in scenarios (except backchannels) and before onset − 100 ms; edges ±100 ms ignored',
    ...o,
  };
  writeFileSync(out, JSON.stringify(w) + '\n');
  process.stdout.write(`trained on ${y.length} frames (${ys.reduce((s, v) => s + v, 0)} callee) in ${((Date.now() - t0) / 1000).toFixed(1)} s → ${out}\n`);
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
