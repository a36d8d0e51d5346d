// The `confidence` of a consent decision as a probability that the decision is right: a logistic model per decision
// over a few features of what was heard, fitted on labelled answers (bench/consent/calibrate.ts, cross-speaker folds)
// so that, on voices it was not fitted on, decisions reported at 0.9 are right about nine times in ten. The fitted
// weights live next to the lexicon (calibration.<language>.json) with the data and folds they came from.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { ConsentDecision } from './ConsentClassifier.js';
import type { Language } from './lexicon.js';

export const FEATURES = ['match', 'meanLogProb', 'minLogProb', 'agreement', 'opinions'] as const;

const Logistic = z.object({ bias: z.number(), weights: z.array(z.number()).length(FEATURES.length) });
export const CalibrationSchema = z.object({
  features: z.array(z.string()).refine((f) => f.join() === FEATURES.join(), `features must be ${FEATURES.join(', ')}`),
  granted: Logistic,
  refused: Logistic,
  unclear: Logistic,
  /** Where the weights came from (data, folds, date): for the reader, not used. */
  source: z.string().optional(),
});
export type Calibration = z.infer<typeof CalibrationSchema>;

/** What a decision's features are read from (a ConsentVerdict and the Heard it came from, ./decide.ts). */
export interface Judged {
  decision: ConsentDecision;
  match: number;
  opinions: readonly { result: { decision: ConsentDecision } }[];
}
export interface HeardHypotheses {
  hypotheses: readonly { logProbs?: readonly number[] }[];
}

/** Feature vector of a decision (in FEATURES order). */
export function decisionFeatures(v: Judged, heard: HeardHypotheses): number[] {
  const lp = heard.hypotheses[0]?.logProbs ?? [];
  const mean = lp.length ? lp.reduce((a, b) => a + b, 0) / lp.length : -1;
  const min = lp.length ? Math.min(...lp) : -2;
  const others = v.opinions.length;
  const agree = others ? v.opinions.filter((o) => o.result.decision === v.decision).length / others : 0;
  return [v.match, Math.max(-5, mean), Math.max(-8, min), agree, Math.min(3, others)];
}

export function logistic(m: { bias: number; weights: number[] }, x: number[]): number {
  let z = m.bias;
  for (let i = 0; i < x.length; i++) z += m.weights[i]! * x[i]!;
  return 1 / (1 + Math.exp(-z));
}

export function calibrated(cal: Calibration, v: Judged, heard: HeardHypotheses): number {
  const p = logistic(cal[v.decision], decisionFeatures(v, heard));
  return Math.round(p * 1000) / 1000;
}

const HERE = dirname(fileURLToPath(import.meta.url));

/** The bundled calibration for a language, or null when there is none (confidence is then the match score). */
export function loadCalibration(language: Language, path?: string): Calibration | null {
  const file = path ?? join(HERE, `calibration.${language}.json`);
  if (!existsSync(file)) {
    if (path) throw new Error(`consent calibration ${file} does not exist`);
    return null;
  }
  const parsed = CalibrationSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`consent calibration ${file}: ${parsed.error.message}`);
  return parsed.data;
}
