// What the interruption classifier costs the listen worker per 32 ms frame: the band energies (two real FFTs at the
// wire rate), the inputs and the network, on random frames (the figures do not change the work). Median of runs.
// Usage: npx tsx bench/bargein/interruption-cost.ts
import { BandEnergies, N_BANDS } from '../../gateway/listen/nearEnd/BandEnergies.js';
import { InterruptionFeatures, N_INTERRUPTION_FEATURES } from '../../gateway/listen/nearEnd/InterruptionFeatures.js';
import { BUILTIN_INTERRUPTION_WEIGHTS, InterruptionModel } from '../../gateway/listen/nearEnd/InterruptionModel.js';

const model = InterruptionModel.load(BUILTIN_INTERRUPTION_WEIGHTS);
for (const [len, rate] of [[512, 16000], [256, 8000]] as const) {
  const be = new BandEnergies(len, rate);
  const fx = new InterruptionFeatures(len);
  const res = Float32Array.from({ length: len }, () => Math.random() - 0.5);
  const mic = Float32Array.from({ length: len }, () => Math.random() - 0.5);
  const bands = new Float64Array(2 * N_BANDS);
  const x = new Float64Array(N_INTERRUPTION_FEATURES);
  const fig = { prob: 0.5, res: 1, mic: 2, exp: 0.1, noise: 0.01, excess: 0.5, est: 1, ref: 1, locked: true, verdict: 'hard' as const, echo: true };
  const runs: number[] = [];
  let sink = 0;
  for (let r = 0; r < 15; r++) {
    const n = 2000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      be.bands(res, null, bands, 0);
      be.bands(mic, res, bands, N_BANDS);
      for (let b = 0; b < 2 * N_BANDS; b++) bands[b] = 10 * Math.log10(bands[b] + 1e-10);
      fx.next(fig, bands, x);
      sink += model.score(x);
    }
    runs.push(Number(process.hrtime.bigint() - t0) / 1000 / n);
  }
  runs.sort((a, b) => a - b);
  process.stdout.write(`${rate / 1000} kHz: ${runs[7].toFixed(1)} µs a frame (median of 15 × 2000; ${sink > 0 ? 'ok' : ''})\n`);
}
