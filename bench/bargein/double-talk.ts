// Double talk on G.168 lines, where the callee and the echo are known apart (test/unit-echo-lines.ts): per variant of
// the filter's screening overrides, over a callee talking from 2 s on (ERL 6 dB echo, callee at several levels), the
// echo actually left in the residual (residual − callee) against the gate's expected residual echo, before, during
// and after the callee's speech: is the leakage estimate inflated by double talk, or is the filter dragged?
// Usage: npx tsx bench/bargein/double-talk.ts [--filter KEY=V,…;KEY=V,…]
import { ConfigSchema } from '../../gateway/config.js';
import { filterScreening } from '../../gateway/listen/echo/BlockFilter.js';
import { G168, dB, line, load, rms, run } from '../../test/unit-echo-lines.js';
import { applyFilterTuning } from '../eval-bargein-offline.js';

const cfg = ConfigSchema.parse({}).echo;
const prompt = load('bargein/prompts/p02.wav');
const callee = load('natural/180_vtuber-hiiro_bu2_yao4_a0.wav');
const defaults = { ...filterScreening };
const argv = process.argv.slice(2).filter((a) => a !== '--');
const variants = argv[0] === '--filter' ? argv[1].split(';') : [''];
const F = 512;
for (const v of variants) {
  Object.assign(filterScreening, defaults);
  applyFilterTuning(v);
  const rows: string[] = [];
  for (const level of [-26, -32, -38])
    for (const m of ['D3', 'D5']) {
      const at = 32000;
      const l = line(prompt, [{ from: 0, model: G168[m], delayMs: 120, erlDb: 6 }], { noiseDbfs: -65, talker: callee, talkerDbfs: level, talkerAt: at });
      const r = run(l, cfg);
      // Windows: 1 s before, during the callee's speech, 1 s after.
      let talkEnd = at;
      for (let i = at; i < l.talker.length; i++) if (Math.abs(l.talker[i]) > 1e-4) talkEnd = i;
      const W: [string, number, number][] = [['before', at - 16000, at], ['during', at, talkEnd], ['after', talkEnd + 1600, talkEnd + 17600]];
      const cells = W.map(([name, a, b]) => {
        let left = 0;
        let exp = 0;
        let echo = 0;
        for (const f of r.frames) {
          const s = f.index * F;
          if (s < a || s + F > b) continue;
          for (let i = s; i < s + F; i++) {
            const e = r.residual[i] - l.talker[i];
            left += e * e;
            echo += l.echo[i] * l.echo[i];
          }
          exp += f.info.expectedEcho;
        }
        return `${name} ERLE ${(dB(Math.sqrt(echo)) - dB(Math.sqrt(left))).toFixed(1)} expected/left ${(10 * Math.log10(exp / left)).toFixed(1)} dB`;
      });
      rows.push(`  callee ${level} dBFS ${m} (${dB(rms(l.talker, at, talkEnd)).toFixed(0)}): ${cells.join(' | ')}`);
    }
  process.stdout.write(`== ${v || 'as shipped'}\n${rows.join('\n')}\n`);
}
process.exit(0);
