// Barge-in accuracy faster than real time, for tuning (bench/bargein/offline.ts says what it shares with a real call
// and what it leaves out). Frames are extracted once per corpus, split and rate into .cache/bargein-frames/ and
// policies replayed over them; the same scoring and tables as `npm run eval:bargein`.
//
// Usage: npm run eval:bargein:offline -- [<folder> | --generated] [--split tune|test|all] [--rate 16k|8k|both]
//          [--policy base|content[:k=v,…]|nearend…|interrupt…] [--filter KEY=V,…] [--out FILE.json]
// The gateway's default since 2026-12-07 is `--policy content:interrupt=1` (content decisions with the interruption
// classifier); `base` is the duration rule alone. Report on the test half from the real-time eval, not from here.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadConfig, type Config } from '../gateway/config.js';
import { onAtRate } from '../gateway/perRate.js';
import { isResolved, PROJECT_ROOT, resolveModel } from '../gateway/models.js';
import { SileroOrt } from '../gateway/listen/vad/SileroOrt.js';
import { loadScenarioLabels, type ScenarioLabel } from './bargein/labels.js';
import { basePolicy, extractFrames, nearEndDefaults, nearEndPolicy, replay, type FramePolicy, type ScenarioFrames } from './bargein/offline.js';
import { NearEndModel } from '../gateway/listen/nearEnd/NearEndModel.js';
import { DEFAULT_WEIGHTS } from './bargein/train-near-end.js';
import { InterruptionModel } from '../gateway/listen/nearEnd/InterruptionModel.js';
import { N_INTERRUPTION_FEATURES } from '../gateway/listen/nearEnd/InterruptionFeatures.js';
import { DEFAULT_INTERRUPTION_WEIGHTS, interruptPolicy, scenarioInputs, type InterruptThresholds } from './bargein/train-interruption.js';
import { criteriaText, textTable } from './bargein/report.js';
import { byCondition, byKind, criteria, score, type Outcome } from './bargein/score.js';
import { ensureCorpus } from './corpus/build.js';
import { filterScreening } from '../gateway/listen/echo/BlockFilter.js';
import { InterruptionLexicon } from '../gateway/listen/interruption/InterruptionLexicon.js';
import type { TokenType } from '../gateway/listen/consent/index.js';
import { framesKey, looksKey } from './bargein/cacheKey.js';
import { contentPolicy, LookDecoder, residualOf, type ContentReplayOptions } from './bargein/contentReplay.js';
import { applyClassifier } from '../gateway/listen/nearEnd/classifierFrame.js';

export const FRAMES_CACHE = join(PROJECT_ROOT, '.cache', 'bargein-frames');

/** Frames of every scenario of `items` at `rate`, from the cache or extracted now (and cached). */
export async function framesFor(folder: string, items: ScenarioLabel[], rate: 8000 | 16000, cfg: Config, tag: string, withBands = false): Promise<Map<string, ScenarioFrames>> {
  mkdirSync(FRAMES_CACHE, { recursive: true });
  // `.spec2`: since the canceller's telephone-band spectral and coherence sums (bres … cohde); older caches lack them.
  // `.bands`: with each frame's band energies (the interruption classifier's input), in a file of their own.
  // `.robust`: frames of the canceller with `echo.robustFilter` (EARSHOT_CONFIG), which are not the default's.
  // The last part: the code and settings that extracted them (bench/bargein/cacheKey.ts).
  const file = join(FRAMES_CACHE, `${basename(folder)}-${tag}${onAtRate(cfg.echo.robustFilter, rate) ? '.robust' : ''}-${rate}.spec2${withBands ? '.bands' : ''}.${framesKey({ echo: cfg.echo, vad: cfg.vad })}.json`);
  if (existsSync(file)) {
    const all = JSON.parse(readFileSync(file, 'utf8')) as ScenarioFrames[];
    // Frames cached before a column existed are extracted again rather than read as all zeros.
    if (all.every((s) => s.cols.tone?.length === s.n && s.cols.incoh?.length === s.n && s.cols.fit?.length === s.n && (!withBands || s.bands?.length))) return new Map(all.map((s) => [s.id, s]));
    process.stderr.write(`${file}: cached before the spectral columns, extracting again\n`);
  }
  const m = resolveModel('silero-vad-v5', cfg.modelsDir);
  if (!isResolved(m)) throw new Error('silero-vad-v5 not found: npm run models');
  const vad = await SileroOrt.load(m.files.model, 1, cfg.vad.graph);
  const out: ScenarioFrames[] = [];
  let k = 0;
  for (const l of items) {
    out.push(await extractFrames(folder, l, rate, cfg.echo, vad, 1, withBands));
    process.stderr.write(`\rframes ${rate}: ${++k}/${items.length}`);
  }
  process.stderr.write('\n');
  writeFileSync(file, JSON.stringify(out));
  return new Map(out.map((s) => [s.id, s]));
}

/**
 * `--filter mu=0.3,leakK=2,dtScale=0.05,vss=1`: the echo filter's constants overridden for screening (frames are
 * extracted again, into their own cache file); returns that file's tag ('' for the filter as it ships).
 */
export function applyFilterTuning(spec: string): string {
  const kv = spec.split(',').filter(Boolean).map((x) => x.split('='));
  for (const [k, v] of kv) {
    if (!(k in filterScreening)) throw new Error(`--filter: unknown key ${k} (${Object.keys(filterScreening).join(', ')})`);
    (filterScreening as Record<string, number>)[k] = Number(v);
  }
  return kv.length ? `.f-${kv.map(([k, v]) => `${k}${v}`).join('-')}` : '';
}

export const scenarioId = (l: ScenarioLabel) => String(l.id ?? l.file.replace(/\.wav$/, ''));

export function evaluate(items: ScenarioLabel[], frames: Map<string, ScenarioFrames>, make: () => FramePolicy): Outcome[] {
  return items.map((l) => score(l, replay(frames.get(scenarioId(l))!, (l.promptDurationMs as number | undefined) ?? Infinity, make())));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2).filter((a) => a !== '--');
  let folder = '';
  let split = 'tune';
  let rates: (8000 | 16000)[] = [16000];
  const specs: string[] = [];
  let tables = true;
  let tag = '';
  let out = '';
  const sections: { title: string; outcomes: Outcome[] }[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--generated') folder = await ensureCorpus(1);
    else if (a === '--split') split = argv[++i];
    else if (a === '--rate') {
      const r = argv[++i];
      rates = r === 'both' ? [16000, 8000] : [r === '8k' ? 8000 : 16000];
    } else if (a === '--policy') specs.push(...argv[++i].split(';').filter(Boolean));
    else if (a === '--brief') tables = false;
    else if (a === '--filter') tag = applyFilterTuning(argv[++i]);
    else if (a === '--out') out = resolve(argv[++i]);
    else if (!a.startsWith('--')) folder = resolve(a);
    else throw new Error(`unknown option ${a}`);
  }
  if (!folder) folder = await ensureCorpus(1);
  const cfg = loadConfig(process.env, { port: 0 });
  const items = loadScenarioLabels(folder).filter((l) => split === 'all' || !l.split || l.split === split);
  for (const rate of rates) {
    // The interruption classifier reads band energies: frames extracted with them (a cache of their own).
    const frames = await framesFor(folder, items, rate, cfg, `${split}${tag}`, specs.some((s) => s.startsWith('interrupt') || s.includes('interrupt=1')));
    let looks: ReturnType<typeof lookSource> | null = null;
    for (const spec of specs.length ? specs : ['base']) {
      if (spec.startsWith('content')) looks ??= lookSource(folder, items, rate, cfg, `${split}${tag}`);
      const os = evaluate(items, frames, spec.startsWith('content') ? contentMaker(cfg, spec, looks!) : makePolicy(cfg, spec));
      looks?.decoder.save();
      sections.push({ title: `${rate / 1000}k ${split} (${os.length} scenarios, offline) ${spec}`, outcomes: os });
      if (tables) {
        process.stdout.write(`\n=== offline ${rate / 1000}k, ${split} (${os.length} scenarios), policy ${spec}\n${criteriaText(criteria(os))}\n`);
        process.stdout.write(`${textTable('per kind', byKind(os))}\n\n${textTable('per condition', byCondition(os))}\n`);
      } else process.stdout.write(`${rate / 1000}k ${split} ${summaryLine(os)}  ${spec}\n`);
    }
  }
  // Each policy's outcomes per scenario, in the real-time eval's result.json shape (sections of outcomes).
  if (out) writeFileSync(out, JSON.stringify({ sections }));
}

/** The residual each scenario's looks are cut from (computed when first asked for) and the cached recogniser. */
function lookSource(folder: string, items: ScenarioLabel[], rate: 8000 | 16000, cfg: Config, tag: string) {
  const byId = new Map(items.map((l) => [scenarioId(l), l]));
  const residuals = new Map<string, Float32Array>();
  const decoder = new LookDecoder(cfg, join(FRAMES_CACHE, `${basename(folder)}-${tag}${onAtRate(cfg.echo.robustFilter, rate) ? '.robust' : ''}-${rate}.looks.${looksKey({ echo: cfg.echo, vad: cfg.vad, asr: cfg.asr })}.json`));
  const residual = (s: ScenarioFrames) => {
    let x = residuals.get(s.id);
    if (!x) residuals.set(s.id, (x = residualOf(folder, byId.get(s.id)!, rate, cfg.echo)));
    return x;
  };
  return { decoder, residual };
}

/**
 * `content[:key=value,…]`: content decisions (bargeIn.content) with looks decoded here (bench/bargein/contentReplay.ts);
 * keys: any bargeIn.content number (minSpeechMs, unsureMaxMs, firstAtMs, everyMs, …), `lagMs` (32), `lexicon` (an
 * interruption lexicon file), `interrupt=1` (with the interruption classifier, as the gateway's default; then also
 * its `mode`, `pauseThreshold`, `silenceThreshold`, `commitMinSpeechMs`, `weights`).
 */
function contentMaker(cfg: Config, spec: string, looks: ReturnType<typeof lookSource>): () => FramePolicy {
  const [, rest = ''] = spec.split(':');
  const kv = Object.fromEntries(rest.split(',').filter(Boolean).map((x) => x.split('='))) as Record<string, string>;
  const c = { ...cfg.bargeIn.content } as Record<string, unknown>;
  const own = new Set(['lexicon', 'lagMs', 'interrupt', 'mode', 'pauseThreshold', 'silenceThreshold', 'commitMinSpeechMs', 'weights']);
  for (const [k, v] of Object.entries(kv)) if (!own.has(k)) c[k] = Number(v);
  const cc = c as typeof cfg.bargeIn.content;
  const r = resolveModel(cfg.asr.model, cfg.modelsDir);
  if (!isResolved(r)) throw new Error(`recogniser ${cfg.asr.model} not found`);
  const lex = InterruptionLexicon.load((r.entry.language ?? 'zh') as 'zh' | 'en', (r.entry.tokenType ?? 'char') as TokenType, kv.lexicon ?? cc.lexiconFile);
  const o: ContentReplayOptions = { rules: cc, preRollMs: cc.preRollMs, firstAtMs: cc.firstAtMs, everyMs: cc.everyMs, maxMs: cc.maxMs, lagMs: kv.lagMs !== undefined ? Number(kv.lagMs) : 32 };
  if (kv.interrupt === '1') {
    // With the interruption classifier as Call runs it (bargeIn.interruption, its keys overridable here).
    const { th, probs } = interruptionScoring(cfg, kv);
    const use = { kind: 'interruption', mode: th.mode, pauseThreshold: th.pauseThreshold, silenceThreshold: th.silenceThreshold } as const;
    o.commitMinSpeechMs = th.commitMinSpeechMs;
    o.evidence = (s, i, e, interruptible, paused) => applyClassifier(e, probs(s)[i]!, use, interruptible, paused, cfg.bargeIn);
  }
  return () => contentPolicy(cfg, o, lex, looks.decoder, looks.residual);
}

/**
 * `base` (the duration rule: what a call without content decisions or a classifier decides) or `nearend[:key=value,…]`: the near-end classifier's probability through BargeInPolicy in
 * place of the VAD's (keys: any bargeIn threshold, `weights` = a weights file).
 */
export function makePolicy(cfg: Config, spec: string): () => FramePolicy {
  const [name, rest = ''] = spec.split(':');
  const kv = Object.fromEntries(rest.split(',').filter(Boolean).map((x) => x.split('=')));
  if (name === 'base') {
    // `rejectDtmf=0|1` is the worker's (vad.rejectDtmf); every other key a bargeIn threshold.
    const { rejectDtmf, ...rest } = kv as Record<string, string>;
    const bi = { ...cfg.bargeIn, ...Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, Number(v)])) };
    const vad = rejectDtmf === undefined ? cfg.vad : { ...cfg.vad, rejectDtmf: rejectDtmf === '1' };
    return () => basePolicy({ ...cfg, vad, bargeIn: bi });
  }
  if (name === 'nearend') {
    const ne = cfg.bargeIn.nearEnd;
    const model = NearEndModel.load(kv.weights ?? (ne.weights || DEFAULT_WEIGHTS));
    // What Call does with bargeIn.nearEnd, each key overridable from the spec.
    const opts = { ...cfg.bargeIn, pauseThreshold: ne.pauseThreshold, silenceThreshold: ne.silenceThreshold, commitMinSpeechMs: ne.commitMinSpeechMs, ...nearEndDefaults(cfg) };
    for (const [k, v] of Object.entries(kv)) if (k !== 'weights' && k !== 'mode' && k !== 'overFloorDb') (opts as Record<string, unknown>)[k] = Number(v);
    const mode = (kv.mode ?? ne.mode) === 'replace' ? 'replace' : 'veto';
    return () => nearEndPolicy(model, opts, mode, kv.overFloorDb !== undefined ? Number(kv.overFloorDb) : -Infinity);
  }
  if (name === 'interrupt') {
    // `interrupt[:pauseThreshold=…,silenceThreshold=…,commitMinSpeechMs=…,weights=FILE]`: bargeIn.interruption.
    const { th, probs } = interruptionScoring(cfg, kv);
    return () => interruptPolicy(cfg, th, probs);
  }
  throw new Error(`unknown policy ${spec}`);
}

/**
 * The interruption classifier as bargeIn.interruption configures it, each key overridable from a policy spec (`mode`,
 * `pauseThreshold`, `silenceThreshold`, `commitMinSpeechMs`, `weights`), and its score per frame of a scenario (scored
 * once per scenario: policies replay the same frames again and again).
 */
function interruptionScoring(cfg: Config, kv: Record<string, string>): { th: InterruptThresholds; probs: (s: ScenarioFrames) => Float64Array } {
  const it = cfg.bargeIn.interruption;
  const model = InterruptionModel.load(kv.weights ?? (it.weights || DEFAULT_INTERRUPTION_WEIGHTS));
  const num = (k: 'pauseThreshold' | 'silenceThreshold' | 'commitMinSpeechMs') => (kv[k] !== undefined ? Number(kv[k]) : it[k]);
  const th: InterruptThresholds = { mode: (kv.mode ?? it.mode) as InterruptThresholds['mode'], pauseThreshold: num('pauseThreshold'), silenceThreshold: num('silenceThreshold'), commitMinSpeechMs: num('commitMinSpeechMs') };
  const scored = new Map<string, Float64Array>();
  const probs = (s: ScenarioFrames) => {
    let q = scored.get(s.id);
    if (!q) {
      const X = scenarioInputs(s);
      scored.set(s.id, (q = Float64Array.from({ length: s.n }, (_, i) => model.score(X.subarray(i * N_INTERRUPTION_FEATURES, (i + 1) * N_INTERRUPTION_FEATURES)))));
    }
    return q;
  };
  return { th, probs };
}

/** The issue's criteria in one line: pause ≤ 150, commit ≤ 500, false commits, false pauses, backchannels resumed. */
export function summaryLine(os: Outcome[]): string {
  const c = criteria(os).map((x) => x.measured.replace(/ \(target.*$/, ''));
  const short = (m: string) => m.replace(/^([\d.]+) % \((\d+)\/(\d+)\)$/, '$1% $2/$3');
  return `P≤150 ${short(c[0])} | C≤500 ${short(c[1])} | falseC ${short(c[2])} | falseP ${short(c[3])} | bc resumed ${short(c[4])}`;
}

export function policies(cfg: Config): Record<string, () => FramePolicy> {
  return { base: () => basePolicy(cfg) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (e: Error) => {
      process.stderr.write(`eval:bargein:offline: ${e.stack}\n`);
      process.exit(2);
    },
  );
}
