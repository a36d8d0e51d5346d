// Consent accuracy of the whole gateway on a labelled corpus. Each consent item is streamed at real time over the
// native WebSocket into an in-process gateway (`expect_consent`, then the answer, then silence until the decision),
// so what is measured is exactly what a call gets: VAD, end-of-speech, recogniser (or keyword spotter), classifier
// and the safety rules of ConsentSession. Items run concurrently (real time per call, not per corpus).
//
// Prints the confusion matrix, per-class precision/recall, the count of false `granted` (the safety number),
// decision latency after the labelled speech end (inbound-audio ms: consent.t − speechEndMs, p50/p95) and the
// recogniser's CPU per second of audio.
//
// Usage: `earshot eval consent --help` (or npm run eval:consent -- --help).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { encode, type Encoding } from '../gateway/audio/codec.js';
import { readWav } from '../gateway/audio/wav.js';
import { createGateway } from '../gateway/app.js';
import type { ConsentFeature } from '../gateway/features/consent.js';
import { helpText, intOption, parseCommandLine, UsageError, type CommandSpec } from '../gateway/ops/commandLine.js';
import { rootLogger } from '../gateway/ops/log.js';
import { readLabels, type Label } from './scenarios.js';

type Decision = 'granted' | 'refused' | 'unclear';
interface Outcome {
  label: Label;
  decided: Decision | 'none';
  latencyMs: number | null;
  transcript: string;
}

export const EVAL_CONSENT_COMMAND = {
  usage: 'earshot eval consent',
  summary: 'Consent accuracy of the whole gateway on a labelled corpus: each item streamed at real time into an in-process gateway. Also `npm run eval:consent -- …`. Exit 0 done, 2 usage or setup error.',
  args: [{ name: 'folder', help: 'a corpus with labels.jsonl (e.g. ../shared/audio)', required: true }],
  options: {
    kind: { type: 'string', value: 'KIND', help: 'label kind to evaluate (default consent)' },
    rate: { type: 'string', choices: ['16k', '8k'], help: 'pcm16 16 kHz files, or their μ-law 8 kHz twins (default 16k)' },
    model: { type: 'string', value: 'ID', help: 'recogniser model id (default: the configuration’s)' },
    mode: { type: 'string', choices: ['recognizer', 'kws'], help: 'recogniser or keyword spotting (default: the configuration’s)' },
    subset: { type: 'string', value: 'PREFIX', help: 'only items whose file starts with this (natural/, consent/, …)' },
    lang: { type: 'string', choices: ['zh', 'en'], help: 'language of the items (default zh)' },
    concurrency: { type: 'string', value: 'N', help: 'items streamed at once (default 24)' },
    json: { type: 'boolean', help: 'the result as JSON' },
  },
} as const satisfies CommandSpec;

function args(argv: string[]) {
  const r = parseCommandLine(EVAL_CONSENT_COMMAND, argv);
  const v = r.values;
  return {
    help: r.help,
    folder: r.args[0] ?? '',
    kind: v.kind ?? 'consent',
    rate: v.rate ?? '16k',
    model: v.model ?? '',
    mode: v.mode ?? '',
    subset: v.subset ?? '',
    lang: v.lang ?? 'zh',
    concurrency: intOption('concurrency', v.concurrency, 1, EVAL_CONSENT_COMMAND) ?? 24,
    json: !!v.json,
  };
}

function pct(xs: number[], p: number): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function runItem(url: string, root: string, l: Label, rate: string, n: number): Promise<Outcome> {
  const enc: Encoding = rate === '16k' ? 'pcm16' : 'mulaw';
  const clip = readWav(join(root, rate === '16k' ? l.file : l.twin8k));
  const ws = new WebSocket(url);
  await new Promise<void>((res, rej) => ws.once('open', () => res()).once('error', rej));
  let decision: { decision: Decision; t: number; transcript: string } | null = null;
  let ready!: () => void;
  const readyP = new Promise<void>((r) => (ready = r));
  ws.on('message', (d, bin) => {
    if (bin) return;
    const e = JSON.parse(String(d));
    if (e.type === 'ready') ready();
    if (e.type === 'consent') decision = { decision: e.decision, t: e.t, transcript: e.transcript };
  });
  ws.send(JSON.stringify({ type: 'start', callId: `eval-${n}`, language: l.lang ?? 'zh', callType: 'notification', audio: { encoding: enc, sampleRate: clip.sampleRate } }));
  await readyP;
  ws.send(JSON.stringify({ type: 'expect_consent', promptId: 'eval' }));
  const step = clip.sampleRate / 50;
  const audio = new Int16Array(clip.samples.length + clip.sampleRate * 3); // the answer, then up to 3 s of line silence
  audio.set(clip.samples);
  const t0 = performance.now();
  for (let i = 0, k = 0; i < audio.length && !decision; i += step, k++) {
    ws.send(encode(enc, audio.subarray(i, i + step)));
    const wait = t0 + (k + 1) * 20 - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  }
  for (let i = 0; i < 50 && !decision; i++) await new Promise((r) => setTimeout(r, 20));
  ws.close();
  const d = decision as { decision: Decision; t: number; transcript: string } | null;
  return { label: l, decided: d?.decision ?? 'none', latencyMs: d ? d.t - (l.speechEndMs ?? 0) : null, transcript: d?.transcript ?? '' };
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

async function evaluate(o: ReturnType<typeof args>): Promise<void> {
  const root = resolve(o.folder);
  const all = readLabels(root);
  const items = all.filter((l) => l.kind === o.kind && l.expected && l.lang === o.lang && (!o.subset || l.file.startsWith(o.subset)));
  if (!items.length) throw new Error('no items match');
  // A daytime policy clock: the clips are calls without a callee, which the policy refuses at night.
  const overrides: Record<string, unknown> = { port: 0, host: '127.0.0.1', dataDir: mkdtempSync(join(tmpdir(), 'earshot-eval-')), policy: { clock: 'fixed:2026-01-14T02:00:00Z' } };
  const asr: Record<string, unknown> = {};
  if (o.model) asr.model = o.model;
  if (o.mode) asr.mode = o.mode;
  if (Object.keys(asr).length) overrides.asr = asr;
  // The gateway's per-call log lines would bury the report: keep errors only unless asked otherwise.
  rootLogger.level = process.env.EARSHOT_LOG_LEVEL ?? 'error';
  const gw = await createGateway(overrides, process.env);
  const { port } = await gw.start();
  if (!gw.commands.expectConsent) throw new Error(`no recogniser available for ${o.lang} (model ${gw.config.asr.model || 'none'})`);
  const url = `ws://127.0.0.1:${port}/v1/stream`;
  const outcomes: Outcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        outcomes.push(await runItem(url, root, items[i], o.rate, i));
        if (!o.json) process.stderr.write(`\r${outcomes.length}/${items.length}`);
      }
    }),
  );
  const consent = gw.plugins.find((p) => p.name === 'consent') as ConsentFeature | undefined;
  const asrStats = consent?.pool?.stats();
  await gw.stop(0);

  const classes: Decision[] = ['granted', 'refused', 'unclear'];
  const cols = [...classes, 'none'] as const;
  const matrix: Record<string, Record<string, number>> = {};
  for (const c of classes) matrix[c] = Object.fromEntries(cols.map((k) => [k, 0]));
  for (const x of outcomes) matrix[x.label.expected!][x.decided]++;
  const perClass = Object.fromEntries(
    classes.map((c) => {
      const tp = matrix[c][c];
      const predicted = classes.reduce((n, e) => n + matrix[e][c], 0);
      const actual = cols.reduce((n, k) => n + matrix[c][k], 0);
      return [c, { precision: predicted ? tp / predicted : null, recall: actual ? tp / actual : null, n: actual }];
    }),
  );
  const falseGranted = outcomes.filter((x) => x.label.expected !== 'granted' && x.decided === 'granted');
  const lat = outcomes.filter((x) => x.latencyMs !== null).map((x) => x.latencyMs!);
  const result = {
    folder: root,
    subset: o.subset || null,
    rate: o.rate,
    model: gw.config.asr.model,
    mode: gw.config.asr.mode,
    items: outcomes.length,
    accuracy: outcomes.filter((x) => x.decided === x.label.expected).length / outcomes.length,
    confusion: matrix,
    perClass,
    falseGranted: falseGranted.length,
    falseGrantedItems: falseGranted.map((x) => ({ file: x.label.file, text: x.label.text, heard: x.transcript })),
    undecided: outcomes.filter((x) => x.decided === 'none').length,
    latencyMs: { p50: pct(lat, 50), p95: pct(lat, 95), within500: lat.filter((x) => x <= 500).length / outcomes.length },
    recogniserCpuMsPerAudioSecond: asrStats ? Math.round(asrStats.cpuMsPerAudioSec * 10) / 10 : null,
  };
  if (o.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  const pctf = (v: number | null) => (v === null ? '  –  ' : `${(v * 100).toFixed(1)}%`);
  const lines = [
    `\n${root}${o.subset ? ` [${o.subset}]` : ''} @ ${o.rate}, model ${result.model} (${result.mode}), ${result.items} items`,
    `expected \\ decided   ${cols.map((c) => c.padStart(8)).join('')}`,
    ...classes.map((c) => `${c.padEnd(20)} ${cols.map((k) => String(matrix[c][k]).padStart(8)).join('')}`),
    ...classes.map((c) => `${c.padEnd(8)} precision ${pctf(perClass[c].precision)}  recall ${pctf(perClass[c].recall)}  (n=${perClass[c].n})`),
    `accuracy ${pctf(result.accuracy)}; FALSE GRANTED: ${result.falseGranted}; undecided: ${result.undecided}`,
    `decision latency after speech end: p50 ${result.latencyMs.p50} ms, p95 ${result.latencyMs.p95} ms, ${pctf(result.latencyMs.within500)} within 500 ms`,
    `recogniser CPU: ${result.recogniserCpuMsPerAudioSecond} ms per second of audio per call`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // The in-process gateway's workers may outlive the report by a moment: exit with the code.
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
