// How the consent feature turns `asr.search` and `consent.secondOpinion` into the recogniser's decoding and the
// engines beside it: what runs on a call is decided here, so each setting is checked to build what it says.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../gateway/config.js';
import { narrowbandSearch, recogniserSearch, rehearing, secondOpinion } from '../gateway/features/consent.js';
import { loadLexiconFile } from '../gateway/listen/consent/index.js';
import { isResolved, resolveModel } from '../gateway/models.js';

const lex = loadLexiconFile('zh');
const model = resolveModel('zipformer-wenetspeech-kws-3.3m');
const tokens = isResolved(model) ? model.files.tokens : undefined;
const cfg = (asr: Record<string, unknown>, consent: Record<string, unknown>) => loadConfig({}, { asr, consent });

describe('consent settings', () => {
  it.runIf(tokens)('gives 8 kHz calls their own beam width only when asr.narrowbandBeamPaths differs from beamPaths', () => {
    const { decoding } = recogniserSearch(cfg({}, {}), lex, 'pinyin-initial-final', tokens);
    const narrow = narrowbandSearch(cfg({ narrowbandBeamPaths: 8 }, {}), decoding);
    // The same hotwords and boosts: only the width differs.
    expect(narrow).toEqual({ ...decoding, maxActivePaths: 8 });
    expect(narrowbandSearch(cfg({ narrowbandBeamPaths: 4 }, {}), decoding)).toBeUndefined();
    expect(narrowbandSearch(cfg({ narrowbandBeamPaths: 8, search: 'greedy' }, {}), { method: 'greedy' })).toBeUndefined();
    // Shipped: 8 paths on 8 kHz calls (chosen per rate by the cross-speaker folds).
    expect(narrowbandSearch(cfg({}, {}), decoding)).toMatchObject({ maxActivePaths: 8 });
  });

  it.runIf(tokens)('ships hotword search, the refusal side weighed above the consents, with no second hearing (what the cross-speaker folds chose)', () => {
    const c = cfg({}, {});
    const { decoding } = recogniserSearch(c, lex, 'pinyin-initial-final', tokens);
    expect(decoding).toMatchObject({ method: 'beam', maxActivePaths: 4, boost: 2 });
    const d = decoding as { hotwords: string[][]; phraseBoosts: number[] };
    expect(d.phraseBoosts).toHaveLength(d.hotwords.length);
    expect(d.phraseBoosts[d.hotwords.findIndex((h) => h.join(' ') === 'f ǒu')]).toBe(3);
    expect(d.phraseBoosts[d.hotwords.findIndex((h) => h.join(' ') === 'h ǎo')]).toBe(2);
    expect(secondOpinion(c, lex, 'pinyin-initial-final', tokens, decoding)).toBeUndefined();
    // A yes heard in a VAD fragment decides nothing (README, consent: no natural false grant at any cut placement).
    expect(c.consent).toMatchObject({ minGrantSpeechMs: 96, fragmentGrants: 'listen', corroborate: 'none' });
  });

  it.runIf(tokens)('puts an unbiased greedy hearing of the same cut beside the hotword search when asked, and none beside greedy', () => {
    const c = cfg({}, { secondOpinion: 'unbiased', corroborate: 'syllable' });
    const { decoding } = recogniserSearch(c, lex, 'pinyin-initial-final', tokens);
    expect(secondOpinion(c, lex, 'pinyin-initial-final', tokens, decoding)).toEqual([{ mode: 'recognizer', decoding: { method: 'greedy' }, skipMs: 0 }]);
    expect(secondOpinion(cfg({ search: 'greedy' }, { secondOpinion: 'unbiased' }), lex, 'pinyin-initial-final', tokens, { method: 'greedy' })).toBeUndefined();
  });

  it('keeps greedy search selectable', () => {
    expect(recogniserSearch(cfg({ search: 'greedy' }, {}), lex, 'pinyin-initial-final', tokens).decoding).toEqual({ method: 'greedy' });
  });

  it.runIf(tokens)('biases beam search with the lexicon as hotwords, and puts the keyword spotter beside it when asked', () => {
    const c = cfg({ search: 'hotwords', hotwordBoost: 2 }, { secondOpinion: 'spotter' });
    const { decoding } = recogniserSearch(c, lex, 'pinyin-initial-final', tokens);
    expect(decoding).toMatchObject({ method: 'beam', boost: 2 });
    expect((decoding as { hotwords?: string[] }).hotwords?.length).toBeGreaterThan(50);
    expect(secondOpinion(c, lex, 'pinyin-initial-final', tokens, decoding)).toMatchObject([{ mode: 'kws' }]);
  });

  it('falls back to beam search without hotwords on a model whose tokens are not pinyin, and says so', () => {
    const r = recogniserSearch(cfg({ search: 'hotwords' }, {}), lex, 'char', tokens);
    expect(r.decoding).toEqual({ method: 'beam', maxActivePaths: 4 });
    expect(r.note).toMatch(/pinyin-token model/);
  });

  it('refuses a shifted second opinion that would start before the first decode', () => {
    expect(() => cfg({}, { secondOpinion: 'shifted', shiftMs: -160 })).toThrow(/shiftMs/);
    expect(secondOpinion(cfg({}, { secondOpinion: 'shifted', shiftMs: 160 }), lex, 'pinyin-initial-final', tokens, { method: 'greedy' })).toEqual([{ mode: 'recognizer', decoding: { method: 'greedy' }, skipMs: 160 }]);
  });
});

describe('the further hearings (consent.rehear), chosen per call rate', () => {
  it('ships none at 16 kHz and, at 8 kHz, one band-extended in the worker at 0 dB from the first cut', () => {
    const c = cfg({}, {});
    expect(rehearing(c, false)).toEqual([]);
    expect(rehearing(c, true)).toEqual([{ shiftMs: 0, transform: { kind: 'extendBandwidth', db: 0 } }]);
  });

  it('builds each rate from its own list: cut, input, level, in order', () => {
    const c = cfg({}, { rehear: { wideband: [{ input: 'same', shiftMs: -160 }], narrowband: [{ input: 'extended', shiftMs: 80, extensionDb: -5 }, { input: 'same' }] } });
    expect(rehearing(c, false)).toEqual([{ shiftMs: -160 }]);
    expect(rehearing(c, true)).toEqual([{ shiftMs: 80, transform: { kind: 'extendBandwidth', db: -5 } }, { shiftMs: 0 }]);
    const off = cfg({}, { rehear: { narrowband: [] } });
    expect(rehearing(off, true)).toEqual([]);
    // The rate not mentioned keeps its default.
    expect(rehearing(cfg({}, { rehear: { wideband: [{ input: 'same' }] } }), true)).toEqual([{ shiftMs: 0, transform: { kind: 'extendBandwidth', db: 0 } }]);
    expect(() => cfg({}, { rehear: { narrowband: [{ shiftMs: 0 }] } })).toThrow(/input/);
  });

  it('refuses the settings it replaced, by name', () => {
    expect(() => cfg({}, { narrowbandRehear: 'extended' })).toThrow(/narrowbandRehear/);
    expect(() => cfg({}, { secondOpinion: 'rehear' })).toThrow(/secondOpinion/);
  });
});
