import { ConfigSchema } from '/work/wt-bargein6/gateway/config.js';
import { filterScreening } from '/work/wt-bargein6/gateway/listen/echo/BlockFilter.js';
import { G168, erle, line, load, run } from '/work/wt-bargein6/test/unit-echo-lines.js';
import { applyFilterTuning } from '/work/wt-bargein6/bench/eval-bargein-offline.js';
const cfg = ConfigSchema.parse({}).echo;
const prompt = load('bargein/prompts/p02.wav');
const d = { ...filterScreening };
for (const v of process.argv[2].split(';')) {
  Object.assign(filterScreening, d); applyFilterTuning(v);
  const l = line(prompt, [{ from: 0, model: G168.D2, delayMs: 60, erlDb: 10 }, { from: 48000, model: G168.D5, delayMs: 62, erlDb: 10 }], { noiseDbfs: -70 });
  const r = run(l, cfg);
  const l2 = line(prompt, [{ from: 0, model: G168.D2, delayMs: 60, erlDb: 10 }, { from: 48000, model: G168.D8, delayMs: 140, erlDb: 10 }], { noiseDbfs: -70 });
  const r2 = run(l2, cfg);
  console.log(v || 'shipped', 'same-delay change:', [32000, 48000, 64000, 80000].map((a) => erle(l, r, a, a + 16000).toFixed(1)).join(' '), '| moved:', erle(l2, r2, 72000, 88000).toFixed(1), (r2.a.delaySamples / 16).toFixed(0));
}
process.exit(0);
