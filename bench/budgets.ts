// Budgets: which latency percentiles and counters a run must stay within. Kept as pure functions so the
// pass/fail logic is unit-tested apart from any gateway.
import { readFileSync } from 'node:fs';
import type { Summary } from './stats.js';

/** Per metric: percentile ceilings (p50/p95/p99, ms) or, for counters, `max`. */
export type Budgets = Record<string, { p50?: number; p95?: number; p99?: number; max?: number }>;

export interface Violation {
  metric: string;
  limit: string; // e.g. "p95 <= 150"
  actual: number;
}

export function loadBudgets(path: string): Budgets {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${path}: budgets must be a JSON object`);
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (!v || typeof v !== 'object') throw new Error(`${path}: budget "${k}" must be an object like {"p95": 150}`);
    for (const [q, lim] of Object.entries(v as Record<string, unknown>)) {
      if (!['p50', 'p95', 'p99', 'max'].includes(q) || typeof lim !== 'number') {
        throw new Error(`${path}: budget "${k}.${q}" must be one of p50/p95/p99/max with a number`);
      }
    }
  }
  return raw as Budgets;
}

/**
 * Compares measured latency summaries and counters with budgets. A latency metric with no samples is not a
 * violation (the run may not include that scenario kind); a counter missing from `counters` is not either.
 */
export function checkBudgets(
  budgets: Budgets,
  metrics: Record<string, Summary>,
  counters: Record<string, number>,
): Violation[] {
  const out: Violation[] = [];
  for (const [metric, limits] of Object.entries(budgets)) {
    for (const [q, lim] of Object.entries(limits) as [keyof Summary & string, number][]) {
      let actual: number | null | undefined;
      if (q === 'max' && metric in counters) actual = counters[metric];
      else actual = metrics[metric]?.[q] as number | null | undefined;
      if (actual === null || actual === undefined) continue;
      if (actual > lim) out.push({ metric, limit: `${q} <= ${lim}`, actual });
    }
  }
  return out;
}

export function describeViolations(v: readonly Violation[]): string {
  return v.map((x) => `${x.metric} ${x.limit} (measured ${x.actual})`).join('; ');
}
