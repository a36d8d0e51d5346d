import { loadConfig } from '../gateway/config.js';
import { loadScenarioLabels } from './bargein/labels.js';
import { framesFor, evaluate, makePolicy } from './eval-bargein-offline.js';
const [folder, split, rateS, ...specs] = process.argv.slice(2);
const rate = Number(rateS) as 8000 | 16000;
const cfg = loadConfig(process.env, { port: 0 });
const items = loadScenarioLabels(folder).filter((l) => split === 'all' || l.split === split);
const frames = await framesFor(folder, items, rate, cfg, split);
const res = specs.map((s) => evaluate(items, frames, makePolicy(cfg, s)));
for (let i = 0; i < items.length; i++) {
  const row = res.map((os) => { const o = os[i]; return o.expected === 'barge_in' ? `P${o.earlyPause ? 'E' : o.pauseMs} C${o.earlyCommit ? 'E' : o.commitMs}` : `p${o.pauses.length} c${o.commitT === null ? 0 : 1}`; });
  if (new Set(row).size > 1) console.log(res[0][i].id.padEnd(24), res[0][i].kind.padEnd(16), row.join('  |  '), res[0][i].conditions.join(','));
}
