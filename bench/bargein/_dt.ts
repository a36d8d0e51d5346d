import { loadConfig } from '../../gateway/config.js';
import { ensureCorpus } from '../corpus/build.js';
import { framesFor, scenarioId } from '../eval-bargein-offline.js';
import { loadScenarioLabels } from './labels.js';
const tag = process.argv[2] ?? '';
const folder = await ensureCorpus(1);
const cfg = loadConfig(process.env, { port: 0 });
const items = loadScenarioLabels(folder).filter((l) => l.split === 'tune');
for (const rate of [16000, 8000] as const) {
  const frames = await framesFor(folder, items, rate, cfg, `tune${tag}`);
  const W = [[-1000, 0], [0, 250], [250, 500], [500, 1000]];
  for (const kind of ['barge_in', 'backchannel']) {
    const acc = W.map(() => ({ exp: 0, est: 0, mic: 0, res: 0, n: 0 }));
    const lk: number[][] = W.map(() => []);
    for (const l of items) {
      if (l.kind !== kind || !l.echo || l.speechOnsetMs == null) continue;
      const s = frames.get(scenarioId(l))!;
      W.forEach(([a, b], j) => {
        let e = 0, y = 0;
        for (let i = 0; i < s.n; i++) {
          const t = i * 32 - l.speechOnsetMs!;
          if (t < a || t >= b || !s.cols.locked[i]) continue;
          acc[j].exp += s.cols.exp[i]; acc[j].est += s.cols.est[i]; acc[j].mic += s.cols.mic[i]; acc[j].res += s.cols.res[i]; acc[j].n++;
          e += s.cols.exp[i]; y += s.cols.est[i];
        }
        if (y > 0) lk[j].push(e / y);
      });
    }
    const med = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)];
    console.log(`${rate} ${kind}: ` + W.map(([a, b], j) => `[${a},${b}) exp/est ${(acc[j].exp / acc[j].est).toFixed(3)} med ${med(lk[j])?.toFixed(3)} est/mic ${(acc[j].est / acc[j].mic).toFixed(2)}`).join(' | '));
  }
}
process.exit(0);
