// Barge-in accuracy of the whole gateway on any labelled corpus (docs/bargein-labels.schema.json): each scenario is
// one call over the chosen wire into an in-process gateway, its prompt played and the caller track streamed at real
// time from the prompt's first frame, calls run concurrently. Prints the issue's criteria and tables per kind and per
// condition (pause and commit p50/p95, misses, early and false pauses and commits, resumes, audio after the stop),
// and writes result.json, a self-contained report.html and report.md (the tables in Markdown).
//
// Usage: npm run eval:bargein -- <folder> | --generated [--seed N] [--count N]
//          [--rate 16k|8k|both] [--wire ws|twilio|audiosocket|grpc|jambonz|freeswitch|asterisk|exotel|telnyx|plivo] [--split tune|test|all] [--kind K] [--only id,…]
//          [--concurrency N] [--limit N] [--runs N] [--out DIR] [--json]
// Gateway settings: EARSHOT_CONFIG=<yaml> and EARSHOT_* as for `npm start`. EARSHOT_LOG_LEVEL=trace writes each VAD
// frame's probability and echo-gate figures (pino JSON, callId eval-<rate>-<scenario id>) to stdout and the report
// to stderr: `EARSHOT_LOG_LEVEL=trace npm run eval:bargein -- DIR --only test/s0401 > trace.jsonl`.
// `--runs N` runs the corpus N times on the same gateway: the tables are the first run's, and each criterion's figure
// per run and the scenarios whose verdict changed are printed after them (bench/bargein/spread.ts), and kept in
// result.json (`runs`, `spread`).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createGateway } from '../gateway/app.js';
import { rootLogger } from '../gateway/ops/log.js';
import { loadScenarioLabels, type ScenarioLabel } from './bargein/labels.js';
import { criteriaText, LEGEND, renderHtml, renderMarkdown, textTable, type RunSection } from './bargein/report.js';
import { evalCallId, loadScenarioAudio, runScenarioCall } from './bargein/runCall.js';
import { byCondition, byKind, criteria, score, type Outcome } from './bargein/score.js';
import { spreadOf, spreadText } from './bargein/spread.js';
import { ensureCorpus } from './corpus/build.js';
import { DEFAULT_COUNT } from './corpus/plan.js';
import { Pacer } from './pacer.js';
import { wireAudioFor } from './scenarios.js';
import { freePort } from './serverProcess.js';
import { getWire, wireTarget } from './wires/index.js';

const HELP = `usage: npm run eval:bargein -- <folder with labels.jsonl> | --generated [--seed N] [--count N]
  [--rate 16k|8k|both (16k)] [--wire ws|twilio|audiosocket|grpc|jambonz|freeswitch|asterisk|exotel|telnyx|plivo (ws)] [--split tune|test|all (all)] [--kind K] [--only id,id…]
  [--concurrency N (40)] [--limit N] [--runs N (1)] [--out DIR (bench/results/bargein-<time>)] [--json]`;
/** 10:00 in Asia/Shanghai: inside every calling window, so the policy check never refuses an eval call. */
const POLICY_CLOCK = 'fixed:2026-01-14T02:00:00Z';

interface Options {
  folder: string;
  generated: boolean;
  seed: number;
  count: number;
  rates: ('16k' | '8k')[];
  wire: string;
  split: 'tune' | 'test' | 'all';
  kind: string;
  only: string[];
  concurrency: number;
  limit: number;
  runs: number;
  out: string;
  json: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = { folder: '', generated: false, seed: 1, count: DEFAULT_COUNT, rates: ['16k'], wire: 'ws', split: 'all', kind: '', only: [], concurrency: 40, limit: 0, runs: 1, out: '', json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--generated') o.generated = true;
    else if (a === '--seed') o.seed = Number(v());
    else if (a === '--count') o.count = Number(v());
    else if (a === '--rate') {
      const r = v();
      if (!['16k', '8k', 'both'].includes(r)) throw new Error('--rate must be 16k, 8k or both');
      o.rates = r === 'both' ? ['16k', '8k'] : [r as '16k' | '8k'];
    } else if (a === '--wire') o.wire = v();
    else if (a === '--split') {
      const s = v();
      if (!['tune', 'test', 'all'].includes(s)) throw new Error('--split must be tune, test or all');
      o.split = s as Options['split'];
    } else if (a === '--kind') o.kind = v();
    else if (a === '--only') o.only = v().split(',').filter(Boolean);
    else if (a === '--concurrency') o.concurrency = Number(v());
    else if (a === '--limit') o.limit = Number(v());
    else if (a === '--runs') o.runs = Number(v());
    else if (a === '--out') o.out = v();
    else if (a === '--json') o.json = true;
    else if (a === '--help' || a === '-h') throw new Error(HELP);
    else if (!a.startsWith('--')) o.folder = a;
    else throw new Error(`unknown option ${a}\n${HELP}`);
  }
  if (!o.folder && !o.generated) throw new Error(HELP);
  if (!(o.concurrency >= 1)) throw new Error('--concurrency must be a positive number');
  if (o.wire === 'twilio' && o.rates.includes('16k')) throw new Error('--wire twilio carries 8 kHz μ-law only: pass --rate 8k');
  getWire(o.wire);
  return o;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2).filter((a) => a !== '--'));
  // With the gateway's per-frame traces on stdout (EARSHOT_LOG_LEVEL=trace|debug), the report goes to stderr.
  const logsOnStdout = ['trace', 'debug'].includes(process.env.EARSHOT_LOG_LEVEL ?? '');
  const log = (s: string) => (o.json || logsOnStdout ? process.stderr : process.stdout).write(s + '\n');
  const folder = o.generated ? await ensureCorpus(o.seed, o.count, (d, n) => process.stderr.write(`\rbuilding corpus ${d}/${n}`)) : resolve(o.folder);
  const all = loadScenarioLabels(folder);
  let items: ScenarioLabel[] = all.filter((l) => (o.split === 'all' || l.split === o.split) && (!o.kind || l.kind === o.kind) && (!o.only.length || o.only.includes(String(l.id ?? l.file.replace(/\.wav$/, '')))));
  if (o.split !== 'all' && !all.some((l) => l.split)) throw new Error(`--split ${o.split}: this corpus's labels have no split field`);
  if (o.limit > 0) items = items.slice(0, o.limit);
  if (!items.length) throw new Error('no scenarios match');
  if (!Number.isInteger(o.runs) || o.runs < 1 || o.runs > 20) throw new Error('--runs: a whole number from 1 to 20');

  rootLogger.level = process.env.EARSHOT_LOG_LEVEL ?? 'error';
  const ports = { grpc: o.wire === 'grpc' ? await freePort() : null, audiosocket: o.wire === 'audiosocket' ? await freePort() : null };
  const env = { ...process.env, EARSHOT_GRPC_PORT: String(ports.grpc ?? 0), EARSHOT_AUDIOSOCKET_PORT: String(ports.audiosocket ?? 0) };
  const gw = await createGateway({ port: 0, host: '127.0.0.1', dataDir: mkdtempSync(join(tmpdir(), 'earshot-eval-bargein-')), policy: { clock: POLICY_CLOCK } }, env);
  const { port } = await gw.start();
  const url = wireTarget(`ws://127.0.0.1:${port}`, ports);
  const wire = getWire(o.wire);
  /** One pass over the corpus at every rate: its sections (one per rate, or per rate and split). */
  const runOnce = async (tag: string): Promise<RunSection[]> => {
    const sections: RunSection[] = [];
    for (const rate of o.rates) {
      const audio = wireAudioFor(rate === '8k' ? 8000 : 16000);
      const pacer = new Pacer();
      const outcomes: Outcome[] = new Array(items.length);
      let next = 0;
      let done = 0;
      await Promise.all(
        Array.from({ length: Math.min(o.concurrency, items.length) }, async (_, w) => {
          // Calls start a little apart, as on a real trunk, rather than in the same millisecond.
          await new Promise((r) => setTimeout(r, w * 20));
          while (next < items.length) {
            const i = next++;
            const l = items[i];
            const frames = loadScenarioAudio(folder, l, audio);
            const rec = await runScenarioCall({ wire, url, token: process.env.EARSHOT_API_TOKEN ?? null, label: l, audio, frames, pacer, callId: evalCallId(l, rate) });
            outcomes[i] = score(l, rec);
            process.stderr.write(`\r${rate}${tag}: ${++done}/${items.length}`);
          }
        }),
      );
      pacer.stop();
      process.stderr.write('\n');
      const splits = o.split === 'all' && items.some((l) => l.split) ? ['tune', 'test'] : [null];
      for (const s of splits) {
        const os = s ? outcomes.filter((x) => x.split === s) : outcomes;
        if (!os.length) continue;
        const title = `${rate}${s ? `, ${s} half` : ''} (${os.length} scenarios, wire ${o.wire})`;
        sections.push({ title, outcomes: os, criteria: criteria(os), kinds: byKind(os), conditions: byCondition(os) });
      }
    }
    return sections;
  };
  const runSections: RunSection[][] = [];
  const t0 = Date.now();
  try {
    for (let run = 0; run < o.runs; run++) runSections.push(await runOnce(o.runs > 1 ? ` run ${run + 1}/${o.runs}` : ''));
  } finally {
    await gw.stop(0);
  }

  const out = o.out || join('bench', 'results', `bargein-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(out, { recursive: true });
  const meta = { corpus: folder, scenarios: items.length, rates: o.rates.join('+'), wire: o.wire, split: o.split, concurrency: o.concurrency, wallS: Math.round((Date.now() - t0) / 1000), when: new Date().toISOString() };
  // The tables are the first run's; further runs keep their criteria and outcomes, and the spread compares them all.
  const sections = runSections[0]!;
  const spread = o.runs > 1 ? sections.map((s, i) => ({ title: s.title, scenarios: s.outcomes.length, ...spreadOf(runSections.map((r) => r[i]!.outcomes)) })) : undefined;
  const result = {
    meta: { ...meta, runs: o.runs },
    sections: sections.map((s) => ({ title: s.title, criteria: s.criteria, kinds: s.kinds, conditions: s.conditions, outcomes: s.outcomes })),
    ...(spread ? { runs: runSections.slice(1).map((r) => r.map((s) => ({ title: s.title, criteria: s.criteria, outcomes: s.outcomes }))), spread } : {}),
  };
  writeFileSync(join(out, 'result.json'), JSON.stringify(result, null, 1) + '\n');
  writeFileSync(join(out, 'report.html'), renderHtml('earshot barge-in evaluation', meta, sections));
  writeFileSync(join(out, 'report.md'), renderMarkdown(sections));
  if (o.json) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    for (const s of sections) {
      log(`\n=== ${s.title}\n${criteriaText(s.criteria)}\n`);
      log(textTable('per kind', s.kinds));
      log('');
      log(textTable('per condition', s.conditions));
    }
    for (const sp of spread ?? []) log(`\n${spreadText(sp.title, sp, sp.scenarios)}`);
    log(`\n${LEGEND}`);
  }
  log(`\nwrote ${join(out, 'result.json')}, report.html and report.md`);
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`eval:bargein: ${e.message}\n`);
    process.exit(2);
  },
);
