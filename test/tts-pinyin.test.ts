import { describe, expect, it } from 'vitest';
import { normalizeZh } from '../gateway/speak/text/normalize.js';
import { parsePinyinPhrases, toPinyin, toPinyinPhrases } from '../gateway/speak/text/pinyin.js';

const py = (t: string) => toPinyin(t).join(' ');

describe('pinyin with sandhi', () => {
  it('resolves polyphones by word', () => {
    expect(py('银行行长')).toBe('yin2 hang2 hang2 zhang3');
    expect(py('行走')).toBe('xing2 zou3');
    expect(py('他长大了')).toBe('ta1 zhang3 da4 le5');
    expect(py('了解')).toBe('liao2 jie3'); // 3-3 inside the word
  });
  it('applies 不 and 一 sandhi, but not in digit readings', () => {
    expect(py('不要')).toBe('bu2 yao4');
    expect(py('不好')).toBe('bu4 hao3');
    expect(py('一个')).toBe('yi2 ge4');
    expect(py('一天')).toBe('yi4 tian1');
    expect(py('一百')).toBe('yi4 bai3');
    expect(py('第一')).toBe('di4 yi1');
    expect(py('十一')).toBe('shi2 yi1');
    expect(py('一月一日')).toBe('yi1 yue4 yi1 ri4');
    expect(py(normalizeZh('2016年'))).toBe('er4 ling2 yi1 liu4 nian2');
  });
  it('applies third-tone sandhi', () => {
    expect(py('你好')).toBe('ni2 hao3');
    expect(py('很好')).toBe('hen2 hao3');
    expect(py('五百')).toBe('wu2 bai3');
  });
  it('splits phrases at punctuation with pause kinds', () => {
    const p = toPinyinPhrases(normalizeZh('客服电话138 0013 8000。您好，再见！'));
    expect(p.map((x) => x.pause)).toEqual(['breath', 'breath', 'period', 'comma', 'period']);
  });
  it('parses hand-written pinyin', () => {
    const p = parsePinyinPhrases('nin2 hao3 ， luu3 nuue4 。');
    expect(p.map((x) => x.syllables.map((s) => `${s.pinyin}${s.tone}`))).toEqual([['nin2', 'hao3'], ['lv3', 'nve4']]);
  });
  it('gives the reading a person would for a billing sentence', () => {
    expect(py(normalizeZh('您本月账单5000元，请于2026年3月1日前缴清。'))).toBe(
      'nin2 ben3 yue4 zhang4 dan1 wu3 qian1 yuan2 qing3 yu2 er4 ling2 er4 liu4 nian2 san1 yue4 yi1 ri4 qian2 jiao3 qing1',
    );
  });
});
