// Second opinions decoded beside the recogniser in the same stream (asr/Ensemble.ts): the same recogniser on the
// utterance cut later, and the keyword spotter. Real model, real audio, through the worker pool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AsrWorkerPool, tokensToSyllables } from '../gateway/listen/asr/index.js';
import { buildKeywords, keywordsFileText, loadLexiconFile, readTokenSet, RECOMMENDED_KWS_SETTINGS } from '../gateway/listen/consent/index.js';
import { resolveModel, type ResolvedModel } from '../gateway/models.js';
import { load16k, run } from './helpers/asrAudio.js';

const MODEL = 'zipformer-wenetspeech-kws-3.3m';
const model = resolveModel(MODEL) as ResolvedModel;
const KE_YI = 'natural/101_tts-supervocab_ke3_yi3.wav';
const BU_YAO = 'natural/014_audiocmn-YueTan_bu2_yao4.wav';

describe('engines beside the recogniser', () => {
  let pool: AsrWorkerPool;
  beforeAll(async () => {
    const { keywords } = buildKeywords(loadLexiconFile('zh'), { tokens: readTokenSet(model.files.tokens!) });
    pool = await AsrWorkerPool.start({
      model: MODEL,
      mode: 'recognizer',
      workers: 1,
      decoding: { method: 'greedy' },
      beside: [
        { mode: 'recognizer', decoding: { method: 'greedy' }, skipMs: 160 },
        { mode: 'kws', keywords: keywordsFileText(keywords), ...RECOMMENDED_KWS_SETTINGS },
      ],
    });
  }, 60_000);
  afterAll(() => pool?.close());

  it('names every member', () => {
    expect(pool.stats().engine).toMatch(/recognizer.*\+ .*recognizer.*\(from 160 ms\) \+ .*keyword-spotter/);
  });

  it('returns the main transcript with the shifted hearing as an alternative and the spotted phrases as hits', async () => {
    const [a, b] = await Promise.all([run(pool.open('yes'), load16k(KE_YI, '16k')), run(pool.open('no'), load16k(BU_YAO, '16k'))]);
    expect(tokensToSyllables(a.final.tokens).toneless.join(' ')).toBe('ke yi');
    expect(a.final.alternatives).toHaveLength(1);
    const alt = a.final.alternatives![0]!;
    expect(tokensToSyllables(alt.tokens).toneless.join(' ')).toBe('ke yi');
    // The alternative heard the same audio from 160 ms on, and its times are on the stream's clock.
    expect(alt.tokenMs![0]!).toBeGreaterThan(160);
    expect(Math.abs(alt.tokenMs![0]! - a.final.tokenMs![0]!)).toBeLessThan(400);
    expect(a.final.hits?.map((h) => h.keyword)).toContain('可以');
    expect(b.final.hits?.map((h) => h.keyword).join()).toMatch(/不要/);
    expect(b.final.hits?.map((h) => h.keyword)).not.toContain('可以');
  });

  it('a stream opened without second opinions decodes the main engine only', async () => {
    const s = pool.open('plain', { secondOpinions: false });
    const r = await run(s, load16k(KE_YI, '16k'));
    expect(tokensToSyllables(r.final.tokens).toneless.join(' ')).toBe('ke yi');
    expect(r.final.alternatives).toBeUndefined();
    expect(r.final.hits).toBeUndefined();
  });
});
