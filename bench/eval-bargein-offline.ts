// Barge-in accuracy faster than real time, for tuning (bench/bargein/offline.ts says what it shares with a real call
// and what it leaves out). Frames are extracted once per corpus, split and rate into .cache/bargein-frames/ and
// policies replayed over them; the same scoring and tables as `npm run eval:bargein`.
//
// Usage: npm run eval:bargein:offline -- [<folder> | --generated] [--split tune|test|all] [--rate 16k|8k|both]
//          [--policy base|frame] [--dump FILE]
// Report on the test half from the real-time eval, not from here.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadConfig, type Config } from '../gateway/config.js';
import { isResolved, PROJECT_ROOT, resolveModel } from '../gateway/models.js';
import { SileroOrt } from '../gateway/listen/vad/SileroOrt.js';
import { loadScenarioLabels, type ScenarioLabel } from './bargein/labels.js';
import { basePolicy, extractFrames, replay, type FramePolicy, type ScenarioFrames } from './bargein/offline.js';
import { criteriaText, textTable } from './bargein/report.js';
import { byCondition, byKind, criteria, score, type Outcome } from './bargein/score.js';
import { ensureCorpus } from './corpus/build.js';

export const FRAMES_CACHE = join(PROJECT_ROOT, '.cache', 'bargein-frames');

/** Frames of every scenario of `items` at `rate`, from the cache or extracted now (and cached). */
export async function framesFor(folder: string, items: ScenarioLabel[], rate: 8000 | 16000, cfg: Config, tag: string): Promise<Map<string, ScenarioFrames>> {
  mkdirSync(FRAMES_CACHE, { recursive: true });
  const file = join(FRAMES_CACHE, `${basename(folder)}-${tag}-${rate}.json`);
  if (existsSync(file)) {
    const all = JSON.parse(readFileSync(file, 'utf8')) as ScenarioFrames[];
    return new Map(all.map((s) => [s.id, s]));
  }
  const m = resolveModel('silero-vad-v5', cfg.modelsDir);
  if (!isResolved(m)) throw new Error('silero-vad-v5 not found: npm run models');
  const vad = await SileroOrt.load(m.files.model, 1, cfg.vad.graph);
  const out: ScenarioFrames[] = [];
  let k = 0;
  for (const l of items) {
    out.push(await extractFrames(folder, l, rate, cfg.echo, vad, 1));
    process.stderr.write(`\rframes ${rate}: ${++k}/${items.length}`);
  }
  process.stderr.write('\n');
  writeFileSync(file, JSON.stringify(out));
  return new Map(out.map((s) => [s.id, s]));
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
  let policy = 'base';
  let tables = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--generated') folder = await ensureCorpus(1);
    else if (a === '--split') split = argv[++i];
    else if (a === '--rate') {
      const r = argv[++i];
      rates = r === 'both' ? [16000, 8000] : [r === '8k' ? 8000 : 16000];
    } else if (a === '--policy') policy = argv[++i];
    else if (a === '--brief') tables = false;
    else if (!a.startsWith('--')) folder = resolve(a);
    else throw new Error(`unknown option ${a}`);
  }
  if (!folder) folder = await ensureCorpus(1);
  const cfg = loadConfig(process.env, { port: 0 });
  const items = loadScenarioLabels(folder).filter((l) => split === 'all' || !l.split || l.split === split);
  for (const rate of rates) {
    const frames = await framesFor(folder, items, rate, cfg, split);
    const make = policies(cfg)[policy];
    if (!make) throw new Error(`unknown policy ${policy}`);
    const os = evaluate(items, frames, make);
    process.stdout.write(`\n=== offline ${rate / 1000}k, ${split} (${os.length} scenarios), policy ${policy}\n${criteriaText(criteria(os))}\n`);
    if (tables) process.stdout.write(`${textTable('per kind', byKind(os))}\n\n${textTable('per condition', byCondition(os))}\n`);
  }
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
