// Consent accuracy of the whole gateway on a labelled corpus. Each consent answer is streamed at real time over the
// native WebSocket into an in-process gateway (`expect_consent`, then the answer, then silence until the decision),
// so what is measured is exactly what a call gets: VAD, end of speech, recogniser (with its hotwords and any second
// opinion), the decision rules and the evidence store. Answers run concurrently (real time per call).
//
// Reports, per set (natural voices; the espeak-ng stress set) and rate: per-class counts and recall, every false
// `granted` (the safety number), decision time after the labelled end of speech (inbound-audio ms, p50/p95), the
// recogniser's CPU per second of audio; for the natural set the same per source and per speaker.
//
// Figures on voices the settings were not chosen on: give the settings to choose among as `--candidate`s. Each is
// run live on the whole corpus; then every source of the natural set is held out once, the candidate is chosen on
// the other sources' natural answers (bench/consent/folds.ts: no false grant first, then the worse of granted and
// refused recall), and the held-out source is scored with it. The held-out scores of all folds together are the
// unseen-voice figures. The espeak-ng stress set is never used to choose: it is scored with the candidate chosen on
// every natural source.
//
// Usage: `earshot eval consent --help` (or npm run eval:consent -- --help).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGateway } from '../gateway/app.js';
import { deepMerge } from '../gateway/config.js';
import type { ConsentFeature } from '../gateway/features/consent.js';
import { helpText, intOption, parseCommandLine, UsageError, type CommandSpec } from '../gateway/ops/commandLine.js';
import { rootLogger } from '../gateway/ops/log.js';
import { consentItems, RATES, type ConsentItem, type ConsentSet, type Rate } from './consent/corpus.js';
import { choose, fmtTally, leaveOneSourceOut, pct, tally, type Outcome, type Tally } from './consent/folds.js';
import { runLive, type LiveJob, type LiveOutcome } from './consent/live.js';

export const EVAL_CONSENT_COMMAND = {
  usage: 'earshot eval consent',
  summary:
    'Consent accuracy of the whole gateway on a labelled corpus: each answer streamed at real time into an in-process gateway, per set, rate, source and speaker; with --candidate, leave-one-source-out figures on unseen voices. Also `npm run eval:consent -- …`. Exit 0 done, 2 usage or setup error.',
  args: [{ name: 'folder', help: 'a corpus with labels.jsonl (e.g. ../shared/audio)', required: true }],
  options: {
    sets: { type: 'string', value: 'LIST', help: 'natural, espeak or natural,espeak (default natural,espeak)' },
    rate: { type: 'string', choices: ['16k', '8k', 'both'], help: 'pcm16 16 kHz files, their μ-law 8 kHz twins, or both (default both)' },
    set: { type: 'string', multiple: true, value: 'KEY=VALUE', help: 'a configuration value for every run, e.g. asr.search=greedy (repeatable)' },
    candidate: {
      type: 'string',
      multiple: true,
      value: 'NAME:KEY=VALUE,…',
      help: 'settings to choose among by leave-one-source-out, cheapest first (repeatable), e.g. greedy:asr.search=greedy,consent.secondOpinion=none',
    },
    model: { type: 'string', value: 'ID', help: 'recogniser model id (default: the configuration’s)' },
    mode: { type: 'string', choices: ['recognizer', 'kws'], help: 'recogniser or keyword spotting (default: the configuration’s)' },
    lang: { type: 'string', choices: ['zh', 'en'], help: 'language of the items (default zh)' },
    concurrency: { type: 'string', value: 'N', help: 'answers streamed at once (default 24)' },
    limit: { type: 'string', value: 'N', help: 'only the first N answers of each set (a quick check of the command, not a figure)' },
    json: { type: 'boolean', help: 'the result as JSON on stdout' },
    out: { type: 'string', value: 'FILE', help: 'also write the JSON result (with every outcome) here' },
  },
  notes:
    'Transcripts appear in the JSON outcomes only; the gateway logs them at debug level alone.\n' +
    'Run it under the shared lock: flock /tmp/earshot-heavy.lock npm run eval:consent -- ../shared/audio',
} as const satisfies CommandSpec;

interface Candidate {
  name: string;
  overrides: Record<string, unknown>;
}

function args(argv: string[]) {
  const r = parseCommandLine(EVAL_CONSENT_COMMAND, argv);
  const v = r.values;
  const sets = (v.sets ?? 'natural,espeak').split(',');
  for (const s of sets) if (s !== 'natural' && s !== 'espeak') throw new UsageError(`--sets: "${s}" is neither natural nor espeak`, EVAL_CONSENT_COMMAND);
  const base: Record<string, unknown> = {};
  for (const kv of v.set ?? []) setPath(base, kv);
  if (v.model) setPath(base, `asr.model=${v.model}`);
  if (v.mode) setPath(base, `asr.mode=${v.mode}`);
  const candidates: Candidate[] = (v.candidate ?? []).map(parseCandidate);
  if (new Set(candidates.map((c) => c.name)).size !== candidates.length) throw new UsageError('--candidate names must differ', EVAL_CONSENT_COMMAND);
  return {
    help: r.help,
    folder: r.args[0] ?? '',
    sets: sets as ConsentSet[],
    rates: (v.rate ?? 'both') === 'both' ? [...RATES] : [v.rate as Rate],
    base,
    candidates: candidates.length ? candidates : [{ name: 'configured', overrides: {} }],
    lang: (v.lang ?? 'zh') as 'zh' | 'en',
    concurrency: intOption('concurrency', v.concurrency, 1, EVAL_CONSENT_COMMAND) ?? 24,
    limit: intOption('limit', v.limit, 1, EVAL_CONSENT_COMMAND) ?? Infinity,
    json: !!v.json,
    out: v.out ?? '',
  };
}

/** `hot1.5:asr.search=hotwords,asr.hotwordBoost=1.5` → { name: 'hot1.5', overrides: { asr: { … } } }. */
export function parseCandidate(s: string): Candidate {
  const colon = s.indexOf(':');
  const name = colon < 0 ? s : s.slice(0, colon);
  if (!name) throw new UsageError(`--candidate ${s}: expected NAME:KEY=VALUE,…`, EVAL_CONSENT_COMMAND);
  const overrides: Record<string, unknown> = {};
  if (colon >= 0) for (const kv of s.slice(colon + 1).split(',').filter(Boolean)) setPath(overrides, kv);
  return { name, overrides };
}

/** `consent.secondOpinion=shifted` → { consent: { secondOpinion: 'shifted' } } (numbers and booleans parsed). */
export function setPath(into: Record<string, unknown>, kv: string): void {
  const eq = kv.indexOf('=');
  if (eq <= 0) throw new UsageError(`${kv}: expected KEY.PATH=VALUE`, EVAL_CONSENT_COMMAND);
  const keys = kv.slice(0, eq).split('.');
  const raw = kv.slice(eq + 1);
  const value: unknown = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
  let node = into;
  for (const k of keys.slice(0, -1)) {
    if (['__proto__', 'constructor', 'prototype'].includes(k)) throw new UsageError(`${kv}: not a configuration key`, EVAL_CONSENT_COMMAND);
    node = (node[k] ??= {}) as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

/** `earshot eval consent …` and `npm run eval:consent -- …`. Exit 0 done, 2 usage or setup error. */
export async function main(argv: string[]): Promise<number> {
  let o: ReturnType<typeof args>;
  try {
    o = args(argv.filter((a) => a !== '--'));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`eval consent: ${e.message}\n\n${helpText(EVAL_CONSENT_COMMAND)}`);
    return 2;
  }
  if (o.help) {
    process.stdout.write(helpText(EVAL_CONSENT_COMMAND));
    return 0;
  }
  try {
    await evaluate(o);
    return 0;
  } catch (e) {
    process.stderr.write(`eval consent: ${(e as Error).message}\n`);
    return 2;
  }
}

interface CandidateRun {
  name: string;
  engine: string | null;
  config: unknown;
  recogniserCpuMsPerAudioSecond: number | null;
  outcomes: LiveOutcome[];
}

/** One candidate: a fresh in-process gateway with its settings, every job streamed through it. */
async function runCandidate(o: ReturnType<typeof args>, c: Candidate, root: string, jobs: LiveJob[]): Promise<CandidateRun> {
  // A daytime policy clock: the answers are calls without a callee, which the policy refuses at night.
  const fixed = { port: 0, host: '127.0.0.1', dataDir: mkdtempSync(join(tmpdir(), 'earshot-eval-')), policy: { clock: 'fixed:2026-01-14T02:00:00Z' } };
  const gw = await createGateway(deepMerge(deepMerge(o.base, c.overrides), fixed), process.env);
  try {
    const { port } = await gw.start();
    if (!gw.commands.expectConsent) throw new Error(`no recogniser available for ${o.lang} (model ${gw.config.asr.model || 'none'})`);
    const url = `ws://127.0.0.1:${port}/v1/stream`;
    // Two answers first, unmeasured: the workers' first decodes pay for warming up.
    await runLive(jobs.slice(0, 2), { url, dir: root, concurrency: 2, callIdPrefix: 'warmup' });
    const consent = gw.plugins.find((p) => p.name === 'consent') as ConsentFeature | undefined;
    const before = consent?.pool?.stats();
    const outcomes = await runLive(jobs, {
      url, dir: root, concurrency: o.concurrency, staggerMs: 2000,
      onOutcome: (_x, n) => { if (!o.json) process.stderr.write(`\r${c.name}: ${n}/${jobs.length}`); },
    });
    if (!o.json) process.stderr.write('\n');
    const after = consent?.pool?.stats();
    const cpu = before && after && after.audioMs > before.audioMs ? ((after.cpuMs - before.cpuMs) / (after.audioMs - before.audioMs)) * 1000 : null;
    return {
      name: c.name,
      engine: after?.engine ?? null,
      config: { asr: gw.config.asr, consent: gw.config.consent },
      recogniserCpuMsPerAudioSecond: cpu === null ? null : Math.round(cpu * 10) / 10,
      outcomes,
    };
  } finally {
    await gw.stop(0);
  }
}

const summary = (t: Tally) => ({
  perClass: t.perClass,
  falseGrants: t.falseGrants,
  falseGrantItems: t.falseGrantItems.map(describe),
  latencyMs: { p50: pct(t.latency, 50), p95: pct(t.latency, 95), n: t.latency.length },
});

async function evaluate(o: ReturnType<typeof args>): Promise<void> {
  const root = resolve(o.folder);
  const all = consentItems(root, { sets: o.sets, lang: o.lang });
  const items = o.sets.flatMap((set) => all.filter((i) => i.set === set).slice(0, o.limit));
  if (!items.length) throw new Error('no items match');
  // The gateway's per-call log lines would bury the report: keep errors only unless asked otherwise.
  rootLogger.level = process.env.EARSHOT_LOG_LEVEL ?? 'error';
  const jobs: LiveJob[] = items.flatMap((item) => o.rates.map((rate) => ({ item, rate })));
  const runs: CandidateRun[] = [];
  for (const c of o.candidates) runs.push(await runCandidate(o, c, root, jobs));
  const outcomesOf = (name: string) => runs.find((r) => r.name === name)!.outcomes;
  const names = runs.map((r) => r.name);
  const lines: string[] = [`\n${root}: ${items.filter((i) => i.set === 'natural').length} natural + ${items.filter((i) => i.set === 'espeak').length} espeak answers × ${o.rates.join('/')}`];
  const natural = (os: readonly Outcome[]) => os.filter((x) => x.item.set === 'natural');
  const at = (os: readonly Outcome[], rate: Rate) => os.filter((x) => x.rate === rate);

  for (const r of runs) {
    lines.push(`\n[${r.name}] ${r.engine} — recogniser CPU ${r.recogniserCpuMsPerAudioSecond} ms per audio second in consent windows`);
    for (const set of o.sets) for (const rate of o.rates) {
      const t = tally(at(r.outcomes.filter((x) => x.item.set === set), rate));
      lines.push(`  ${set.padEnd(7)} ${rate.padEnd(3)} ${fmtTally(t)}`);
      for (const f of t.falseGrantItems) lines.push(`     FALSE GRANT ${describe(f)}`);
    }
  }

  const result: Record<string, unknown> = {
    folder: root,
    rates: o.rates,
    candidates: runs.map((r) => ({ name: r.name, engine: r.engine, config: r.config, recogniserCpuMsPerAudioSecond: r.recogniserCpuMsPerAudioSecond })),
  };
  // What ships: the candidate the selection rule picks on every natural source (with one candidate, that one).
  const chosen = choose(names, (n) => natural(outcomesOf(n)));
  result.chosenOnAllNatural = chosen;
  const perGroup = (os: readonly Outcome[], key: (x: ConsentItem) => string) =>
    Object.fromEntries([...new Set(os.map((x) => key(x.item)))].sort().map((k) => [k, Object.fromEntries(o.rates.map((rate) => [rate, summary(tally(at(os.filter((x) => key(x.item) === k), rate)))]))]));

  if (o.sets.includes('natural')) {
    let scored: Outcome[];
    if (runs.length > 1) {
      const folds = leaveOneSourceOut(names, (n) => outcomesOf(n));
      lines.push(`\nUnseen voices — leave-one-source-out (chosen on the other sources' natural answers, ${o.rates.join(' + ')} together):`);
      for (const f of folds) for (const rate of o.rates) {
        lines.push(`  ${f.heldOut.padEnd(30)} ${rate.padEnd(3)} chose ${String(f.chosen).padEnd(14)} ${fmtTally(tally(at(f.outcomes, rate)), false)}`);
      }
      scored = folds.flatMap((f) => f.outcomes);
      result.folds = folds.map((f) => ({ heldOut: f.heldOut, chosen: f.chosen }));
    } else {
      lines.push(`\nNatural voices with the settings as configured (unseen only where the settings were chosen without them):`);
      scored = natural(outcomesOf(chosen));
    }
    for (const rate of o.rates) lines.push(`  ${'ALL'.padEnd(30)} ${rate.padEnd(3)} ${''.padEnd(20)} ${fmtTally(tally(at(scored, rate)))}`);
    lines.push('  per speaker:');
    for (const sp of [...new Set(scored.map((x) => x.item.speaker))].sort()) {
      for (const rate of o.rates) lines.push(`    ${sp.padEnd(28)} ${rate.padEnd(3)} ${fmtTally(tally(at(scored.filter((x) => x.item.speaker === sp), rate)), false)}`);
    }
    result.natural = {
      unseen: runs.length > 1,
      all: Object.fromEntries(o.rates.map((rate) => [rate, summary(tally(at(scored, rate)))])),
      perSource: perGroup(scored, (i) => i.source),
      perSpeaker: perGroup(scored, (i) => i.speaker),
    };
  }
  if (o.sets.includes('espeak')) {
    const es = outcomesOf(chosen).filter((x) => x.item.set === 'espeak');
    lines.push(`\nespeak-ng stress set with ${chosen} (never used to choose):`);
    for (const rate of o.rates) lines.push(`  ${'espeak-ng'.padEnd(30)} ${rate.padEnd(3)} ${''.padEnd(20)} ${fmtTally(tally(at(es, rate)))}`);
    result.espeak = Object.fromEntries(o.rates.map((rate) => [rate, summary(tally(at(es, rate)))]));
  }
  result.outcomes = runs.flatMap((r) =>
    r.outcomes.map((x) => ({ candidate: r.name, file: x.item.label.file, speaker: x.item.speaker, source: x.item.source, set: x.item.set, rate: x.rate, expected: x.item.expected, decided: x.decision, latencyMs: x.latencyMs, t: x.t, speechEndT: x.speechEndT ?? null, confidence: x.confidence, transcript: x.transcript, reason: x.reason })),
  );
  if (o.out) writeFileSync(o.out, JSON.stringify(result, null, 2));
  if (o.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else process.stdout.write(lines.join('\n') + '\n');
}

function describe(x: Outcome & Partial<LiveOutcome>): string {
  return `${x.item.label.file} @${x.rate} "${x.item.label.text}" heard "${x.transcript ?? ''}" (${x.reason ?? ''})`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // The in-process gateway's workers may outlive the report by a moment: exit with the code.
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
