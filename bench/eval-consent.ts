// Consent accuracy of the whole gateway on a labelled corpus. Each consent answer is streamed at real time over the
// native WebSocket into an in-process gateway (`expect_consent`, then the answer, then silence until the decision),
// so what is measured is exactly what a call gets: VAD, end of speech, recogniser (with its hotwords and any second
// opinion), the decision rules and the evidence store. Answers run concurrently (real time per call).
//
// Reports, per set (natural voices; the espeak-ng stress set) and rate: per-class counts and recall, every false
// `granted` (the safety number), decision time after the labelled end of speech (inbound-audio ms, p50/p95), the
// recogniser's CPU per second of audio; and for the natural set the same per source — every source here is a voice
// the settings were not chosen on only if they were chosen by cross-validation (bench/consent/crossval.ts), which
// is how the shipped settings were chosen.
//
// Usage: npm run eval:consent -- <folder with labels.jsonl> [--sets natural,espeak | --subset natural/]
//          [--rate 16k|8k|both] [--set key.path=value …] [--concurrency N] [--json] [--out FILE]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createGateway } from '../gateway/app.js';
import type { ConsentFeature } from '../gateway/features/consent.js';
import { rootLogger } from '../gateway/ops/log.js';
import { consentItems, RATES, type ConsentSet, type Rate } from './consent/corpus.js';
import { fmtTally, pct, tally } from './consent/folds.js';
import { runLive, type LiveJob, type LiveOutcome } from './consent/live.js';

function args(argv: string[]) {
  const o = { folder: '', sets: 'natural,espeak', rate: 'both', lang: 'zh', concurrency: 24, json: false, out: '', overrides: {} as Record<string, unknown> };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => argv[++i] ?? '';
    if (a === '--sets') o.sets = v();
    else if (a === '--subset') o.sets = v().replace(/\/$/, '') === 'consent' ? 'espeak' : v().replace(/\/$/, '');
    else if (a === '--rate') o.rate = v();
    else if (a === '--lang') o.lang = v();
    else if (a === '--concurrency') o.concurrency = Number(v());
    else if (a === '--json') o.json = true;
    else if (a === '--out') o.out = v();
    else if (a === '--set') setPath(o.overrides, v());
    else if (!a.startsWith('--')) o.folder = a;
    else throw new Error(`unknown option ${a}`);
  }
  if (!o.folder) throw new Error('usage: eval-consent <folder with labels.jsonl> [--sets natural,espeak] [--rate 16k|8k|both] [--set asr.hotwordBoost=2] [--concurrency N] [--json] [--out FILE]');
  if (!['16k', '8k', 'both'].includes(o.rate)) throw new Error('--rate must be 16k, 8k or both');
  if (!(o.concurrency >= 1)) throw new Error('--concurrency must be a positive number');
  for (const s of o.sets.split(',')) if (s !== 'natural' && s !== 'espeak') throw new Error(`--sets: "${s}" is neither natural nor espeak`);
  return o;
}

/** `consent.secondOpinion=shifted` → { consent: { secondOpinion: 'shifted' } } (numbers and booleans parsed). */
function setPath(into: Record<string, unknown>, kv: string): void {
  const eq = kv.indexOf('=');
  if (eq < 0) throw new Error(`--set ${kv}: expected key.path=value`);
  const keys = kv.slice(0, eq).split('.');
  const raw = kv.slice(eq + 1);
  const value: unknown = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
  let node = into;
  for (const k of keys.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
  node[keys[keys.length - 1]!] = value;
}

async function main(): Promise<void> {
  const o = args(process.argv.slice(2));
  const root = resolve(o.folder);
  const items = consentItems(root, { sets: o.sets.split(',') as ConsentSet[], lang: o.lang as 'zh' | 'en' });
  if (!items.length) throw new Error('no items match');
  const rates: Rate[] = o.rate === 'both' ? [...RATES] : [o.rate as Rate];
  // The gateway's per-call log lines would bury the report: keep errors only unless asked otherwise.
  rootLogger.level = process.env.EARSHOT_LOG_LEVEL ?? 'error';
  const gw = await createGateway({ port: 0, host: '127.0.0.1', dataDir: mkdtempSync(join(tmpdir(), 'earshot-eval-')), ...o.overrides }, process.env);
  const { port } = await gw.start();
  if (!gw.commands.expectConsent) throw new Error(`no recogniser available for ${o.lang} (model ${gw.config.asr.model || 'none'})`);
  const url = `ws://127.0.0.1:${port}/v1/stream`;
  // Two answers first, unmeasured: the workers' first decodes pay for warming up.
  await runLive(items.slice(0, 2).map((item) => ({ item, rate: rates[0]! })), { url, dir: root, concurrency: 2, callIdPrefix: 'warmup' });
  const consent = gw.plugins.find((p) => p.name === 'consent') as ConsentFeature | undefined;
  const before = consent?.pool?.stats();
  const jobs: LiveJob[] = items.flatMap((item) => rates.map((rate) => ({ item, rate })));
  const outcomes = await runLive(jobs, {
    url, dir: root, concurrency: o.concurrency, staggerMs: 2000,
    onOutcome: (_x, n) => { if (!o.json) process.stderr.write(`\r${n}/${jobs.length}`); },
  });
  const after = consent?.pool?.stats();
  await gw.stop(0);
  if (!o.json) process.stderr.write('\n');

  const cpu = before && after && after.audioMs > before.audioMs ? ((after.cpuMs - before.cpuMs) / (after.audioMs - before.audioMs)) * 1000 : null;
  const groups = (set: ConsentSet, rate: Rate) => outcomes.filter((x) => x.item.set === set && x.rate === rate);
  const result = {
    folder: root,
    rates,
    config: { asr: gw.config.asr, consent: gw.config.consent },
    engine: after?.engine ?? null,
    recogniserCpuMsPerAudioSecond: cpu === null ? null : Math.round(cpu * 10) / 10,
    sets: Object.fromEntries(
      o.sets.split(',').map((set) => [
        set,
        Object.fromEntries(
          rates.map((rate) => {
            const t = tally(groups(set as ConsentSet, rate));
            return [rate, { perClass: t.perClass, falseGrants: t.falseGrantItems.map(describe), latencyMs: { p50: pct(t.latency, 50), p95: pct(t.latency, 95), n: t.latency.length } }];
          }),
        ),
      ]),
    ),
    outcomes: outcomes.map((x) => ({ file: x.item.label.file, speaker: x.item.speaker, source: x.item.source, rate: x.rate, expected: x.item.expected, decided: x.decision, latencyMs: x.latencyMs, confidence: x.confidence, transcript: x.transcript, reason: x.reason })),
  };
  if (o.out) writeFileSync(o.out, JSON.stringify(result, null, 2));
  if (o.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  const lines = [`\n${root} — ${result.engine}`, `recogniser CPU: ${result.recogniserCpuMsPerAudioSecond} ms per second of audio (inside consent windows only)`];
  for (const set of o.sets.split(',') as ConsentSet[]) {
    for (const rate of rates) {
      const t = tally(groups(set, rate));
      lines.push(`${set.padEnd(7)} ${rate.padEnd(3)} ${fmtTally(t)}`);
      for (const f of t.falseGrantItems) lines.push(`   FALSE GRANT ${describe(f)}`);
    }
  }
  const natural = outcomes.filter((x) => x.item.set === 'natural');
  if (natural.length) {
    lines.push('natural, per source:');
    for (const source of [...new Set(natural.map((x) => x.item.source))].sort()) {
      for (const rate of rates) lines.push(`  ${source.padEnd(28)} ${rate.padEnd(3)} ${fmtTally(tally(natural.filter((x) => x.item.source === source && x.rate === rate)), false)}`);
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
}

function describe(x: { item: LiveOutcome['item']; rate: Rate } & Partial<LiveOutcome>): string {
  return `${x.item.label.file} @${x.rate} "${x.item.label.text}" heard "${x.transcript ?? ''}" (${x.reason ?? ''})`;
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`eval-consent: ${e.stack ?? e.message}\n`);
    process.exit(2);
  },
);
