// What the echo canceller's lock decision measures: the share of the microphone signal a linear path from the
// reference explains (coherence over the telephone band), and the band limiting it is judged in.
import { describe, expect, it } from 'vitest';
import { explainedShare } from '../gateway/listen/echo/explainedShare.js';
import { lineBand } from '../gateway/listen/echo/lineBand.js';
import { G168, dB, line, load, rms, seeded } from './unit-echo-lines.js';

const prompt = load('bargein/prompts/p02.wav').subarray(0, 16000 * 3);
const callee = load('natural/025_audiocmn-YueTan_shen2_me0.wav');

/** The reference aligned with the echo it causes, as the canceller hands it over (the path's onset 4 ms in). */
function aligned(ref: Float32Array, delay: number): Float32Array {
  const out = new Float32Array(ref.length);
  for (let i = 0; i < ref.length; i++) out[i] = i - delay + 64 >= 0 && i - delay + 64 < ref.length ? ref[i - delay + 64] : 0;
  return out;
}

describe('explainedShare', () => {
  it.each(['D2', 'D5', 'D8'])('is close to 1 for echo through dispersive path %s well above the noise', (m) => {
    const l = line(prompt, [{ from: 0, model: G168[m], delayMs: 50, erlDb: 10 }], { noiseDbfs: -70, extra: 0 });
    // 0.74 for D5, whose 16 ms of dispersion reach past the 4 ms lead into the next 64 ms segment (0.79 before what
    // chance gives was taken off).
    expect(explainedShare(l.mic, aligned(prompt, 800), 16000)).toBeGreaterThan(0.7);
  });

  it('falls with the echo-to-noise ratio', () => {
    const quiet = line(prompt, [{ from: 0, model: G168.D3, delayMs: 50, erlDb: 10 }], { noiseDbfs: -70, extra: 0 });
    const noisy = line(prompt, [{ from: 0, model: G168.D3, delayMs: 50, erlDb: 10 }], { noiseDbfs: -25, extra: 0 });
    const a = explainedShare(quiet.mic, aligned(prompt, 800), 16000);
    const b = explainedShare(noisy.mic, aligned(prompt, 800), 16000);
    expect(b).toBeLessThan(a - 0.2);
    expect(b).toBeGreaterThan(0.05);
  });

  it('stays low for a caller whose speech is unrelated to the prompt', () => {
    const l = line(prompt, [], { noiseDbfs: -60, talker: callee, talkerDbfs: -25, talkerAt: 4000, extra: 0 });
    expect(explainedShare(l.mic, aligned(prompt, 800), 16000)).toBeLessThan(0.12);
  });

  it('stays low when the caller\'s power sits in a few segments: one syllable, repeated, over a real prompt', () => {
    // Half a second or a second of history holds 14–30 segments, but a syllable's power fills a few of them, and the
    // coherence of so few is high by chance: up to 0.20 on these 40 cuts before chance was taken off (≤ 0.04 after).
    const syllables = ['natural/088_TonePerfect-MV2_bie2.wav', 'natural/102_tts-supervocab_hao3.wav', 'natural/013_audiocmn-YueTan_bu2_shi4.wav', 'natural/180_vtuber-hiiro_bu2_yao4_a0.wav'].map(load);
    let worst = 0;
    for (const len of [8000, 16000]) {
      const ref = load('real/jf1957_2.wav').subarray(0, len);
      for (const syllable of syllables)
        for (const at of [0, 2000, 4000, 6000, 8000]) {
          const talker = Float32Array.from({ length: len }, (_, i) => syllable[(i + at) % syllable.length]);
          const l = line(ref, [], { noiseDbfs: -55, talker, talkerDbfs: -25, talkerAt: 0, extra: 0 });
          worst = Math.max(worst, explainedShare(l.mic, aligned(ref, 800), 16000));
        }
    }
    expect(worst).toBeLessThan(0.08);
  });

  it("ignores reference power outside the line band (a recording's hum and offset)", () => {
    const l = line(prompt, [{ from: 0, model: G168.D3, delayMs: 50, erlDb: 10 }], { noiseDbfs: -70, extra: 0 });
    const ref = aligned(prompt, 800);
    const hummy = ref.map((v, i) => v + 0.05 + 0.1 * Math.sin((2 * Math.PI * 50 * i) / 16000));
    expect(explainedShare(l.mic, hummy, 16000)).toBeGreaterThan(0.85);
  });
});

describe('lineBand', () => {
  const tone = (hz: number) => Float32Array.from({ length: 16000 }, (_, i) => Math.sin((2 * Math.PI * hz * i) / 16000));
  it('passes the speech band and removes hum, rumble and what a line cannot carry', () => {
    const level = (hz: number) => {
      const x = tone(hz);
      lineBand(x, 16000);
      return dB(rms(x, 8000)) - dB(rms(tone(hz), 8000));
    };
    expect(Math.abs(level(1000))).toBeLessThan(1);
    expect(level(50)).toBeLessThan(-30);
    expect(level(7000)).toBeLessThan(-12);
  });
  it('removes a DC offset', () => {
    const rnd = seeded(3);
    const x = Float32Array.from({ length: 16000 }, () => 0.2 + 0.01 * rnd());
    lineBand(x, 16000);
    expect(Math.abs(x.subarray(8000).reduce((a, v) => a + v, 0) / 8000)).toBeLessThan(1e-4);
  });
});
