// The key quality check of speech output: what a real Mandarin recogniser hears back from our voices.
// For each engine, text → normalise → pinyin → audio is recognised and scored (syllable error rate, toneless)
// against the reading a person would give; the same engine voicing that hand-written reading is the bar the
// text path must reach (so normalisation/pinyin mistakes show up as a gap between the two).
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { int16ToFloat } from '../gateway/audio/codec.js';
import { collectPcm, EspeakEngine, SyllableVoice } from '../gateway/speak/index.js';

const require = createRequire(import.meta.url);
const sherpa = require('sherpa-onnx-node') as {
  OnlineRecognizer: new (c: unknown) => {
    createStream(): { acceptWaveform(a: { samples: Float32Array; sampleRate: number }): void; inputFinished(): void };
    isReady(s: unknown): boolean;
    decode(s: unknown): void;
    getResult(s: unknown): { text: string; tokens: string[] };
  };
};

const MODEL = join(import.meta.dirname, '..', '..', 'shared', 'models', 'sherpa-onnx-kws-zipformer-wenetspeech-3.3M-2024-01-01-mobile');

const PROMPTS: { text: string; reading: string }[] = [
  { text: '您本月账单5000元，请于2026年3月1日前缴清。', reading: 'nin2 ben3 yue4 zhang4 dan1 wu3 qian1 yuan2 ， qing3 yu2 er4 ling2 er4 liu4 nian2 san1 yue4 yi1 ri4 qian2 jiao3 qing1 。' },
  { text: '客服电话138 0013 8000。', reading: 'ke4 fu2 dian4 hua4 yao1 san1 ba1 | ling2 ling2 yao1 san1 | ba1 ling2 ling2 ling2 。' },
  { text: '您的余额为¥1,234.50。', reading: 'nin2 de5 yu2 e2 wei2 yi4 qian1 er4 bai3 san1 shi2 si4 yuan2 wu3 jiao3 。' },
  { text: '请在14:30之前回电。', reading: 'qing3 zai4 shi2 si4 dian3 san1 shi2 fen1 zhi1 qian2 hui2 dian4 。' },
  { text: '您的贷款利率为3.5%。', reading: 'nin2 de5 dai4 kuan3 li4 lv4 wei2 bai3 fen1 zhi1 san1 dian3 wu3 。' },
  { text: '通话大约需要2分钟。', reading: 'tong1 hua4 da4 yue1 xu1 yao4 liang3 fen1 zhong1 。' },
  { text: '您有3.5万元的额度，有效期到2026-03-01。', reading: 'nin2 you3 san1 dian3 wu3 wan4 yuan2 de5 e2 du4 ， you3 xiao4 qi1 dao4 er4 ling2 er4 liu4 nian2 san1 yue4 yi1 ri4 。' },
  { text: '如有疑问请拨打10086。', reading: 'ru2 you3 yi2 wen4 qing3 bo1 da3 yao1 ling2 ling2 ba1 liu4 。' },
];

const INITIALS = new Set(['b', 'p', 'm', 'f', 'd', 't', 'n', 'l', 'g', 'k', 'h', 'j', 'q', 'x', 'zh', 'ch', 'sh', 'r', 'z', 'c', 's', 'y', 'w']);

function stripTone(tok: string): string {
  return tok
    .normalize('NFD')
    .replace(/[\u0300\u0301\u0304\u030c]/g, '')
    .normalize('NFC')
    .replace(/ü/g, 'v');
}

/** Recogniser tokens (initials and tonal finals: "b ù k ě y ǐ") → toneless syllables ["bu","ke","yi"]. */
export function tokensToSyllables(tokens: string[]): string[] {
  const out: string[] = [];
  let initial = '';
  for (const t of tokens) {
    if (!/^[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńň]+$/.test(t)) continue; // English letters (upper case), symbols
    if (INITIALS.has(t)) {
      if (initial) out.push(initial); // an initial with no final: keep it rather than lose the slot
      initial = t;
    } else {
      out.push(initial + stripTone(t));
      initial = '';
    }
  }
  if (initial) out.push(initial);
  return out;
}

function readingSyllables(reading: string): string[] {
  return reading
    .split(/\s+/)
    .filter((t) => /^[a-zü]+[1-5]$/.test(t))
    .map((t) => t.slice(0, -1).replace(/ü/g, 'v'));
}

function editDistance(a: string[], b: string[]): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

const recognizer = new sherpa.OnlineRecognizer({
  featConfig: { sampleRate: 16000, featureDim: 80 },
  modelConfig: {
    transducer: {
      encoder: join(MODEL, 'encoder-epoch-12-avg-2-chunk-16-left-64.int8.onnx'),
      decoder: join(MODEL, 'decoder-epoch-12-avg-2-chunk-16-left-64.onnx'),
      joiner: join(MODEL, 'joiner-epoch-12-avg-2-chunk-16-left-64.int8.onnx'),
    },
    tokens: join(MODEL, 'tokens.txt'),
    numThreads: 1,
    provider: 'cpu',
    modelType: 'zipformer2',
  },
});

function recognise(pcm16k: Int16Array): string[] {
  const s = recognizer.createStream();
  // 0.5 s of silence each side: the streaming model drops the first syllable of audio that starts abruptly.
  const pad = new Float32Array(8000);
  for (const x of [pad, int16ToFloat(pcm16k), pad]) s.acceptWaveform({ samples: x, sampleRate: 16000 });
  s.inputFinished();
  while (recognizer.isReady(s)) recognizer.decode(s); // one stream at a time: this model has batch size 1
  return tokensToSyllables(recognizer.getResult(s).tokens);
}

interface PinyinCapable {
  id: string;
  synthesize(text: string, o: { language: 'zh'; sampleRate: 16000 }): AsyncIterable<Int16Array>;
  synthesizePinyin(p: string, o: { language: 'zh'; sampleRate: 16000 }): AsyncIterable<Int16Array>;
}

async function score(engine: PinyinCapable, path: 'text' | 'pinyin'): Promise<{ ser: number; lines: string[] }> {
  let edits = 0;
  let total = 0;
  const lines: string[] = [];
  for (const p of PROMPTS) {
    const opts = { language: 'zh' as const, sampleRate: 16000 as const };
    const audio = await collectPcm(path === 'text' ? engine.synthesize(p.text, opts) : engine.synthesizePinyin(p.reading, opts));
    const ref = readingSyllables(p.reading);
    const hyp = recognise(audio);
    const e = editDistance(hyp, ref);
    edits += e;
    total += ref.length;
    lines.push(`  ${(e / ref.length).toFixed(2)}  ${hyp.join(' ')}  | ref ${ref.join(' ')}`);
  }
  return { ser: edits / total, lines };
}

describe('TTS round trip through the Mandarin recogniser', () => {
  it('converts recogniser tokens to toneless syllables', () => {
    expect(tokensToSyllables(['b', 'ù', 'k', 'ě', 'y', 'ǐ', 'èr', 'l', 'ǜ', 'A'])).toEqual(['bu', 'ke', 'yi', 'er', 'lv']);
    expect(editDistance(['a', 'b', 'c'], ['a', 'c'])).toBe(1);
  });

  // Absolute caps as well as the relative one: silent or garbled output scores 1.0 on both paths and would pass a
  // comparison alone. Measured: 0.149 (syllable voice) and 0.51 (espeak-ng).
  const engines: [PinyinCapable, number][] = [
    [new SyllableVoice({ dataDir: mkdtempSync(join(tmpdir(), 'earshot-tts-rt-')) }), 0.15],
    [new EspeakEngine(), 0.65],
  ];
  for (const [engine, maxSer] of engines) {
    it(`${engine.id}: text path is as intelligible as the hand-written reading`, async () => {
      const text = await score(engine, 'text');
      const hand = await score(engine, 'pinyin');
      process.stdout.write(
        `[tts-roundtrip] ${engine.id}: SER text path ${text.ser.toFixed(3)}, hand-written pinyin ${hand.ser.toFixed(3)}\n` +
          `text path:\n${text.lines.join('\n')}\nhand-written:\n${hand.lines.join('\n')}\n`,
      );
      expect(text.ser).toBeLessThanOrEqual(hand.ser + 0.03);
      expect(text.ser).toBeLessThanOrEqual(maxSer);
      expect(hand.ser).toBeLessThanOrEqual(maxSer + 0.05);
    });
  }
});
