import { ConfigSchema } from '../../gateway/config.js';
import { filterScreening } from '../../gateway/listen/echo/BlockFilter.js';
import { G168, erle, line, load, run } from '../../test/unit-echo-lines.js';
import { applyFilterTuning } from '../eval-bargein-offline.js';
const cfg = ConfigSchema.parse({}).echo;
const prompt = load('bargein/prompts/p02.wav');
const d = { ...filterScreening };
for (const v of ['', 'prop=0,passes=2,geigel=2,dtRatio=0.5']) {
  Object.assign(filterScreening, d); applyFilterTuning(v);
  const out: string[] = [];
  for (const m of ['D2', 'D3', 'D5', 'D8']) for (const delayMs of [30, 180]) {
    const l = line(prompt, [{ from: 0, model: G168[m], delayMs, erlDb: 6 }], { noiseDbfs: -70 });
    const r = run(l, cfg);
    out.push(`${m}@${delayMs} ${erle(l, r, r.lockAt! + 8000, r.lockAt! + 24000).toFixed(1)}/${erle(l, r, 32000, prompt.length).toFixed(1)}`);
  }
  console.log(v || 'new', out.join('  '));
}
process.exit(0);
