// Recogniser search: greedy vs modified beam search, and contextual biasing (hotwords) from the consent lexicon,
// which sherpa-onnx can only read for this model through renamed tokens (TokenAliases). Real model, real audio.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AsrWorkerPool, tokensToSyllables, type DecodingSpec } from '../gateway/listen/asr/index.js';
import { searchConfig } from '../gateway/listen/asr/SherpaOnlineRecognizer.js';
import { TokenAliases } from '../gateway/listen/asr/tokenAliases.js';
import { lexiconHotwordBoosts, lexiconHotwords, loadLexiconFile } from '../gateway/listen/consent/index.js';
import { negatableSpans } from '../gateway/listen/consent/hotwords.js';
import { isResolved, resolveModel, type ResolvedModel } from '../gateway/models.js';
import { load16k, run } from './helpers/asrAudio.js';

const MODEL = 'zipformer-wenetspeech-kws-3.3m';
const model = resolveModel(MODEL) as ResolvedModel;
// 当然 by a dictionary speaker: greedy search hears dāng shān (not a lexicon phrase), on every cut we replayed.
const DANG_RAN = 'natural/009_audiocmn-YueTan_dang1_ran2.wav';

describe('TokenAliases', () => {
  const table = '<blk> 0\n<sos/eos> 1\n<unk> 2\nh 3\nǎo 4\nk 5\ně 6\ny 7\nǐ 8\n';
  const a = new TokenAliases(table);

  it('renames every ordinary token to an ASCII id with the same index, and keeps the special tokens', () => {
    expect(a.tokensBuf).toBe('<blk> 0\n<sos/eos> 1\n<unk> 2\nt3 3\nt4 4\nt5 5\nt6 6\nt7 7\nt8 8\n');
    expect(a.token('t4')).toBe('ǎo');
    expect(a.token('<blk>')).toBe('<blk>');
  });

  it('spells hotword phrases in aliases, once each, and skips a phrase with a token the model lacks', () => {
    const hw = a.hotwords([['h', 'ǎo'], ['k', 'ě', 'y', 'ǐ'], ['h', 'ǎo'], ['b', 'ù']]);
    expect(hw.text).toBe('t3 t4\nt5 t6 t7 t8\n');
    expect(hw.count).toBe(2);
    expect(hw.skipped).toEqual(['b ù']);
  });

  it('gives each phrase its own score when asked (sherpa reads " :score" after the phrase), and checks the scores', () => {
    const hw = a.hotwords([['h', 'ǎo'], ['k', 'ě', 'y', 'ǐ']], [2, 3]);
    expect(hw.text).toBe('t3 t4 :2\nt5 t6 t7 t8 :3\n');
    expect(() => a.hotwords([['h', 'ǎo']], [1, 2])).toThrow(/2 hotword boosts for 1 phrases/);
    expect(() => a.hotwords([['h', 'ǎo']], [Number.NaN])).toThrow(/finite number/);
  });

  it('rejects an empty token table', () => {
    expect(() => new TokenAliases('\n')).toThrow(/empty/);
  });
});

describe('search settings', () => {
  beforeAll(() => expect(isResolved(model)).toBe(true));
  const spec = () => ({ mode: 'recognizer' as const, entry: model.entry, files: model.files, threads: 1, dynamicBatch: false });

  it('greedy needs nothing, and refuses hotwords', () => {
    expect(searchConfig(spec(), { method: 'greedy' }).config).toEqual({ decodingMethod: 'greedy_search' });
    expect(() => searchConfig(spec(), { method: 'greedy', hotwords: [['h', 'ǎo']] })).toThrow(/beam search/);
  });

  it('beam search with the lexicon as hotwords: every phrase the model can spell, boosted by the given score', () => {
    const hotwords = lexiconHotwords(loadLexiconFile('zh'), model.files.tokens);
    expect(hotwords.length).toBeGreaterThan(100);
    expect(hotwords).toContainEqual(['k', 'ě', 'y', 'ǐ']);
    expect(hotwords).toContainEqual(['b', 'ù', 'k', 'ě', 'y', 'ǐ']);
    expect(hotwords).toContainEqual(['m', 'a']);
    // Fillers are not boosted: a bare 嗯 would appear in every breath.
    expect(hotwords).not.toContainEqual(['èn']);
    const s = searchConfig(spec(), { method: 'beam', maxActivePaths: 4, hotwords, boost: 2 });
    expect(s.config).toMatchObject({ decodingMethod: 'modified_beam_search', maxActivePaths: 4, hotwordsScore: 2 });
    expect(s.hotwords).toBe(hotwords.length);
    expect(s.skipped).toEqual([]);
  });

  it('weighs the refusal side apart and leaves out consent phrases that span a negator\'s place', () => {
    const lex = loadLexiconFile('zh');
    expect([...negatableSpans(lex)].sort()).toEqual(['嗯嗯好', '嗯好', '当然可以', '我同意', '我愿意', '还行'].sort());
    const { hotwords, boosts } = lexiconHotwordBoosts(lex, model.files.tokens, 2, 3);
    const boostOf = (t: string[]) => boosts[hotwords.findIndex((h) => h.join(' ') === t.join(' '))];
    expect(boostOf(['f', 'ǒu'])).toBe(3); // 否, a refusal
    expect(boostOf(['b', 'ù'])).toBe(3); // 不, a negator
    expect(boostOf(['h', 'ǎo'])).toBe(2); // 好, a consent
    expect(boostOf(['t', 'óng', 'y', 'ì'])).toBe(2); // 同意 stays …
    expect(hotwords).not.toContainEqual(['w', 'ǒ', 't', 'óng', 'y', 'ì']); // … 我同意 goes (我不同意)
    const s = searchConfig(spec(), { method: 'beam', maxActivePaths: 4, hotwords, boost: 2, phraseBoosts: boosts });
    expect(s.config).toMatchObject({ hotwordsBuf: expect.stringMatching(/ :3\n/) });
  });
});

describe('recognition with hotwords (worker pool, real model)', () => {
  const pools: Record<string, AsrWorkerPool> = {};
  const hotwords = lexiconHotwords(loadLexiconFile('zh'), model.files.tokens);
  const specs: Record<string, DecodingSpec> = {
    greedy: { method: 'greedy' },
    hotwords: { method: 'beam', maxActivePaths: 4, hotwords, boost: 1.5 },
  };
  beforeAll(async () => {
    for (const [k, decoding] of Object.entries(specs)) pools[k] = await AsrWorkerPool.start({ model: MODEL, mode: 'recognizer', workers: 1, decoding });
  }, 60_000);
  afterAll(async () => {
    for (const p of Object.values(pools)) await p.close();
  });

  it('says which search each pool runs', () => {
    expect(pools.greedy!.stats().engine).toMatch(/\(greedy\)$/);
    expect(pools.hotwords!.stats().engine).toMatch(/beam 4, \d+ hotwords \+1\.5/);
  });

  for (const rate of ['16k', '8k'] as const) {
    it(`hears 当然 where greedy search hears 当山 (${rate})`, async () => {
      const x = load16k(DANG_RAN, rate);
      const [g, h] = await Promise.all([run(pools.greedy!.open('g'), x), run(pools.hotwords!.open('h'), x)]);
      expect(tokensToSyllables(g.final.tokens).toneless.join(' ')).toBe('dang shan');
      expect(tokensToSyllables(h.final.tokens).toneless.join(' ')).toBe('dang ran');
      // Tokens come back as the model's own (not the aliases sherpa was given), with a time and a probability each.
      expect(h.final.text).toBe(h.final.tokens.join(' '));
      expect(h.final.tokenMs).toHaveLength(h.final.tokens.length);
      expect(h.final.logProbs).toHaveLength(h.final.tokens.length);
      for (const p of h.final.logProbs!) expect(p).toBeLessThanOrEqual(0);
    });
  }
});
