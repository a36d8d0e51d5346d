// Reading a barge-in corpus's labels.jsonl for the evaluator: every line is checked against
// docs/bargein-labels.schema.json (ajv) and a few rules a schema cannot say, and every problem is reported with its
// line number and file, so a user's own recordings fail with a list of what to fix rather than a wrong number.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { PROJECT_ROOT } from '../../gateway/models.js';
import type { Label } from '../scenarios.js';

export const SCHEMA_PATH = join(PROJECT_ROOT, 'docs', 'bargein-labels.schema.json');

export interface ScenarioLabel extends Label {
  expected: 'barge_in' | 'no_barge_in';
  promptFile: string;
  split?: 'tune' | 'test';
  speaker?: string | null;
  conditions?: string[];
}

export class LabelError extends Error {
  constructor(readonly problems: string[]) {
    super(`labels do not match docs/bargein-labels.schema.json:\n  ${problems.slice(0, 25).join('\n  ')}${problems.length > 25 ? `\n  … and ${problems.length - 25} more` : ''}`);
  }
}

let validator: ReturnType<Ajv['compile']> | null = null;
function validate(): ReturnType<Ajv['compile']> {
  if (!validator) validator = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')));
  return validator;
}

const describe = (e: ErrorObject) =>
  `${e.instancePath || '(line)'} ${e.message}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''}`;

/** Checks one parsed line; returns its problems (empty when it is fine). */
export function labelProblems(obj: unknown): string[] {
  const v = validate();
  const problems: string[] = [];
  if (!v(obj)) {
    // if/then failures repeat the inner error as "must match \"then\" schema": keep the specific ones.
    for (const e of v.errors ?? []) if (e.keyword !== 'if') problems.push(describe(e));
  }
  const l = obj as Partial<ScenarioLabel>;
  if (problems.length === 0 && l && typeof l === 'object' && l.promptFile) {
    if (l.speechOnsetMs != null && l.speechEndMs != null && l.speechEndMs < l.speechOnsetMs) problems.push('/speechEndMs is before /speechOnsetMs');
    if (l.speechOnsetMs != null && l.durationMs != null && l.speechOnsetMs >= l.durationMs) problems.push('/speechOnsetMs is not inside the file (≥ durationMs)');
  }
  return problems;
}

/** Every scenario line (a line with promptFile) of `dir`/labels.jsonl, validated; throws LabelError listing all problems. */
export function loadScenarioLabels(dir: string): ScenarioLabel[] {
  const p = join(dir, 'labels.jsonl');
  if (!existsSync(p)) throw new Error(`${dir}: no labels.jsonl there (see docs/bargein-labels.schema.json)`);
  const problems: string[] = [];
  const out: ScenarioLabel[] = [];
  readFileSync(p, 'utf8').split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      problems.push(`labels.jsonl:${i + 1}: not JSON (${(e as Error).message})`);
      return;
    }
    const where = `labels.jsonl:${i + 1}${obj && typeof obj === 'object' && 'file' in obj ? ` (${String((obj as { file: unknown }).file)})` : ''}`;
    const ps = labelProblems(obj);
    for (const x of ps) problems.push(`${where}: ${x}`);
    if (!ps.length && (obj as Label).promptFile) out.push(obj as ScenarioLabel);
  });
  if (problems.length) throw new LabelError(problems);
  if (!out.length) throw new Error(`${p}: no barge-in scenarios (lines with promptFile)`);
  return out;
}

/** The condition tags a scenario is reported under: its own `conditions`, or derived from echo/noise. */
export function conditionsOf(l: ScenarioLabel): string[] {
  if (Array.isArray(l.conditions) && l.conditions.length) return l.conditions;
  const c: string[] = [];
  if (l.echo) c.push('echo');
  if (l.noise) c.push('noise');
  return c.length ? c : ['clean'];
}
