// Content decisions with the real Mandarin recogniser on real speech: what the barge-in probe hears in a backchannel
// and in an interruption, judged by the bundled interruption lexicon, at 16 kHz and on the 8 kHz μ-law twins.
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Resampler } from '../gateway/audio/resampler.js';
import { readWavFloat } from '../gateway/audio/wav.js';
import { AsrWorkerPool, type AsrResult } from '../gateway/listen/asr/index.js';
import type { TokenType } from '../gateway/listen/consent/index.js';
import { InterruptionLexicon } from '../gateway/listen/interruption/InterruptionLexicon.js';
import { isResolved, resolveModel } from '../gateway/models.js';

const AUDIO = resolve(__dirname, '../../shared/audio');
const MODEL = 'zipformer-wenetspeech-kws-3.3m';

const BACKCHANNELS = ['003_audiocmn-YueTan_dui4', '005_audiocmn-YueTan_hao3', '006_audiocmn-YueTan_xing2', '008_audiocmn-YueTan_ng4', '001_audiocmn-YueTan_shi4'];
const INTERRUPTIONS = ['014_audiocmn-YueTan_bu2_yao4', '015_audiocmn-YueTan_bu2_yong4', '019_audiocmn-YueTan_bie2', '024_audiocmn-YueTan_shei2', '013_audiocmn-YueTan_bu2_shi4'];

function load16k(name: string, rate: '16k' | '8k'): Float32Array {
  if (rate === '16k') return readWavFloat(join(AUDIO, 'natural', `${name}.wav`)).samples;
  const twin = readWavFloat(join(AUDIO, 'natural', '8k', `${name}.wav`)).samples;
  return new Resampler(8000, 16000).process(twin);
}

describe('interruption lexicon on the real recogniser', () => {
  let pool: AsrWorkerPool;
  let lex: InterruptionLexicon;
  beforeAll(async () => {
    const r = resolveModel(MODEL);
    if (!isResolved(r)) throw new Error(`model ${MODEL} missing: ${r.missing.join(', ')}`);
    lex = InterruptionLexicon.load('zh', (r.entry.tokenType ?? 'char') as TokenType);
    pool = await AsrWorkerPool.start({ model: MODEL, mode: 'recognizer', workers: 1, threads: 1 });
  });
  afterAll(() => pool?.close());

  /** One look as the probe makes it: the whole clip accepted, then finish(). */
  function hear(name: string, rate: '16k' | '8k'): Promise<string> {
    const s = pool.open(`probe-${rate}-${name}`);
    return new Promise<AsrResult>((res) => {
      s.onResult((r) => r.final && res(r));
      const x = load16k(name, rate);
      for (let i = 0; i < x.length; i += 320) s.accept(x.slice(i, i + 320));
      s.finish();
    }).then((r) => {
      s.close();
      return r.text;
    });
  }

  // Measured: at 16 kHz 嗯 (ng4) is heard as nothing; 别 is heard as "lí" at both rates. A backchannel must never be
  // taken for clear content (that commits early) and an interruption never for a backchannel (that resumes).
  for (const rate of ['16k', '8k'] as const) {
    it(`spoken backchannels (对, 好, 行, 嗯, 是) are judged backchannels, never clear content (${rate})`, async () => {
      const verdicts = await Promise.all(BACKCHANNELS.map(async (n) => ({ n, text: await hear(n, rate) })));
      const judged = verdicts.map((v) => ({ ...v, ...lex.judge(v.text) }));
      expect(judged.filter((v) => v.kind === 'backchannel').length, JSON.stringify(judged)).toBeGreaterThanOrEqual(4);
      expect(judged.filter((v) => v.kind === 'content' && v.clear)).toEqual([]);
    });

    it(`spoken interruptions (不要, 不用, 别, 谁, 不是) are clear content, never backchannels (${rate})`, async () => {
      const verdicts = await Promise.all(INTERRUPTIONS.map(async (n) => ({ n, text: await hear(n, rate) })));
      const judged = verdicts.map((v) => ({ ...v, ...lex.judge(v.text) }));
      expect(judged.filter((v) => v.kind === 'content' && v.clear).length, JSON.stringify(judged)).toBeGreaterThanOrEqual(4);
      expect(judged.filter((v) => v.kind === 'backchannel')).toEqual([]);
    });
  }
});
