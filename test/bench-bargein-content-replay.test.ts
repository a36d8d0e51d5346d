// bench/bargein/contentReplay.ts: content decisions replayed offline — when looks are cut, what they hear, and when
// their verdicts reach the policy. The transcripts come from a stand-in here (the recogniser itself is tested on real
// audio in the content probe's e2e test); this is the scheduling the offline numbers rest on.
import { describe, expect, it } from 'vitest';
import { contentPolicy, type LookSource } from '../bench/bargein/contentReplay.js';
import type { ScenarioFrames } from '../bench/bargein/offline.js';
import { loadConfig } from '../gateway/config.js';
import type { BargeInAction } from '../gateway/listen/BargeInPolicy.js';
import { InterruptionLexicon } from '../gateway/listen/interruption/InterruptionLexicon.js';

const F = 32;
/** Frames of a scenario: speech (VAD 0.95) from frame `from` for `n` frames, silence elsewhere. */
function frames(total: number, from: number, n: number): ScenarioFrames {
  const prob = Array.from({ length: total }, (_, i) => (i >= from && i < from + n ? 0.95 : 0.02));
  const zeros = () => new Array<number>(total).fill(0);
  const cols = Object.fromEntries(['echo', 'verdict', 'res', 'exp', 'ref', 'noise', 'excess', 'locked', 'mic', 'est', 'tone', 'bres', 'best', 'bcross', 'overb', 'bandb', 'incoh', 'cohde'].map((k) => [k, zeros()]));
  return { id: 'tune/s1', rate: 16000, n: total, cols: { ...cols, prob } as ScenarioFrames['cols'] };
}

/** Records each cut asked for and answers with the transcript `say` gives for the cut's end (ms). */
class Script implements LookSource {
  cuts: [number, number][] = [];
  constructor(private readonly say: (endMs: number) => string) {}
  text(_key: string, _x: Float32Array, a: number, b: number): string {
    this.cuts.push([a / 16, b / 16]);
    return this.say(b / 16);
  }
}

const cfg = loadConfig({});
// Off: synthetic frames have no residual level to judge a background by.
cfg.bargeIn.backgroundMarginDb = 0;
const lex = InterruptionLexicon.load('zh', 'pinyin-initial-final');
const opts = { rules: cfg.bargeIn.content, preRollMs: 200, firstAtMs: 256, everyMs: 128, maxMs: 2400, lagMs: 32 };

function run(s: ScenarioFrames, src: LookSource, o = opts): (BargeInAction & { i: number })[] {
  const p = contentPolicy(cfg, o, lex, src, () => new Float32Array(s.n * F * 16));
  const out: (BargeInAction & { i: number })[] = [];
  for (let i = 0; i < s.n; i++) for (const a of p.frame(s, i, true)) out.push({ ...a, i });
  return out;
}

describe('contentPolicy (offline content decisions)', () => {
  it('cuts each look from the pre-roll before the onset to its due time: onset + 256, then every 128 ms', () => {
    // Speech from frame 30 (onset 960 ms) for 40 frames, heard as backchannel words (so nothing commits).
    const src = new Script(() => 'd uì');
    const out = run(frames(100, 30, 40), src);
    expect(out.find((a) => a.type === 'pause')).toMatchObject({ onsetT: 960 });
    expect(src.cuts.slice(0, 3)).toEqual([
      [760, 960 + 256],
      [760, 960 + 384],
      [760, 960 + 512],
    ]);
  });

  it('a clear interruption commits once its verdict is back (due time + lag), before the duration rule', () => {
    const src = new Script(() => 'b ù y ào');
    const out = run(frames(100, 30, 40), src);
    // Look due at 1216, verdict back at 1248: delivered with the frame that ends at 1248.
    expect(out.find((a) => a.type === 'commit')).toMatchObject({ t: 1248, reason: 'content' });
    expect(src.cuts).toHaveLength(1);
  });

  it('the lag is when the verdict lands: a longer round trip commits later', () => {
    const out = run(frames(100, 30, 40), new Script(() => 'b ù y ào'), { ...opts, lagMs: 100 });
    // Back at 1316: delivered with the next frame, which ends at 1344.
    expect(out.find((a) => a.type === 'commit')).toMatchObject({ t: 1344, reason: 'content' });
  });

  it('a backchannel that outlasts the duration rule resumes, and looks stop with the pause', () => {
    // 25 frames (800 ms) of 对对对.
    const src = new Script(() => 'd uì d uì d uì');
    const out = run(frames(100, 30, 25), src);
    expect(out.map((a) => a.type)).toEqual(['speech_started', 'pause', 'resume', 'speech_ended']);
    expect(out.find((a) => a.type === 'resume')).toMatchObject({ backchannel: true });
    // Looks every 128 ms until the pause ended (resume at 960 + 800 + 160 = 1920), none after.
    const last = src.cuts[src.cuts.length - 1]![1];
    expect(last).toBeLessThanOrEqual(1920);
    expect(src.cuts.length).toBe(Math.floor((last - 960 - 256) / 128) + 1);
  });
});
