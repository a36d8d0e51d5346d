// The Grafana dashboard (deploy/grafana/earshot.json) and the Prometheus alert rules (deploy/prometheus/alerts.yml):
// the rules pass `promtool check rules` and their unit tests (alerts.test.yml), every PromQL expression in either parses (Prometheus's own grammar and
// promtool), names only metrics a real gateway exports on /metrics, and the budget lines and budget alerts sit at
// bench/budgets.json's figures, on bucket boundaries the histograms really have.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { Gateway } from '../gateway/Gateway.js';
import { registry } from '../gateway/ops/metrics.js';
import { startGateway } from './helpers/gateway.js';
import { parseExposition, seriesNames } from './helpers/prometheus.js';

const DASHBOARD = 'deploy/grafana/earshot.json';
const ALERTS = 'deploy/prometheus/alerts.yml';
const budgets = JSON.parse(readFileSync('bench/budgets.json', 'utf8')) as Record<string, { p95?: number }>;

/** The gateway-side histogram of each budget the gateway can measure (the *WallMs budgets need the far end's clock). */
const BUDGET_METRICS: Record<string, string> = {
  pauseMs: 'earshot_bargein_pause_latency_seconds',
  bargeInMs: 'earshot_bargein_commit_latency_seconds',
  stopMs: 'earshot_bargein_stop_seconds',
  consentMs: 'earshot_consent_decision_seconds',
  firstAudioMs: 'earshot_prompt_first_audio_seconds',
};

/**
 * Metrics the dashboard and alerts name that branch `fleet` adds (#15: capacity ratio, admission and forwarding
 * times). Until it is merged this gateway does not export them; after the merge this list should be emptied.
 */
const PENDING_ELSEWHERE = new Set(['earshot_capacity_ratio', 'earshot_admission_store_seconds_bucket', 'earshot_forward_seconds_bucket']);
/** Series Prometheus makes itself for every scrape target. */
const SYNTHESIZED = new Set(['up']);

interface Query {
  where: string;
  expr: string;
}
interface Selector {
  name: string;
  labels: Record<string, string>;
}

type Panel = { id: number; type: string; title: string; description?: string; panels?: Panel[]; targets?: { refId: string; expr: string; datasource?: unknown }[]; fieldConfig?: { defaults?: { thresholds?: { steps: { value: number | null; color: string }[] } } }; gridPos?: unknown };
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; title: string; panels: Panel[]; templating: { list: { name: string; query?: unknown; definition?: string }[] } };
const rules = (YAML.parse(readFileSync(ALERTS, 'utf8')) as { groups: { name: string; rules: { alert: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[] }).groups.flatMap((g) => g.rules);
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);

/** Grafana's variables as Prometheus would see them once Grafana has filled them in. */
function grafanaToPromql(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '1h').replaceAll('$instance', '.*');
}

const queries: Query[] = [
  ...panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}" ${t.refId}`, expr: grafanaToPromql(t.expr) }))),
  ...rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
];

/** Every vector selector in an expression, by Prometheus's own PromQL grammar (throws on a syntax error). */
function selectors(expr: string): Selector[] {
  const tree = parser.parse(expr);
  const out: Selector[] = [];
  const c = tree.cursor();
  do {
    if (c.type.isError) throw new Error(`syntax error at ${c.from}: ${expr.slice(Math.max(0, c.from - 20), c.from + 20)}`);
    if (c.name !== 'VectorSelector') continue;
    const node = c.node;
    const id = node.getChild('Identifier');
    const labels: Record<string, string> = {};
    for (const m of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
      const name = m.getChild('LabelName');
      const value = m.getChild('StringLiteral');
      if (name && value) labels[expr.slice(name.from, name.to)] = JSON.parse(expr.slice(value.from, value.to)) as string;
    }
    out.push({ name: id ? expr.slice(id.from, id.to) : labels.__name__, labels });
  } while (c.next());
  return out;
}

function promtool(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`promtool is not installed (tools/setup.sh takes it from Debian's prometheus package): ${r.error.message}`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

let gw: Gateway;
let exported: Set<string>;

beforeAll(async () => {
  let http: string;
  ({ gw, http } = await startGateway({ asr: { model: '' } }));
  exported = seriesNames(parseExposition(await (await fetch(`${http}/metrics`)).text()));
});

afterAll(async () => {
  await gw?.stop(0);
});

describe('alert rules', () => {
  it('pass promtool check rules', () => {
    const r = promtool(['check', 'rules', ALERTS]);
    expect(r.out).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status, r.out).toBe(0);
  });

  it('raise what their unit tests expect from synthetic series (promtool test rules)', () => {
    const r = promtool(['test', 'rules', 'deploy/prometheus/alerts.test.yml']);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS');
  });

  it('each has a severity and a summary, and the set covers budgets, errors, listen workers, lag, capacity and webhooks', () => {
    for (const r of rules) {
      expect(['critical', 'warning'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
    }
    const named = (re: RegExp) => rules.filter((r) => re.test(r.expr)).map((r) => r.alert);
    expect(named(/earshot_listen_worker_up/)).not.toEqual([]);
    expect(named(/nodejs_eventloop_lag/)).not.toEqual([]);
    expect(named(/earshot_capacity_ratio/)).not.toEqual([]);
    expect(named(/earshot_webhook_dead_letters_total/)).not.toEqual([]);
    expect(named(/earshot_call_errors_total/)).not.toEqual([]);
    for (const m of Object.values(BUDGET_METRICS)) expect(named(new RegExp(`${m}_bucket`)), m).not.toEqual([]);
  });

  it('budget alerts fire below 95 % of observations within the bench budget, read at a bucket the histogram has', () => {
    const budgetRules = rules.filter((r) => r.labels?.budget);
    expect(budgetRules.map((r) => r.labels!.budget).sort()).toEqual(Object.keys(BUDGET_METRICS).sort());
    for (const r of budgetRules) {
      const key = r.labels!.budget;
      const metric = BUDGET_METRICS[key];
      const limit = budgets[key].p95! / 1000;
      const buckets = selectors(r.expr).filter((s) => s.name === `${metric}_bucket`);
      expect(buckets.length, r.alert).toBeGreaterThan(0);
      for (const b of buckets) expect(Number(b.labels.le), r.alert).toBe(limit);
      expect(r.expr, r.alert).toMatch(/\)\s*<\s*0\.95\s/);
      const bounds = (registry.getSingleMetric(metric) as unknown as { upperBounds: number[] }).upperBounds;
      expect(bounds, `${metric} needs a bucket at its budget ${limit}`).toContain(limit);
    }
  });
});

describe('dashboard', () => {
  it('is a Grafana dashboard whose panels all query the chosen Prometheus data source', () => {
    expect(dashboard.uid).toBeTruthy();
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'instance']);
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.gridPos, p.title).toBeDefined();
      if (p.type === 'row') continue;
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      expect(p.description, p.title).toBeTruthy();
      for (const t of p.targets!) {
        expect(t.datasource, `${p.title} ${t.refId}`).toEqual({ type: 'prometheus', uid: '${datasource}' });
        expect(t.expr, `${p.title} ${t.refId}`).toMatch(/instance=~"\$instance"/);
      }
    }
  });

  it('charts p50 and p95 of every gateway-measured budget with its red line at bench/budgets.json', () => {
    for (const [key, metric] of Object.entries(BUDGET_METRICS)) {
      const p = panels.find((x) => x.description?.includes(`bench/budgets.json ${key}.p95`));
      expect(p, key).toBeDefined();
      const exprs = p!.targets!.map((t) => t.expr).join('\n');
      expect(exprs).toContain(`histogram_quantile(0.5, sum by (le) (rate(${metric}_bucket`);
      expect(exprs).toContain(`histogram_quantile(0.95, sum by (le) (rate(${metric}_bucket`);
      const steps = p!.fieldConfig!.defaults!.thresholds!.steps;
      expect(steps.find((s) => s.color === 'red')?.value, key).toBe(budgets[key].p95! / 1000);
    }
  });

  it('shows capacity, listen worker CPU, barge-in and consent outcomes, errors and refusals', () => {
    const all = panels.flatMap((p) => p.targets ?? []).map((t) => t.expr).join('\n');
    for (const m of [
      'earshot_active_calls',
      'earshot_capacity_ratio',
      'earshot_listen_worker_cpu_seconds_total',
      'earshot_bargein_pauses_total',
      'earshot_bargein_pauses_resumed_total',
      'earshot_bargeins_total',
      'earshot_consent_decisions_total',
      'earshot_calls_rejected_total',
      'earshot_call_errors_total',
      'earshot_webhook_dead_letters_total',
      'earshot_webhook_outbox_pending',
    ]) {
      expect(all, m).toContain(m);
    }
  });
});

describe('every expression', () => {
  it('parses with the PromQL grammar', () => {
    expect(queries.length).toBeGreaterThan(40);
    for (const q of queries) expect(() => selectors(q.expr), q.where).not.toThrow();
  });

  it("parses with Prometheus's own parser (the dashboard's queries checked by promtool as recording rules)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-dash-'));
    const file = join(dir, 'dashboard-rules.yml');
    const dashboardQueries = queries.filter((q) => q.where.startsWith('panel'));
    writeFileSync(file, YAML.stringify({ groups: [{ name: 'dashboard', rules: dashboardQueries.map((q, i) => ({ record: `earshot_dashboard:query_${i}`, expr: q.expr })) }] }));
    const r = promtool(['check', 'rules', file]);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain(`SUCCESS: ${dashboardQueries.length} rules found`);
  });

  it('names only metrics the gateway exports (or that Prometheus or a pending branch provides)', () => {
    const missing = queries.flatMap((q) => selectors(q.expr).filter((s) => !exported.has(s.name) && !SYNTHESIZED.has(s.name) && !PENDING_ELSEWHERE.has(s.name)).map((s) => `${q.where}: ${s.name}`));
    expect(missing).toEqual([]);
    const variable = dashboard.templating.list.find((v) => v.name === 'instance')!;
    expect(exported.has(/label_values\((\w+),/.exec(variable.definition!)![1])).toBe(true);
  });

  it('the check catches a misspelt metric', () => {
    const bad = selectors('sum(rate(earshot_bargein_pause_latency_ms_bucket[5m]))');
    expect(bad.map((s) => s.name).filter((n) => !exported.has(n))).toEqual(['earshot_bargein_pause_latency_ms_bucket']);
  });
});
