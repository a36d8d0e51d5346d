import { loadConfig } from '../../gateway/config.js';
import { ensureCorpus } from '../corpus/build.js';
import { framesFor, scenarioId } from '../eval-bargein-offline.js';
import { loadScenarioLabels } from './labels.js';
const tag = process.argv[2] ?? '';
const folder = await ensureCorpus(1);
const cfg = loadConfig(process.env, { port: 0 });
const items = loadScenarioLabels(folder).filter((l) => l.split === 'tune');
const db = (x: number) => (10 * Math.log10(x)).toFixed(1);
for (const rate of [16000, 8000] as const) {
  const frames = await framesFor(folder, items, rate, cfg, `tune${tag}`);
  const groups = new Map<string, { exp: number; est: number; left: number; res: number; noise: number; n: number }>();
  for (const l of items) {
    if (l.kind !== 'barge_in' || !l.echo || l.speechOnsetMs == null) continue;
    const g = (l.noise ? `noise_${(l.noise as { type: string }).type}` : l.line ? 'g711' : 'clean-line') + ((l.echo as unknown as { erlDb: number }).erlDb < 12 ? ' erl<12' : ' erl≥12');
    const s = frames.get(scenarioId(l))!;
    const a = groups.get(g) ?? { exp: 0, est: 0, left: 0, res: 0, noise: 0, n: 0 };
    for (let i = 0; i < s.n; i++) {
      const t = i * 32 - l.speechOnsetMs!;
      if (t < -1000 || t >= -100 || !s.cols.locked[i] || s.cols.est[i] <= 0) continue;
      a.exp += s.cols.exp[i]; a.est += s.cols.est[i]; a.res += s.cols.res[i]; a.noise += s.cols.noise[i]; a.left += Math.max(0, s.cols.res[i] - s.cols.noise[i]); a.n++;
    }
    groups.set(g, a);
  }
  console.log(`${rate}: 1 s before the barge-in onset (echo + noise), per group: expected/estimate dB, actual (res−noise)/estimate dB, residual/estimate, noise/estimate`);
  for (const [g, a] of [...groups].sort()) console.log(`  ${g.padEnd(22)} n ${String(a.n).padStart(4)}  expected ${db(a.exp / a.est)}  left ${db(a.left / a.est)}  res ${db(a.res / a.est)}  noise ${db(a.noise / a.est)}`);
}
process.exit(0);
