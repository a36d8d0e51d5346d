// `npm run corpus:bargein -- [--seed N] [--out DIR] [--count N] [--jobs N]`: builds the labelled barge-in corpus
// (bench/corpus/README.md). Without --out it fills the cache that `npm run eval:bargein -- --generated` and the
// tests use, and prints where.
import { buildCorpus, cacheDir, ensureCorpus } from './build.js';
import { DEFAULT_COUNT } from './plan.js';

const HELP = `usage: npm run corpus:bargein -- [--seed N (1)] [--out DIR (the cache)] [--count N (${DEFAULT_COUNT})] [--jobs N (cores)]`;

async function main(): Promise<void> {
  const a = process.argv.slice(2).filter((x) => x !== '--');
  const o = { seed: 1, out: '', count: DEFAULT_COUNT, jobs: undefined as number | undefined };
  for (let i = 0; i < a.length; i++) {
    const v = () => a[++i] ?? '';
    if (a[i] === '--seed') o.seed = Number(v());
    else if (a[i] === '--out') o.out = v();
    else if (a[i] === '--count') o.count = Number(v());
    else if (a[i] === '--jobs') o.jobs = Number(v());
    else if (a[i] === '--help' || a[i] === '-h') return void process.stdout.write(HELP + '\n');
    else throw new Error(`unknown option ${a[i]}\n${HELP}`);
  }
  if (!Number.isInteger(o.seed) || o.seed < 0) throw new Error('--seed must be a non-negative integer');
  if (!Number.isInteger(o.count) || o.count < 20) throw new Error('--count must be an integer ≥ 20');
  const progress = (d: number, n: number) => process.stderr.write(`\r${d}/${n}`);
  const t0 = performance.now();
  if (o.out) {
    const m = await buildCorpus({ seed: o.seed, count: o.count, out: o.out, jobs: o.jobs, progress });
    process.stdout.write(`\n${m.count} scenarios in ${o.out} (${(m.buildMs / 1000).toFixed(1)} s, ${m.jobs} jobs)\n`);
  } else {
    const dir = await ensureCorpus(o.seed, o.count, progress);
    process.stdout.write(`\n${dir} (${((performance.now() - t0) / 1000).toFixed(1)} s; reused if it was already there: ${cacheDir(o.seed, o.count) === dir})\n`);
  }
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`corpus:bargein: ${e.message}\n`);
    process.exit(2);
  },
);
