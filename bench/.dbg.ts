import { loadConfig } from '../gateway/config.js';
import { loadScenarioLabels } from '../bench/bargein/labels.js';
import { framesFor, evaluate, policies } from '../bench/eval-bargein-offline.js';
const folder = process.argv[2]; const split = process.argv[3] ?? 'all'; const rate = Number(process.argv[4] ?? 16000) as 8000|16000;
const cfg = loadConfig(process.env, { port: 0 });
const items = loadScenarioLabels(folder).filter((l) => split === 'all' || l.split === split);
const frames = await framesFor(folder, items, rate, cfg, split);
const os = evaluate(items, frames, policies(cfg).base);
for (const o of os.filter((o) => o.kind === "echo_only" || o.kind === "barge_in")) {
  const f = frames.get(o.id)!;
  const lockAt = f.cols.locked.indexOf(1);
  console.log(o.id.padEnd(28), o.kind.padEnd(18), 'onset', o.onsetMs, 'pauses', JSON.stringify(o.pauses.slice(0,4)), 'commit', o.commitT, 'lock@', lockAt*32, (o.conditions??[]).join(','));
}
