// gateway/listen/interruption/InterruptionLexicon.ts: the bundled zh/en lexicons compiled to recogniser units, and
// how a transcript of the paused stretch is judged.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InterruptionLexicon } from '../gateway/listen/interruption/InterruptionLexicon.js';

const zh = InterruptionLexicon.load('zh', 'pinyin-initial-final');
const zhChars = InterruptionLexicon.load('zh', 'char');
const en = InterruptionLexicon.load('en', 'bpe');

describe('Mandarin, pinyin-token recogniser', () => {
  it.each([
    ['èn', '嗯'],
    ['èn èn', '嗯嗯'],
    ['ń ēn', '嗯嗯'],
    ['d uì d uì d uì', '对对对'],
    ['h ǎo d e h ǎo d e', '好的好的'],
    ['sh ì sh ì sh ì', '是是是'],
    ['sh ì d e', '是的'],
    ['x íng', '行'],
    ['ó', '哦'],
    ['àn', '嗯, heard as a nasal mid vowel'],
    ['àn àn', '嗯嗯'],
  ])('%s (%s) is a backchannel, whatever the repetitions', (text) => {
    expect(zh.judge(text)).toMatchObject({ kind: 'backchannel', clear: false, other: 0 });
  });

  it('tones do not matter (a backchannel said with another tone is still one)', () => {
    expect(zh.judge('d uí sh í h āo').kind).toBe('backchannel');
  });

  it.each([
    ['d ěng y ī x ià', '等一下'],
    ['b ú y òng l e', '不用了'],
    ['n ǐ sh ì sh éi', '你是谁'],
    ['b ù', '不'],
    ['b ié', '别'],
    ['sh éi', '谁'],
    ['m éi', '没 (没兴趣, 没空)'],
    ['t íng', '停'],
  ])('%s (%s) is clear content: an interruption word', (text, word) => {
    expect(zh.judge(text)).toMatchObject({ kind: 'content', clear: true });
    expect(zh.judge(text).word).not.toBeNull();
    void word;
  });

  it('a `tones: strict` entry matches only its own tone: 听 tīng (the recogniser\'s hearing of 行) is not 停 tíng', () => {
    expect(zh.judge('t íng')).toMatchObject({ kind: 'content', clear: true, word: '停' });
    expect(zh.judge('t ǐng').word).toBe('停'); // 2nd and 3rd tone are one, as in the consent lexicon (3-3 sandhi)
    expect(zh.judge('t īng')).toMatchObject({ kind: 'content', clear: false, word: null, other: 1 });
  });

  it('a backchannel prefix does not hide what follows: 对不起我不要 is content, 不对 is not 对', () => {
    expect(zh.judge('d uì b ù q ǐ w ǒ b ú y ào')).toMatchObject({ kind: 'content', clear: true });
    expect(zh.judge('b ú d uì')).toMatchObject({ kind: 'content', word: '不对' });
  });

  it('other words are content; clear only from clearUnits of them on', () => {
    expect(zh.judge('n ǐ')).toMatchObject({ kind: 'content', clear: false, other: 1 });
    expect(zh.judge('k ě y ǐ')).toMatchObject({ kind: 'content', clear: false, other: 2 });
    expect(zh.judge('w ǒ h ěn m áng')).toMatchObject({ kind: 'content', clear: true, other: 3 });
    expect(zh.judge('èn k ě')).toMatchObject({ kind: 'content', clear: false, other: 1 });
  });

  it('a bare initial (a syllable not yet heard out) counts for nothing', () => {
    expect(zh.judge('sh')).toMatchObject({ kind: 'none', units: 0 });
    expect(zh.judge('sh ì sh')).toMatchObject({ kind: 'backchannel', units: 1 });
  });

  it('nothing recognised is "none"', () => {
    expect(zh.judge('')).toMatchObject({ kind: 'none', units: 0 });
    expect(zh.judge('  ')).toMatchObject({ kind: 'none' });
  });
});

describe('Mandarin, character recogniser; English', () => {
  it('characters are compared as characters', () => {
    expect(zhChars.judge('对对对').kind).toBe('backchannel');
    expect(zhChars.judge('等一下').kind).toBe('content');
    expect(zhChars.judge('好的，好的。').kind).toBe('backchannel');
  });
  it('English backchannels and interruptions, normalised like the consent lexicon', () => {
    expect(en.judge('uh huh').kind).toBe('backchannel');
    expect(en.judge('Yeah, yeah. Okay.').kind).toBe('backchannel');
    expect(en.judge('▁WA IT')).toMatchObject({ kind: 'content', clear: true, word: 'wait' });
    expect(en.judge('sorry who is this')).toMatchObject({ kind: 'content', clear: true });
    expect(en.judge('yeah?')).toMatchObject({ kind: 'content', clear: true });
  });
});

describe('lexicon files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-ilex-'));
  it('a custom file replaces the bundled one', () => {
    const f = join(dir, 'custom.yaml');
    writeFileSync(f, 'language: zh\nbackchannel: [嗯, 明白]\ninterruption: [喂]\nclearUnits: 3\n');
    const lex = InterruptionLexicon.load('zh', 'pinyin-initial-final', f);
    expect(lex.judge('m íng b ái').kind).toBe('backchannel');
    expect(lex.judge('d uì').kind).toBe('content');
    expect(lex.judge('n ǐ h ǎo')).toMatchObject({ kind: 'content', clear: false });
  });
  it('a file for another language or without backchannels is refused, naming the file', () => {
    const f = join(dir, 'en.yaml');
    writeFileSync(f, 'language: en\nbackchannel: [yeah]\n');
    expect(() => InterruptionLexicon.load('zh', 'char', f)).toThrow(/en\.yaml.*"en", expected "zh"/);
    const g = join(dir, 'empty.yaml');
    writeFileSync(g, 'language: zh\nbackchannel: []\n');
    expect(() => InterruptionLexicon.load('zh', 'char', g)).toThrow(/empty\.yaml/);
  });
});
