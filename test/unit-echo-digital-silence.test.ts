// Lost packets filled with zeros (G.711 without concealment) on a line that echoes: the canceller must hand on the
// nothing that came in, not its echo estimate negated — which the echo gate took for a callee and the VAD for speech.
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../gateway/config.js';
import { DigitalSilence } from '../gateway/listen/echo/DigitalSilence.js';
import { G168, dB, line, load, rms, run, seeded } from './unit-echo-lines.js';

const cfg = ConfigSchema.parse({}).echo;
const prompt = load('bargein/prompts/p02.wav');
const F = 512;

describe('DigitalSilence', () => {
  it('marks a run of zeros of 2 ms or more (and 1 ms either side), carrying a run across blocks', () => {
    const noise = seeded(3);
    const x = Float32Array.from({ length: 1024 }, () => noise() * 0.01);
    x.fill(0, 200, 520); // 20 ms at 16 kHz, crossing the block boundary at 256
    x.fill(0, 700, 720); // 1.25 ms: a short run, not a gap
    const d = DigitalSilence.forRate(16000);
    const mask = new Uint8Array(1024);
    const a = mask.subarray(0, 256);
    const b = mask.subarray(256, 512);
    const c = mask.subarray(512, 768);
    d.mark(x.subarray(0, 256), a);
    d.mark(x.subarray(256, 512), b);
    d.mark(x.subarray(512, 768), c);
    // The whole run and 16 samples (1 ms) either side; nothing of the short run.
    for (let i = 0; i < 768; i++) expect(mask[i], `sample ${i}`).toBe(i >= 184 && i < 536 ? 1 : 0);
  });

  it('never marks line noise, however quiet (−80 dBFS)', () => {
    const noise = seeded(5);
    const x = Float32Array.from({ length: 16000 }, () => noise() * 2 * Math.sqrt(3) * 10 ** (-80 / 20));
    const mask = new Uint8Array(x.length);
    expect(DigitalSilence.forRate(16000).mark(x, mask)).toBe(0);
  });

  it('at 8 kHz, a lost 20 ms packet of μ-law zeros is marked whole', () => {
    const noise = seeded(9);
    const x = Float32Array.from({ length: 800 }, () => noise() * 0.02);
    x.fill(0, 320, 480);
    const mask = new Uint8Array(x.length);
    expect(DigitalSilence.forRate(8000).mark(x, mask)).toBe(160 + 2 * 8);
  });
});

describe('echo canceller with lost packets on the line', () => {
  // Echo at ERL 6 dB through G.168's D3 path; from 1.5 s on, one 20 ms packet in every 200 ms arrives as zeros.
  const l = line(prompt, [{ from: 0, model: G168.D3, delayMs: 120, erlDb: 6 }], { noiseDbfs: -70 });
  const gaps: number[] = [];
  for (let at = 24000; at + 320 < l.mic.length - 16000; at += 3200) {
    l.mic.fill(0, at, at + 320);
    gaps.push(at);
  }
  const r = run(l, cfg);
  const inGap = (f: { index: number }) => gaps.some((g) => g < (f.index + 1) * F && g + 320 > f.index * F);

  it('hands on silence where nothing came in, not the echo estimate negated', () => {
    expect(r.lockAt).not.toBeNull();
    expect(r.lockAt!).toBeLessThan(24000);
    let worst = -Infinity;
    for (const g of gaps) worst = Math.max(worst, dB(rms(r.residual, g + 16, g + 320 - 16)));
    expect(worst).toBeLessThan(-90);
  });

  it('keeps the frames holding a lost packet on the echo side of the gate, and keeps cancelling around them', () => {
    const echoed = r.frames.filter((f) => inGap(f) && dB(rms(l.echo, f.index * F, f.index * F + F)) > -45);
    expect(echoed.length).toBeGreaterThan(15);
    // Without the mask 5 of these 30 frames passed (3 clear, 2 soft): the estimate negated looks like a callee.
    expect(echoed.filter((f) => f.verdict !== 'hard').length).toBeLessThanOrEqual(1);
    // The filter neither learnt from the gaps nor lost its footing: ≥ 15 dB removed between them once settled.
    const between = (a: number, b: number) => {
      let e = 0, left = 0;
      for (let i = a; i < b; i++) if (!gaps.some((g) => i >= g - 32 && i < g + 352)) (e += l.echo[i] ** 2), (left += r.residual[i] ** 2);
      return 10 * Math.log10(e / (left + 1e-20));
    };
    expect(between(40000, prompt.length)).toBeGreaterThan(15);
  });
});
