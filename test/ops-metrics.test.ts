// The Prometheus metrics a real gateway exports, scraped from /metrics around real calls from ../shared/audio (a
// barge-in, a backchannel, a consent answer, a start refused by the do-not-call list): names in base units and
// linted by promtool, types as named, and the counters moving exactly as the calls' own events say they should.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/Gateway.js';
import { TestCall } from './helpers/client.js';
import { startGateway } from './helpers/gateway.js';
import { parseExposition, total, type Family } from './helpers/prometheus.js';
import { bargeInCall, consentAnswer, scenario, type Event } from './helpers/realCall.js';

/** Units a histogram may be in besides seconds: counts of things, named for the thing. */
const HISTOGRAM_UNITS = ['_seconds', '_frames'];
const BLOCKED_CALLEE = '+8613800138000';

let gw: Gateway;
let http: string;
let before: Map<string, Family>;
let after: Map<string, Family>;
let text: string;
const seen: Event[] = [];
let consent: Event;
let refusal: Event;

async function scrape(): Promise<string> {
  const r = await fetch(`${http}/metrics`);
  expect(r.status).toBe(200);
  return r.text();
}

beforeAll(async () => {
  let url: string;
  ({ gw, url, http } = await startGateway());
  expect(gw.commands.expectConsent, 'consent feature must be active (recogniser model present)').toBeDefined();
  const add = await fetch(`${http}/v1/dnc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ number: BLOCKED_CALLEE }) });
  expect(add.status).toBe(201);
  before = parseExposition(await scrape());
  const answer = async () => {
    const c = new TestCall(url);
    expect((await c.start({ callId: 'metrics-consent', encoding: 'pcm16', sampleRate: 16000 })).type).toBe('ready');
    consent = await consentAnswer(c, scenario('natural/001_audiocmn-YueTan_shi4.wav'));
    await c.hangup();
    return c;
  };
  const refused = async () => {
    const c = new TestCall(url);
    refusal = await c.start({ callId: 'metrics-dnc', encoding: 'pcm16', sampleRate: 16000, callType: 'marketing', callee: BLOCKED_CALLEE });
    return c;
  };
  const calls = await Promise.all([
    bargeInCall(url, 'metrics-bargein', scenario('bargein/s01_caller.wav')),
    bargeInCall(url, 'metrics-backchannel', scenario('bargein/s26_caller.wav')),
    answer(),
    refused(),
  ]);
  for (const c of calls) seen.push(...c.rx.events);
  text = await scrape();
  after = parseExposition(text);
});

afterAll(async () => {
  await gw?.stop(0);
});

const ours = () => [...after.values()].filter((f) => f.name.startsWith('earshot_'));
const delta = (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - (total(before, name, labels) || 0);
const count = (type: string) => seen.filter((e) => e.type === type).length;

describe('metric names and types', () => {
  it('promtool check metrics finds nothing wrong with earshot metrics (prom-client defaults aside)', () => {
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (r.error) throw new Error(`promtool is not installed (run tools/setup.sh, which takes it from Debian's prometheus package): ${r.error.message}`);
    const findings = `${r.stdout}${r.stderr}`.split('\n').filter(Boolean);
    // prom-client's own nodejs_active_*_total gauges break the _total rule; nothing of ours may be listed.
    expect(findings.filter((l) => !/^nodejs_active_\w+_total non-counter metrics should not have "_total" suffix$/.test(l))).toEqual([]);
  });

  it('every earshot metric has help; counters end in _total, histograms in _seconds or a count unit, nothing in ms', () => {
    const families = ours();
    expect(families.length).toBeGreaterThan(15);
    for (const f of families) {
      expect(f.help, f.name).not.toBe('');
      expect(f.name, 'snake_case').toMatch(/^earshot_[a-z0-9_]+$/);
      expect(f.name).not.toMatch(/_(ms|millis|milliseconds|us|micros)(_|$)/);
      if (f.type === 'counter') expect(f.name).toMatch(/_total$/);
      else expect(f.name, `${f.type} ${f.name}`).not.toMatch(/_total$/);
      if (f.type === 'histogram') expect(HISTOGRAM_UNITS.some((u) => f.name.endsWith(u)), `histogram ${f.name} unit`).toBe(true);
      expect(['counter', 'gauge', 'histogram'], f.name).toContain(f.type);
    }
  });

  it('exports the call-outcome counters and latency histograms under their documented names and types', () => {
    const expected: Record<string, string> = {
      earshot_bargein_pause_latency_seconds: 'histogram',
      earshot_bargein_commit_latency_seconds: 'histogram',
      earshot_bargein_stop_seconds: 'histogram',
      earshot_bargein_pauses_total: 'counter',
      earshot_bargein_pauses_resumed_total: 'counter',
      earshot_bargeins_total: 'counter',
      earshot_prompt_first_audio_seconds: 'histogram',
      earshot_consent_decisions_total: 'counter',
      earshot_consent_decision_seconds: 'histogram',
      earshot_calls_rejected_total: 'counter',
      earshot_webhook_deliveries_total: 'counter',
      earshot_webhook_delivery_failures_total: 'counter',
      earshot_webhook_dead_letters_total: 'counter',
      earshot_listen_worker_up: 'gauge',
      earshot_asr_worker_up: 'gauge',
      earshot_asr_worker_deaths_total: 'counter',
      earshot_listen_worker_cpu_seconds_total: 'counter',
      earshot_active_calls: 'gauge',
    };
    for (const [name, type] of Object.entries(expected)) expect(after.get(name)?.type, name).toBe(type);
    for (const old of ['earshot_bargein_pause_latency_ms', 'earshot_bargein_commit_latency_ms']) expect(after.has(old), old).toBe(false);
  });
});

describe('counters follow the calls', () => {
  it('pauses, resumes and barge-ins count exactly what the callers were told', () => {
    expect(count('barge_in')).toBeGreaterThanOrEqual(1);
    expect(count('prompt_resumed'), 'the backchannel (好) pauses the prompt and it resumes').toBeGreaterThanOrEqual(1);
    expect(delta('earshot_bargein_pauses_total')).toBe(count('prompt_paused'));
    expect(delta('earshot_bargein_pauses_resumed_total')).toBe(count('prompt_resumed'));
    expect(delta('earshot_bargeins_total')).toBe(count('barge_in'));
  });

  it('barge-in latencies are recorded in seconds, one per pause and per commit', () => {
    const pauses = delta('earshot_bargein_pause_latency_seconds_count');
    expect(pauses).toBe(count('prompt_paused'));
    const pauseMean = delta('earshot_bargein_pause_latency_seconds_sum') / pauses;
    expect(pauseMean).toBeGreaterThan(0.01);
    expect(pauseMean).toBeLessThan(0.5);
    const commits = delta('earshot_bargein_commit_latency_seconds_count');
    expect(commits).toBe(count('barge_in'));
    // The client saw the commit at onsetT + latency, in inbound ms.
    const b = seen.find((e) => e.type === 'barge_in')!;
    expect(delta('earshot_bargein_commit_latency_seconds_sum')).toBeCloseTo(((b.t as number) - (b.onsetT as number)) / 1000, 3);
  });

  it('a consent decision counts under its outcome, with its latency after the end of speech in seconds', () => {
    expect(consent.decision).toBe('granted');
    expect(delta('earshot_consent_decisions_total', { decision: 'granted', complaint: 'false' })).toBe(1);
    expect(delta('earshot_consent_decisions_total')).toBe(1);
    expect(delta('earshot_consent_decision_seconds_count')).toBe(1);
    expect(delta('earshot_consent_decision_seconds_sum')).toBeCloseTo(((consent.t as number) - (consent.speechEndT as number)) / 1000, 2);
  });

  it('a refused start counts under its reason', () => {
    expect(refusal).toMatchObject({ type: 'rejected', reason: 'do_not_call' });
    expect(delta('earshot_calls_rejected_total', { reason: 'do_not_call' })).toBe(1);
    expect(delta('earshot_calls_rejected_total')).toBe(1);
  });

  it('every listen worker reports itself up', () => {
    const up = after.get('earshot_listen_worker_up')!.samples;
    expect(up.length).toBe(gw.listen.stats().shards);
    expect(up.every((s) => s.value === 1)).toBe(true);
  });
});

describe('readers of the metrics', () => {
  it("the bench's scrape parser reads this gateway's listen-stage and event-loop figures", async () => {
    const { parseLag, parseStages } = await import('../bench/promScrape.js');
    const stages = parseStages(text);
    expect(stages?.listenCpu).toBeGreaterThan(0);
    expect(stages?.vad).toBeGreaterThan(0);
    expect(parseLag(text).p99Ms).not.toBeNull();
  });
});
