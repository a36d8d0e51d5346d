// Builds a whole corpus into a folder: the prompts (copied), every scenario's two twins, labels.jsonl (the format of
// ../shared/audio, see docs/bargein-labels.schema.json) and corpus.json (what was built, from what, how long it
// took). Rendering is spread over `jobs` processes; each scenario depends only on the seed and its index, so the
// output is the same for any number of jobs.
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import wavefilePkg from 'wavefile';
import { int16ToFloat } from '../../gateway/audio/codec.js';
import { encodeWav, readWav } from '../../gateway/audio/wav.js';
import { PROJECT_ROOT } from '../../gateway/models.js';
import { readLabels } from '../scenarios.js';
import { DEFAULT_COUNT, GENERATOR_VERSION, plan } from './plan.js';
import { render, type PromptClip } from './render.js';
import { loadInventory, SPEAKER_SPLIT, type Inventory } from './sources.js';

const { WaveFile } = wavefilePkg as unknown as { WaveFile: typeof import('wavefile').WaveFile };

export const SHARED_AUDIO = resolve(PROJECT_ROOT, '..', 'shared', 'audio');
/** Generated corpora live here (gitignored), one folder per generator version, seed and size. */
export const CACHE_ROOT = join(PROJECT_ROOT, '.cache', 'bargein-corpus');

export interface BuildOptions {
  seed: number;
  count?: number;
  out: string;
  audioDir?: string;
  jobs?: number;
  /** Only these scenario indices (a sample: the rest of the plan is not rendered). */
  only?: number[];
  /** Called as scenarios are written (done, total). */
  progress?: (done: number, total: number) => void;
}

export interface CorpusManifest {
  generatorVersion: number;
  seed: number;
  count: number;
  builtAt: string;
  buildMs: number;
  jobs: number;
  speakers: Record<string, string[]>;
  counts: Record<string, Record<string, number>>;
  only?: number[];
}

export function loadPrompts(audioDir: string): Map<string, PromptClip> {
  const m = new Map<string, PromptClip>();
  for (const l of readLabels(audioDir).filter((x) => x.kind === 'bot_prompt')) {
    const id = l.file.split('/').pop()!.replace('.wav', '');
    m.set(id, {
      id, file: `prompts/${id}.wav`, twin8k: `prompts/8k/${id}.wav`, audio: int16ToFloat(readWav(join(audioDir, l.file)).samples),
      lang: (l.lang ?? 'zh') as 'zh' | 'en', text: l.text ?? '', speechOnsetMs: Number(l.promptSpeechOnsetMs), speechEndMs: Number(l.promptSpeechEndMs),
    });
  }
  return m;
}

function mulawWav(bytes: Uint8Array): Uint8Array {
  const w = new WaveFile();
  w.fromScratch(1, 8000, '8m', bytes);
  return w.toBuffer();
}

/** Renders and writes scenarios `indices` of the plan; returns their label lines. */
export async function renderRange(o: { seed: number; count: number; out: string; audioDir: string; indices: number[] }, inv?: Inventory, onDone?: () => void): Promise<Record<string, unknown>[]> {
  const inventory = inv ?? (await loadInventory(o.audioDir, join(CACHE_ROOT, 'voice-cache')));
  const prompts = loadPrompts(o.audioDir);
  const specs = plan(o.seed, o.count, inventory);
  const labels: Record<string, unknown>[] = [];
  for (const i of o.indices) {
    const r = render(specs[i], o.seed, prompts, inventory);
    const file = join(o.out, String(r.label.file));
    const twin = join(o.out, String(r.label.twin8k));
    mkdirSync(dirname(twin), { recursive: true });
    writeFileSync(file, encodeWav({ sampleRate: 16000, samples: r.pcm16 }));
    writeFileSync(twin, mulawWav(r.mulaw8));
    labels.push(r.label);
    onDone?.();
  }
  return labels;
}

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

export async function buildCorpus(o: BuildOptions): Promise<CorpusManifest> {
  const t0 = performance.now();
  const count = o.count ?? DEFAULT_COUNT;
  if (!(count >= 20)) throw new Error('--count must be at least 20');
  const audioDir = o.audioDir ?? SHARED_AUDIO;
  if (!existsSync(join(audioDir, 'labels.jsonl'))) throw new Error(`${audioDir}: no labels.jsonl (the shared audio corpus is needed to build scenarios)`);
  const all = o.only ? [...new Set(o.only)].sort((a, b) => a - b) : Array.from({ length: count }, (_, i) => i);
  if (all.some((i) => !(i >= 0 && i < count))) throw new Error(`scenario index out of range 0…${count - 1}`);
  // A process costs its own inventory load (~1 s): only worth it for a hundred scenarios or more.
  const jobs = Math.max(1, Math.min(o.jobs ?? cpus().length, 8, Math.ceil(all.length / 100)));
  mkdirSync(join(o.out, 'prompts', '8k'), { recursive: true });
  const prompts = loadPrompts(audioDir);
  for (const p of prompts.values()) {
    copyFileSync(join(audioDir, 'bargein', 'prompts', `${p.id}.wav`), join(o.out, p.file));
    copyFileSync(join(audioDir, 'bargein', 'prompts', '8k', `${p.id}.wav`), join(o.out, p.twin8k));
  }
  // Loaded here first in any case: it decodes the syllable voice into the cache once, before workers read it.
  const inventory = await loadInventory(audioDir, join(CACHE_ROOT, 'voice-cache'));
  let done = 0;
  const tick = () => o.progress?.(++done, all.length);
  let labels: Record<string, unknown>[];
  if (jobs === 1) labels = await renderRange({ seed: o.seed, count, out: o.out, audioDir, indices: all }, inventory, tick);
  else {
    const parts = await Promise.all(
      Array.from({ length: jobs }, (_, j) =>
        new Promise<Record<string, unknown>[]>((res, rej) => {
          const child = fork(WORKER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
          let result: Record<string, unknown>[] | null = null;
          child.on('message', (m: { done?: true; labels?: Record<string, unknown>[]; error?: string }) => {
            if (m.done) tick();
            if (m.labels) result = m.labels;
            if (m.error) rej(new Error(m.error));
          });
          child.on('exit', (code) => (result ? res(result) : rej(new Error(`corpus worker ${j} exited with ${code}`))));
          child.send({ seed: o.seed, count, out: o.out, audioDir, indices: all.filter((i) => i % jobs === j) });
        }),
      ),
    );
    labels = parts.flat().sort((a, b) => (a.generator as { index: number }).index - (b.generator as { index: number }).index);
  }
  const promptLines = [...prompts.values()].map((p) => ({
    corpus: 'bargein-generated', file: p.file, twin8k: p.twin8k, kind: 'bot_prompt', lang: p.lang, text: p.text, expected: null,
    speechOnsetMs: null, speechEndMs: null, durationMs: Math.round(p.audio.length / 16), promptSpeechOnsetMs: p.speechOnsetMs,
    promptSpeechEndMs: p.speechEndMs, source: `../shared/audio/bargein/prompts/${p.id}.wav`,
  }));
  writeFileSync(join(o.out, 'labels.jsonl'), [...promptLines, ...labels].map((l) => JSON.stringify(l)).join('\n') + '\n');
  const counts: Record<string, Record<string, number>> = {};
  for (const l of labels) {
    const k = `${l.kind}/${l.variant}`;
    counts[k] ??= { tune: 0, test: 0 };
    counts[k][String(l.split)]++;
  }
  const speakers: Record<string, string[]> = { tune: [], test: [] };
  for (const [s, split] of Object.entries(SPEAKER_SPLIT)) speakers[split].push(s);
  const manifest: CorpusManifest = {
    generatorVersion: GENERATOR_VERSION, seed: o.seed, count, ...(o.only ? { only: all } : {}), builtAt: new Date().toISOString(), buildMs: Math.round(performance.now() - t0), jobs, speakers, counts,
  };
  writeFileSync(join(o.out, 'corpus.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

export function cacheDir(seed: number, count = DEFAULT_COUNT): string {
  return join(CACHE_ROOT, `v${GENERATOR_VERSION}-seed${seed}-n${count}`);
}

/**
 * The generated corpus for (generator version, seed, count), built into the cache if it is not there yet. Built in
 * a temporary folder and renamed when complete, so an interrupted build never looks finished; two processes
 * building at once both succeed and one result is kept. With `only` (scenario indices) a sample is enough: the
 * whole corpus if it is cached, else just those scenarios in a folder of their own.
 */
export async function ensureCorpus(seed = 1, count = DEFAULT_COUNT, progress?: BuildOptions['progress'], only?: number[]): Promise<string> {
  const full = cacheDir(seed, count);
  if (existsSync(join(full, 'corpus.json'))) return full;
  const dir = only ? `${full}-only-${createHash('sha1').update(JSON.stringify([...only].sort((a, b) => a - b))).digest('hex').slice(0, 10)}` : full;
  if (existsSync(join(dir, 'corpus.json'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  await buildCorpus({ seed, count, out: tmp, progress, only });
  try {
    renameSync(tmp, dir);
  } catch (e) {
    if (!existsSync(join(dir, 'corpus.json'))) throw e;
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}
