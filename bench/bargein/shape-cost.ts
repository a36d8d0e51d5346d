// CPU of the canceller's shape figures (echo.shapeFigures): a G.168 line (D3, 120 ms, ERL 6 dB, a callee at −32 dBFS)
// through EchoCanceller with the figures off and on, median of 15 runs per rate, µs per 32 ms frame.
// Usage: flock /tmp/earshot-heavy.lock npx tsx bench/bargein/shape-cost.ts
import { ConfigSchema } from '../../gateway/config.js';
import { EchoCanceller } from '../../gateway/listen/EchoCanceller.js';
import { G168, line, load } from '../../test/unit-echo-lines.js';
const prompt = load('bargein/prompts/p02.wav');
const callee = load('natural/025_audiocmn-YueTan_shen2_me0.wav');
const l = line(prompt, [{ from: 0, model: G168.D3, delayMs: 120, erlDb: 6 }], { noiseDbfs: -60, talker: callee, talkerDbfs: -32, talkerAt: 40000 });
const base = ConfigSchema.parse({}).echo;
function once(shape: boolean, rate: 8000 | 16000): number {
  const a = new EchoCanceller({ ...base, shapeFigures: shape }, rate);
  const dec = 16000 / rate;
  const mic = rate === 16000 ? l.mic : Float32Array.from({ length: l.mic.length / 2 }, (_, i) => l.mic[2 * i]);
  const ref = rate === 16000 ? l.ref : Float32Array.from({ length: l.ref.length / 2 }, (_, i) => l.ref[2 * i]);
  const per = (rate * 20) / 1000;
  let frames = 0;
  a.onResidual = () => {};
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < mic.length; i += per) {
    if (i + 2 * per < ref.length) a.addReference(i + 2 * per, ref.subarray(i + 2 * per, i + 3 * per));
    if (i === 0) a.addReference(0, ref.subarray(0, 2 * per));
    a.process(mic.subarray(i, i + per), i);
  }
  frames = mic.length / ((512 / dec));
  return Number(process.hrtime.bigint() - t0) / 1000 / frames;
}
for (const rate of [16000, 8000] as const) {
  for (let w = 0; w < 3; w++) { once(false, rate); once(true, rate); }
  const offs: number[] = [], ons: number[] = [];
  for (let r = 0; r < 15; r++) { offs.push(once(false, rate)); ons.push(once(true, rate)); }
  const med = (x: number[]) => x.sort((a, b) => a - b)[x.length >> 1];
  console.log(`${rate}: canceller per 32 ms frame, figures off ${med(offs).toFixed(1)} µs, on ${med(ons).toFixed(1)} µs (+${(med(ons) - med(offs)).toFixed(1)})`);
}
