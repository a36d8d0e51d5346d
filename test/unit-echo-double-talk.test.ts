// The echo filter's footing under double talk, on G.168 lines where the callee and the echo are known apart: the
// echo actually left under a callee who talks over ERL 6 dB echo (residual − callee), and the gate's expected
// residual echo against it. A filter the callee drags leaves 8–17 dB more echo exactly where the callee must be
// heard (the barge-in corpus's largest loss, README "Where the barge-ins are lost"). With `echo.robustFilter` (off by
// default) its step is cut whenever the residual stands out above the expected echo and noise, and it learns a
// line's sparse path in proportion to each partition's weights (bench/bargein/double-talk.ts prints these figures).
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../gateway/config.js';
import { G168, erle, line, load, run, type Line, type Run } from './unit-echo-lines.js';

const cfg = ConfigSchema.parse({}).echo;
const robust = { ...cfg, robustFilter: true };
const prompt = load('bargein/prompts/p02.wav');
const callee = load('natural/180_vtuber-hiiro_bu2_yao4_a0.wav');
const F = 512;
const AT = 32000;

function talkEnd(l: Line): number {
  let end = AT;
  for (let i = AT; i < l.talker.length; i++) if (Math.abs(l.talker[i]) > 1e-4) end = i;
  return end;
}

/** Expected residual echo (the gate's) over the echo really left in [a, b), in dB: > 0 the floor is above it. */
function expectedOverLeft(l: Line, r: Run, a: number, b: number): number {
  let left = 0;
  let exp = 0;
  for (const f of r.frames) {
    const s = f.index * F;
    if (s < a || s + F > b) continue;
    for (let i = s; i < s + F; i++) left += (r.residual[i] - l.talker[i]) ** 2;
    exp += f.info.expectedEcho;
  }
  return 10 * Math.log10(exp / left);
}

describe('echo filter under double talk (G.168 paths, ERL 6 dB, callee from 2 s)', () => {
  it('is off by default', () => expect(cfg.robustFilter).toBe(false));

  it.each([
    ['D3', -26],
    ['D5', -26],
    ['D3', -32],
    ['D5', -32],
  ] as const)('robust, path %s, callee at %i dBFS: echo stays ≥ 15 dB down under the callee and after', (m, level) => {
    const l = line(prompt, [{ from: 0, model: G168[m], delayMs: 120, erlDb: 6 }], { noiseDbfs: -65, talker: callee, talkerDbfs: level, talkerAt: AT });
    const r = run(l, robust);
    const end = talkEnd(l);
    expect(erle(l, r, AT - 16000, AT)).toBeGreaterThan(18);
    // The default filter (Geigel's test also required, uniform step) falls to 8.3 / 9.2 dB at −26 dBFS here.
    expect(erle(l, r, AT, end)).toBeGreaterThan(15);
    expect(erle(l, r, end + 1600, end + 17600)).toBeGreaterThan(15);
    // The gate's floor under the callee follows the echo really left: not inflated by the callee, not far below.
    const e = expectedOverLeft(l, r, AT, end);
    expect(e).toBeGreaterThan(-3);
    expect(e).toBeLessThan(8);
  });

  it('without it (the default: the step cut only when Geigel also agrees), a loud callee drags the filter', () => {
    const l = line(prompt, [{ from: 0, model: G168.D3, delayMs: 120, erlDb: 6 }], { noiseDbfs: -65, talker: callee, talkerDbfs: -26, talkerAt: AT });
    const r = run(l, cfg);
    expect(erle(l, r, AT, talkEnd(l))).toBeLessThan(12);
  });

  it('robust converges faster (proportionate step): ≥ 20 dB in the second after the lock on a sparse path', () => {
    const l = line(prompt, [{ from: 0, model: G168.D3, delayMs: 120, erlDb: 6 }], { noiseDbfs: -65 });
    const r = run(l, robust);
    expect(r.lockAt).not.toBeNull();
    const fast = erle(l, r, r.lockAt! + 4000, r.lockAt! + 20000);
    const r0 = run(l, cfg);
    const slow = erle(l, r0, r0.lockAt! + 4000, r0.lockAt! + 20000);
    expect(fast).toBeGreaterThan(20);
    expect(fast - slow).toBeGreaterThan(3);
  });
});
