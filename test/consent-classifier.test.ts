import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readWavFloat } from '../gateway/audio/wav.js';
import {
  ConsentClassifier, RECOMMENDED_KWS_SETTINGS, buildKeywords, charsToPinyinTokens, keywordsFileText, loadLexiconFile,
  readTokenSet, spottedToInput, type ConsentDecision, type SpottedKeyword,
} from '../gateway/listen/consent/index.js';
import { isResolved, resolveModel, type ResolvedModel } from '../gateway/models.js';
import { labels, type Label } from './helpers/corpus.js';

const require = createRequire(import.meta.url);
const SHARED = resolve(import.meta.dirname, '..', '..', 'shared');
const classifier = new ConsentClassifier();
const model = ((): ResolvedModel => {
  const r = resolveModel('zipformer-wenetspeech-kws-3.3m');
  if (!isResolved(r)) throw new Error(`KWS model files missing: ${r.missing.join(', ')}`);
  return r;
})();
const modelTokens = readTokenSet(model.files.tokens!);

type Case = [text: string, expected: ConsentDecision, complaint?: boolean];

const ZH: Case[] = [
  // plain consent
  ['是', 'granted'], ['是的', 'granted'], ['是啊', 'granted'], ['对', 'granted'], ['对的', 'granted'], ['对啊', 'granted'],
  ['可以', 'granted'], ['可以的', 'granted'], ['可以啊', 'granted'], ['好', 'granted'], ['好的', 'granted'], ['好啊', 'granted'],
  ['好吧', 'granted'], ['行', 'granted'], ['行啊', 'granted'], ['没问题', 'granted'], ['没有问题', 'granted'], ['同意', 'granted'],
  ['我同意', 'granted'], ['愿意', 'granted'], ['我愿意', 'granted'], ['当然', 'granted'], ['当然可以', 'granted'], ['嗯好', 'granted'],
  ['嗯，好的', 'granted'], ['肯定', 'granted'], ['好的，没问题', 'granted'], ['对啊没问题', 'granted'], ['可以可以可以', 'granted'],
  ['喂，可以', 'granted'], ['还行', 'granted'], ['请说', 'granted'], ['是的，我同意', 'granted'],
  // refusals and negation scope
  ['不', 'refused'], ['不是', 'refused'], ['不要', 'refused'], ['不用', 'refused'], ['不用了', 'refused'], ['不需要', 'refused'],
  ['不行', 'refused'], ['不可以', 'refused'], ['不同意', 'refused'], ['我不同意', 'refused'], ['不愿意', 'refused'], ['我不愿意', 'refused'],
  ['没兴趣', 'refused'], ['没有兴趣', 'refused'], ['拒绝', 'refused'], ['算了', 'refused'], ['别', 'refused'], ['没有', 'refused'],
  ['否', 'refused'], ['不太好', 'refused'], ['不太可以', 'refused'], ['不是很愿意', 'refused'], ['不对', 'refused'], ['不必', 'refused'],
  ['不用了，谢谢', 'refused'], ['对不起我不要', 'refused'], ['不要啊', 'refused'], ['不是不是', 'refused'], ['当然不', 'refused'],
  ['不用了，我现在很忙', 'refused'], ['我现在在开会', 'refused'], ['不想', 'refused'],
  // contrast: only what follows the last contrast word can consent; any refusal wins
  ['可以，不过我不需要', 'refused'], ['好的，但是不用了', 'refused'], ['可以，不过', 'unclear'], ['好的，但是你是谁', 'unclear'],
  ['不行，但是可以', 'refused'], ['好，就是没时间', 'refused'],
  // several phrases: a refusal anywhere beats consent
  ['好的，不要', 'refused'], ['可以，不行', 'refused'], ['对，不需要', 'refused'],
  // complaints
  ['别打了', 'refused', true], ['不要再打了', 'refused', true], ['别再打了', 'refused', true], ['我要投诉你', 'refused', true],
  ['你们这是骚扰', 'refused', true], ['烦不烦啊', 'refused', true], ['好的，别再打了', 'refused', true],
  // questions
  ['可以吗', 'unclear'], ['可以吗？', 'unclear'], ['是吗', 'unclear'], ['是吗？', 'unclear'], ['是不是', 'unclear'], ['可不可以', 'unclear'],
  ['好不好', 'unclear'], ['行不行', 'unclear'], ['对不对', 'unclear'], ['要不要', 'unclear'], ['愿不愿意', 'unclear'], ['好吗', 'unclear'],
  ['你是谁', 'unclear'], ['你是谁？', 'unclear'], ['你是谁啊', 'unclear'], ['你谁啊', 'unclear'], ['谁', 'unclear'], ['谁啊', 'unclear'],
  ['什么', 'unclear'], ['你说什么？', 'unclear'], ['为什么', 'unclear'], ['怎么了', 'unclear'], ['你是哪位', 'unclear'],
  ['是什么产品', 'unclear'], ['对吗', 'unclear'], ['行吗', 'unclear'], ['可以的吗', 'unclear'], ['同不同意', 'unclear'],
  // hesitations, fillers and non-answers
  ['嗯', 'unclear'], ['嗯……', 'unclear'], ['嗯嗯', 'unclear'], ['我考虑一下', 'unclear'], ['等一下', 'unclear'], ['喂', 'unclear'],
  ['喂？', 'unclear'], ['好，我考虑一下', 'unclear'], ['不知道', 'unclear'], ['可能吧', 'unclear'], ['也许', 'unclear'], ['', 'unclear'],
  ['不好意思', 'unclear'], ['对不起', 'unclear'], ['谢谢', 'unclear'], ['我姓王', 'unclear'], ['十点', 'unclear'], ['几号', 'unclear'],
  ['等等，可以', 'unclear'], ['不确定', 'unclear'],
];

const EN: Case[] = [
  ['yes', 'granted'], ['yeah', 'granted'], ['sure', 'granted'], ['okay', 'granted'], ['ok', 'granted'], ['go ahead', 'granted'],
  ['yes, I agree', 'granted'], ['I agree', 'granted'], ['of course', 'granted'], ["that's fine", 'granted'], ['no problem', 'granted'],
  ['yep sure', 'granted'], ['alright go ahead', 'granted'], ["I don't mind", 'granted'], ['▁YES ▁I ▁A GREE', 'granted'], ['YES', 'granted'],
  ['no', 'refused'], ['nope', 'refused'], ['not interested', 'refused'], ['no thanks', 'refused'], ["don't", 'refused'], ['do not', 'refused'],
  ['never', 'refused'], ['remove me from your list', 'refused'], ['not okay', 'refused'], ["I don't agree", 'refused'], ['I do not agree', 'refused'],
  ['sure, but not now', 'refused'], ['yes no', 'refused'], ['NO THANKS', 'refused'], ['dont', 'refused'], ['not really okay', 'refused'],
  ['stop calling me', 'refused', true], ['do not call me again', 'refused', true], ["I'll report you", 'refused', true], ['stop calling', 'refused', true],
  ['who is this?', 'unclear'], ['what did you say?', 'unclear'], ['is this a sales call?', 'unclear'], ['why', 'unclear'], ['yes?', 'unclear'],
  ['okay?', 'unclear'], ['maybe', 'unclear'], ['not sure', 'unclear'], ["I'm not sure", 'unclear'], ["I don't know", 'unclear'], ['hold on', 'unclear'],
  ['sure, but', 'unclear'], ['uh huh', 'unclear'], ['hello', 'unclear'], ['', 'unclear'], ['what is it about', 'unclear'],
];

describe('Mandarin rules (characters and the model\'s pinyin tokens)', () => {
  it('has at least 80 Mandarin and 40 English written examples', () => {
    expect(ZH.length).toBeGreaterThanOrEqual(80);
    expect(EN.length).toBeGreaterThanOrEqual(40);
  });

  for (const [text, expected, complaint] of ZH) {
    it(`${text || '(empty)'} → ${expected}${complaint ? ' + complaint' : ''}`, () => {
      const tokens = charsToPinyinTokens(text);
      for (const input of [
        { text, tokenType: 'char' as const, language: 'zh' as const },
        { text: tokens, tokenType: 'pinyin-initial-final' as const, language: 'zh' as const },
      ]) {
        const r = classifier.classify(input);
        expect(r.decision, `${input.tokenType}: "${input.text}" (${r.reason})`).toBe(expected);
        expect(r.complaint).toBe(complaint ?? false);
        expect(r.confidence).toBeGreaterThanOrEqual(0);
        expect(r.confidence).toBeLessThanOrEqual(1);
      }
    });
  }
});

describe('English rules', () => {
  for (const [text, expected, complaint] of EN) {
    it(`${text || '(empty)'} → ${expected}${complaint ? ' + complaint' : ''}`, () => {
      for (const tokenType of ['bpe', 'word'] as const) {
        const r = classifier.classify({ text, tokenType, language: 'en' });
        expect(r.decision, `${tokenType}: "${text}" (${r.reason})`).toBe(expected);
        expect(r.complaint).toBe(complaint ?? false);
      }
    });
  }
});

describe('safety', () => {
  it('never grants on any refused or unclear example, in any form', () => {
    const falseGrants: string[] = [];
    for (const [text, expected] of ZH) {
      if (expected === 'granted') continue;
      for (const input of [
        { text, tokenType: 'char' as const, language: 'zh' as const },
        { text: charsToPinyinTokens(text), tokenType: 'pinyin-initial-final' as const, language: 'zh' as const },
      ]) if (classifier.classify(input).decision === 'granted') falseGrants.push(`${input.tokenType}:${input.text}`);
    }
    for (const [text, expected] of EN) {
      if (expected !== 'granted' && classifier.classify({ text, tokenType: 'bpe', language: 'en' }).decision === 'granted') falseGrants.push(`en:${text}`);
    }
    expect(falseGrants).toEqual([]);
  });
});

describe('pinyin token form', () => {
  it('converts characters exactly as the model writes tokens', () => {
    expect(charsToPinyinTokens('不可以')).toBe('b ù k ě y ǐ');
    expect(charsToPinyinTokens('可以吗')).toBe('k ě y ǐ m a'); // neutral tone: final without diacritic
    expect(charsToPinyinTokens('我愿意')).toBe('w ǒ y uàn y ì'); // y/w are initials in this model
    expect(charsToPinyinTokens('我考虑一下')).toBe('w ǒ k ǎo l ǜ y ī x ià'); // ü kept after l, citation 一
    expect(charsToPinyinTokens('没兴趣')).toBe('m éi x ìng q ù'); // ü written u after q
    expect(charsToPinyinTokens('你是谁')).toBe('n ǐ sh ì sh éi');
    expect(charsToPinyinTokens('你好军哥')).toBe('n ǐ h ǎo j ūn g ē'); // the model's own keywords.txt line
  });

  it('every token of every lexicon phrase and label text exists in tokens.txt', () => {
    const { skipped } = buildKeywords(loadLexiconFile('zh'), { tokens: modelTokens });
    expect(skipped).toEqual([]);
    const missing = new Set<string>();
    for (const l of consentLabels()) {
      if (l.lang !== 'zh') continue;
      for (const t of charsToPinyinTokens(l.text).split(' ')) if (t && !modelTokens.has(t)) missing.add(`${l.text}:${t}`);
    }
    expect([...missing]).toEqual([]);
    for (const neutral of ['a', 'e', 'i']) expect(modelTokens.has(neutral)).toBe(true);
  });

  const handWritten: Array<[string, ConsentDecision]> = [
    ['k ě y ǐ', 'granted'], ['k é y ǐ', 'granted'], // 3-3 sandhi as spoken: toneless matching does not care
    ['k ě y ǐ m a', 'unclear'], ['b ù k ě y ǐ', 'refused'], ['b ú y ào', 'refused'], ['b ù y ào', 'refused'],
    ['sh ì', 'granted'], ['sh í', 'unclear'], ['sh ǐ', 'unclear'], // 是 needs its tone: 十/时/使 are not consent
    ['x íng', 'granted'], ['x ǐng', 'granted'], ['x ìng', 'unclear'], // 行 vs 姓/性
    ['h ǎo', 'granted'], ['h áo', 'granted'], ['h ào', 'unclear'], // 好 vs 号
    ['h ǎo d e', 'granted'], ['h ào d e', 'granted'], // multi-syllable phrases stay toneless
    ['m éi w èn t í', 'granted'], ['m éi y ǒu', 'refused'], ['d uì b ù q ǐ', 'unclear'],
    ['kě yǐ', 'granted'], ['kěyǐ ma', 'unclear'], ['ke3 yi3', 'granted'], ['bu4 ke3 yi3', 'refused'], ['shi4 ma5', 'unclear'],
    ['n ǐ sh ì sh éi', 'unclear'], ['n ǐ sh ì sh uí', 'unclear'], ['èn', 'unclear'], ['ń', 'unclear'], ['', 'unclear'],
    ['sh ì b ù sh ì', 'unclear'], ['t óng b ù t óng y ì', 'unclear'], ['b ié d ǎ l e', 'refused'],
  ];
  for (const [text, expected] of handWritten) {
    it(`"${text}" → ${expected}`, () => {
      const r = classifier.classify({ text, tokenType: 'pinyin-initial-final', language: 'zh' });
      expect(r.decision, r.reason).toBe(expected);
    });
  }

  it('reports the lexicon phrase in characters, also for pinyin input', () => {
    expect(classifier.classify({ text: 'b ù t ài h ǎo', tokenType: 'pinyin-initial-final', language: 'zh' }).phrase).toBe('不太好');
    expect(classifier.classify({ text: charsToPinyinTokens('不是很愿意'), tokenType: 'pinyin-initial-final', language: 'zh' }).phrase).toBe('不是…愿意');
    expect(classifier.classify({ text: 'b ù k ě y ǐ', tokenType: 'pinyin-initial-final', language: 'zh' }).phrase).toBe('不可以');
    expect(classifier.classify({ text: 'b ié d ǎ l e', tokenType: 'pinyin-initial-final', language: 'zh' })).toMatchObject({ phrase: '别打了', complaint: true });
  });
});

describe('confidence', () => {
  const conf = (text: string, asrConfidence?: number): number =>
    classifier.classify({ text, tokenType: 'char', language: 'zh', ...(asrConfidence === undefined ? {} : { asrConfidence }) }).confidence;

  it('is highest for one exact phrase and lower with extra phrases or unmatched words', () => {
    expect(conf('可以')).toBeGreaterThan(0.9);
    expect(conf('可以')).toBeGreaterThan(conf('好的，没问题'));
    expect(conf('可以')).toBeGreaterThan(conf('可以啊那个产品'));
    expect(conf('不可以')).toBeGreaterThan(conf('好的，但是不用了'));
    expect(conf('')).toBe(0);
  });

  it('scales with the recogniser confidence', () => {
    expect(conf('可以', 0.5)).toBeCloseTo(conf('可以') * 0.5, 2);
    expect(conf('可以', 0)).toBe(0);
    expect(conf('可以', 7)).toBe(conf('可以')); // clamped
  });
});

describe('lexicon override', () => {
  const dir = mkdtempSync(join(tmpdir(), 'consent-lex-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('uses a configured lexicon file instead of the bundled one', () => {
    const path = join(dir, 'zh.yaml');
    writeFileSync(path, 'language: zh\nconsent: [成交]\nrefusal: [不]\nquestions: [吗]\n');
    const custom = new ConsentClassifier({ lexiconPaths: { zh: path } });
    expect(custom.classify({ text: '成交', tokenType: 'char', language: 'zh' }).decision).toBe('granted');
    expect(custom.classify({ text: 'ch éng j iāo', tokenType: 'pinyin-initial-final', language: 'zh' }).decision).toBe('granted');
    expect(custom.classify({ text: '可以', tokenType: 'char', language: 'zh' }).decision).toBe('unclear');
    expect(classifier.classify({ text: '成交', tokenType: 'char', language: 'zh' }).decision).toBe('unclear');
  });

  it('rejects a malformed lexicon with the file name', () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'language: zh\nconsent: []\n');
    expect(() => new ConsentClassifier({ lexiconPaths: { zh: path } }).classify({ text: '好', tokenType: 'char', language: 'zh' })).toThrow(/bad\.yaml/);
  });
});

type ConsentLabel = Label & { lang: 'zh' | 'en'; text: string; expected: ConsentDecision };
function consentLabels(): ConsentLabel[] {
  return labels(join(SHARED, 'audio')).filter((l): l is ConsentLabel => l.kind === 'consent');
}

describe('labels.jsonl texts', () => {
  it('classifies the text of every consent label correctly (pinyin tokens, characters, English words)', () => {
    const labels = consentLabels();
    expect(labels.length).toBeGreaterThan(150);
    const wrong: string[] = [];
    for (const l of labels) {
      const inputs = l.lang === 'zh'
        ? [{ text: charsToPinyinTokens(l.text), tokenType: 'pinyin-initial-final' as const, language: 'zh' as const },
           { text: l.text, tokenType: 'char' as const, language: 'zh' as const }]
        : [{ text: l.text.toUpperCase().replace(/[?,]/g, '').split(' ').map((w) => `▁${w}`).join(' '), tokenType: 'bpe' as const, language: 'en' as const },
           { text: l.text, tokenType: 'word' as const, language: 'en' as const }];
      for (const input of inputs) {
        const r = classifier.classify(input);
        if (r.decision !== l.expected) wrong.push(`${l.file} "${input.text}" expected ${l.expected} got ${r.decision} (${r.reason})`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe('keyword spotter list', () => {
  const { keywords } = buildKeywords(loadLexiconFile('zh'), { tokens: modelTokens });
  const text = keywordsFileText(keywords);

  it('spells phrases, negated and question forms as their own keywords', () => {
    const lines = text.trim().split('\n');
    expect(lines).toContain('k ě y ǐ @可以');
    expect(lines).toContain('b ù k ě y ǐ @不可以');
    expect(lines).toContain('k ě y ǐ m a @可以吗');
    expect(lines).toContain('b ù h ǎo @不好');
    expect(lines).toContain('b ié d ǎ l e @别打了');
    expect(lines.some((l) => l.endsWith('@嗯'))).toBe(false); // a bare backchannel is never a keyword
    expect(new Set(lines.map((l) => l.split(' @')[0])).size).toBe(lines.length); // no duplicate token sequences
  });

  it('joins spotted events into classifier input, with breaks across long gaps', () => {
    expect(spottedToInput([{ keyword: '不', endTime: 1.0 }, { keyword: '可以', startTime: 1.1, endTime: 1.4 }]).text).toBe('不可以');
    expect(spottedToInput([{ keyword: '可以', endTime: 1.0 }, { keyword: '吗', startTime: 1.1 }]).text).toBe('可以吗');
    expect(spottedToInput([{ keyword: '不', endTime: 1.0 }, { keyword: '好', startTime: 3.0, endTime: 3.2 }]).text).toBe('不，好');
    expect(classifier.classify(spottedToInput([{ keyword: '可以' }, { keyword: '吗' }])).decision).toBe('unclear');
    expect(classifier.classify(spottedToInput([]))).toMatchObject({ decision: 'unclear', confidence: 0 });
  });

  it('loads into a real sherpa-onnx KeywordSpotter and spots consent on natural recordings', () => {
    const sherpa = require('sherpa-onnx-node') as {
      KeywordSpotter: new (c: object) => {
        createStream(): { acceptWaveform(o: { samples: Float32Array; sampleRate: number }): void };
        isReady(s: unknown): boolean; decode(s: unknown): void; getResult(s: unknown): { keyword: string }; reset(s: unknown): void;
      };
    };
    const dir = mkdtempSync(join(tmpdir(), 'consent-kws-'));
    try {
      const keywordsFile = join(dir, 'keywords.txt');
      writeFileSync(keywordsFile, text);
      const kws = new sherpa.KeywordSpotter({
        featConfig: { sampleRate: 16000, featureDim: 80 },
        modelConfig: {
          transducer: { encoder: model.files.encoder, decoder: model.files.decoder, joiner: model.files.joiner },
          tokens: model.files.tokens, numThreads: 1, provider: 'cpu', debug: 0,
        },
        ...RECOMMENDED_KWS_SETTINGS,
        keywordsFile,
      });
      const spot = (file: string): SpottedKeyword[] => {
        const { samples, sampleRate } = readWavFloat(join(SHARED, 'audio', file));
        expect(sampleRate).toBe(16000);
        const padded = new Float32Array(samples.length + sampleRate / 2); // closing silence, as after a VAD end
        padded.set(samples);
        const stream = kws.createStream();
        const hits: SpottedKeyword[] = [];
        const step = 1600;
        for (let o = 0; o < padded.length; o += step) {
          stream.acceptWaveform({ samples: padded.subarray(o, o + step), sampleRate });
          while (kws.isReady(stream)) {
            kws.decode(stream);
            const r = kws.getResult(stream);
            if (r.keyword) {
              const t = Math.min(o + step, padded.length) / sampleRate;
              hits.push({ keyword: r.keyword, startTime: t, endTime: t });
              kws.reset(stream);
            }
          }
        }
        return hits;
      };
      const cases: Array<[string, string, ConsentDecision]> = [
        ['natural/101_tts-supervocab_ke3_yi3.wav', '可以', 'granted'],
        ['natural/182_vtuber-hiiro_wo3_bu4_tong2_yi4.wav', '我不同意', 'refused'],
        ['natural/183_vtuber-hiiro_ni3_shi4_shei2.wav', '你是谁', 'unclear'],
      ];
      for (const [file, phrase, expected] of cases) {
        const hits = spot(file);
        const input = spottedToInput(hits);
        if (phrase === '可以') expect(hits.map((h) => h.keyword)).toContain('可以');
        expect(classifier.classify(input).decision, `${file}: ${input.text}`).toBe(expected);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
