// The human speech the scenarios are made of, and which half of the corpus each speaker belongs to. Everything
// comes from ../shared/audio (natural/, real/, the real callers of bargein/) and ../shared/voices (one person's
// recordings of every Mandarin syllable, voiced through the gateway's own SyllableVoice). A speaker's clips are in
// one half only: the detector is tuned on `tune` and judged on `test`, on voices it has never heard.
import { join } from 'node:path';
import { int16ToFloat } from '../../gateway/audio/codec.js';
import { readWav } from '../../gateway/audio/wav.js';
import { SyllableVoice } from '../../gateway/speak/tts/SyllableVoice.js';
import { readLabels, type Label } from '../scenarios.js';
import { db, filter, ms, rms, SR } from './dsp.js';

export type Split = 'tune' | 'test';
/** How a clip serves a scenario: a backchannel unit, a short content phrase (a barge-in that says something), or
 *  running speech (a long barge-in, and the material of babble and TV). */
export type Use = 'backchannel' | 'content' | 'long';

export interface SpeechItem {
  id: string;
  speaker: string;
  split: Split;
  lang: 'zh' | 'en';
  text: string;
  use: Use;
  /** 16 kHz, cut around the speech with a short margin. */
  audio: Float32Array;
  /** Speech regions inside `audio`, samples [start, end). */
  segments: [number, number][];
  source: string;
  natural: 'human' | 'neural_tts' | 'concatenative';
  syllables: number;
}

/**
 * The split, by speaker. Chosen so that both halves have dictionary-word speakers of both sexes (TonePerfect 3 F /
 * 3 M, audio-cmn), a neural voice, a speaker of short conversational phrases and long running speech:
 * tune = audio-cmn Yue Tan, TonePerfect FV1/FV2/MV1, neural jaberfw, the WenetSpeech lecturer, the TEN VAD reader
 * and the syllable voice; test = the streamer hiiro, audio-cmn Chen Wang, TonePerfect FV3/MV2/MV3, neural
 * supervocab, the WenetSpeech newsreader, the jf1957 speaker and the LibriVox reader (the only real English).
 */
export const SPEAKER_SPLIT: Record<string, Split> = {
  'audiocmn-YueTan': 'tune',
  'TonePerfect-FV1': 'tune',
  'TonePerfect-FV2': 'tune',
  'TonePerfect-MV1': 'tune',
  'tts-jaberfw': 'tune',
  'wenetspeech-lecturer': 'tune',
  'tenvad-reader': 'tune',
  'syllable-voice': 'tune',
  'vtuber-hiiro': 'test',
  'audiocmn-ChenWang': 'test',
  'TonePerfect-FV3': 'test',
  'TonePerfect-MV2': 'test',
  'TonePerfect-MV3': 'test',
  'tts-supervocab': 'test',
  'wenetspeech-news': 'test',
  jf1957: 'test',
  'librivox-en': 'test',
};

/** Backchannel words: the listener keeps the floor with these (the list, as far as the recordings go). */
export const BACKCHANNEL_WORDS = new Set(['嗯', '对', '是', '好', '行', '是的', '好的', '哦']);

/** Phrases voiced by the syllable voice: one speaker, so all in the tune half. */
const SYLLABLE_PHRASES: { text: string; pinyin: string; use: Use }[] = [
  { text: '嗯', pinyin: 'en4', use: 'backchannel' },
  { text: '对', pinyin: 'dui4', use: 'backchannel' },
  { text: '是', pinyin: 'shi4', use: 'backchannel' },
  { text: '好', pinyin: 'hao3', use: 'backchannel' },
  { text: '行', pinyin: 'xing2', use: 'backchannel' },
  { text: '好的', pinyin: 'hao3 de5', use: 'backchannel' },
  { text: '是的', pinyin: 'shi4 de5', use: 'backchannel' },
  { text: '等一下', pinyin: 'deng3 yi2 xia4', use: 'content' },
  { text: '不用了', pinyin: 'bu2 yong4 le5', use: 'content' },
  { text: '你是谁', pinyin: 'ni3 shi4 shei2', use: 'content' },
  { text: '不要', pinyin: 'bu2 yao4', use: 'content' },
  { text: '我很忙', pinyin: 'wo3 hen2 mang2', use: 'content' },
  { text: '等等', pinyin: 'deng2 deng3', use: 'content' },
  { text: '你说啥', pinyin: 'ni3 shuo1 sha2', use: 'content' },
  { text: '没兴趣', pinyin: 'mei2 xing4 qu4', use: 'content' },
  { text: '不需要', pinyin: 'bu4 xu1 yao4', use: 'content' },
  { text: '哪位', pinyin: 'na3 wei4', use: 'content' },
  { text: '我现在不方便，你晚点再打过来', pinyin: 'wo3 xian4 zai4 bu4 fang1 bian4 ， ni3 wan2 dian3 zai4 da3 guo4 lai2', use: 'long' },
  { text: '你是哪个公司的，怎么有我的电话', pinyin: 'ni3 shi4 na3 ge4 gong1 si1 de5 ， zen2 me5 you2 wo3 de5 dian4 hua4', use: 'long' },
  { text: '不好意思我在开车，等一下再说', pinyin: 'bu4 hao2 yi4 si1 wo3 zai4 kai1 che1 ， deng3 yi2 xia4 zai4 shuo1', use: 'long' },
  { text: '这个我已经说过了，不需要', pinyin: 'zhe4 ge4 wo2 yi3 jing1 shuo1 guo4 le5 ， bu4 xu1 yao4', use: 'long' },
];

/** Speech extents of a clean clip: 5 ms RMS envelope above peak − 40 dB (as the dev corpus labels synthetic clips). */
export function extents(x: Float32Array): [number, number] {
  const hop = ms(5);
  const env: number[] = [];
  for (let i = 0; i + hop <= x.length; i += hop) {
    let s = 0;
    for (let k = i; k < i + hop; k++) s += x[k] * x[k];
    env.push(Math.sqrt(s / hop));
  }
  const thr = Math.max(...env) * 0.01;
  const a = env.findIndex((e) => e >= thr);
  let b = env.length - 1;
  while (b > a && env[b] < thr) b--;
  return [Math.max(0, a) * hop, Math.min(x.length, (b + 1) * hop)];
}

function cut(x: Float32Array, from: number, to: number): Float32Array {
  const a = Math.max(0, from), b = Math.min(x.length, to);
  const y = x.slice(a, b);
  const f = Math.min(ms(10), y.length >> 2);
  for (let i = 0; i < f; i++) {
    const g = 0.5 - 0.5 * Math.cos((Math.PI * i) / f);
    y[i] *= g;
    y[y.length - 1 - i] *= g;
  }
  return y;
}

/**
 * Where the speech of a dictionary recording starts, when its label starts at the recording's room tone. The shared
 * labels put a natural clip's onset at the first sample above the clip's peak − 40 dB; in some isolated-word
 * recordings (audio-cmn, a streamer's clips) the recording's own room tone, with its rumble, is within those 40 dB,
 * so the label starts 100–310 ms before the word, where no listener hears anything. A lead-in counts as room tone when
 * its first 100 ms (above 150 Hz, 20 ms frames every 10 ms) are steady (within 8 dB) and at least 35 dB below the
 * clip's loudest frame — a fricative that soft would be under every scenario's noise floor; the word starts at the
 * first of three frames 10 dB above it. Otherwise the label stands. Returns a sample index within [from, to).
 */
export function speechOnsetAfterRoomTone(x: Float32Array, from: number, to: number): number {
  const hop = ms(10);
  const y = filter(x.subarray(from, to), 'highpass', 150, 1);
  const level: number[] = [];
  for (let i = 0; i + 2 * hop <= y.length; i += hop) level.push(db(rms(y, i, i + 2 * hop)));
  if (level.length < 13) return from;
  const lead = level.slice(0, 10).sort((a, b) => a - b);
  const room = (lead[4] + lead[5]) / 2;
  if (lead[9] - lead[0] >= 8 || Math.max(...level) - room < 35) return from;
  for (let k = 0; k + 2 < level.length; k++) {
    if (level[k] >= room + 10 && level[k + 1] >= room + 10 && level[k + 2] >= room + 10) return from + k * hop;
  }
  return from;
}

const seg = (l: Label) => (l.speechSegmentsMs ?? l.callerSpeechSegmentsMs) as { startMs: number; endMs: number; text?: string }[] | undefined;

/** A clip with labelled speech, cut to [first onset − margin, last end + margin]. */
function fromLabelled(
  base: Omit<SpeechItem, 'audio' | 'segments'>,
  x: Float32Array,
  segsMs: [number, number][],
  marginMs: number,
): SpeechItem {
  const from = ms(segsMs[0][0] - marginMs);
  const audio = cut(x, from, ms(segsMs[segsMs.length - 1][1] + marginMs));
  const off = Math.max(0, from);
  return { ...base, audio, segments: segsMs.map(([a, b]) => [ms(a) - off, ms(b) - off]) };
}

const syllableCount = (text: string) => [...text.replace(/[，。？！、\s,.?!]/g, '')].length;

/**
 * Long items: windows of running speech starting at a segment onset, up to `maxMs` of it. The text follows the
 * segments when the transcript has one clause per segment, and ends in … where the window cuts speech off.
 */
function windows(base: Omit<SpeechItem, 'audio' | 'segments' | 'id'>, id: string, x: Float32Array, segs: [number, number][], maxMs: number): SpeechItem[] {
  const out: SpeechItem[] = [];
  const clauses = base.text.split(/[，。]/).filter(Boolean);
  for (let i = 0; i < segs.length; i++) {
    const start = segs[i][0];
    if (segs[segs.length - 1][1] - start < 1500) break; // the rest is too short to be "long"
    const inWin = segs.slice(i).filter(([a]) => a < start + maxMs).map(([a, b]) => [a, Math.min(b, start + maxMs)] as [number, number]);
    const cutOff = inWin[inWin.length - 1][1] < segs[i + inWin.length - 1][1];
    const text = clauses.length === segs.length ? clauses.slice(i, i + inWin.length).join('，') + (cutOff ? '…' : '') : i === 0 && !cutOff ? base.text : `…${base.text}…`;
    out.push(fromLabelled({ ...base, id: `${id}@${i}`, text }, x, inWin, 100));
  }
  return out;
}

export interface Inventory {
  items: SpeechItem[];
  bySplit(split: Split, use?: Use): SpeechItem[];
}

/**
 * Reads every source. `audioDir` is ../shared/audio; `cacheDir` keeps the syllable voice's decoded units (an
 * ffmpeg decode per syllable otherwise).
 */
export async function loadInventory(audioDir: string, cacheDir: string | null): Promise<Inventory> {
  const labels = readLabels(audioDir);
  const items: SpeechItem[] = [];
  const wav = (rel: string) => int16ToFloat(readWav(join(audioDir, rel)).samples);

  // natural/: one word or phrase per clip, labelled onset/end, 0.6 s of −60 dBFS brown noise around it.
  for (const l of labels.filter((x) => x.file.startsWith('natural/'))) {
    const speaker = String(l.speaker);
    const split = SPEAKER_SPLIT[speaker];
    if (!split || !l.text || l.speechOnsetMs === null || l.speechEndMs === null) continue;
    const text = l.text.replace(/[？?。，]/g, '');
    const x = wav(l.file);
    items.push(
      fromLabelled(
        {
          id: `natural/${l.file.split('/').pop()!.replace('.wav', '')}`, speaker, split, lang: 'zh', text,
          use: BACKCHANNEL_WORDS.has(text) ? 'backchannel' : 'content', source: String(l.source),
          natural: l.natural === 'neural_tts' ? 'neural_tts' : 'human', syllables: syllableCount(text),
        },
        x, [[(speechOnsetAfterRoomTone(x, ms(l.speechOnsetMs), ms(l.speechEndMs)) * 1000) / SR, l.speechEndMs]], 30,
      ),
    );
  }

  // real/: the WenetSpeech lecturer (0–2) and newsreader (3), the TEN VAD reader, jf1957 (7 takes of 切换前视 and
  // a 69 s reading of car commands with per-segment text).
  const real = (f: string) => labels.find((l) => l.file === `real/${f}.wav`)!;
  const segsOf = (l: Label) => (seg(l) ?? [{ startMs: l.speechOnsetMs!, endMs: l.speechEndMs! }]).map((s) => [s.startMs, s.endMs] as [number, number]);
  const realBase = (speaker: string, l: Label, use: Use) => ({
    speaker, split: SPEAKER_SPLIT[speaker], lang: 'zh' as const, text: l.text ?? '', use, source: String(l.source), natural: 'human' as const,
    syllables: syllableCount(l.text ?? ''),
  });
  for (const [f, speaker] of [['wenetspeech_0', 'wenetspeech-lecturer'], ['wenetspeech_1', 'wenetspeech-lecturer'], ['wenetspeech_2', 'wenetspeech-lecturer'], ['wenetspeech_3', 'wenetspeech-news'], ['tenvad_s0724-s0730', 'tenvad-reader']] as const) {
    const l = real(f);
    items.push(...windows(realBase(speaker, l, 'long'), `real/${f}`, wav(l.file), segsOf(l), 4000));
  }
  for (let k = 1; k <= 7; k++) {
    const l = real(`jf1957_${k}`);
    items.push(fromLabelled({ ...realBase('jf1957', l, 'content'), id: `real/jf1957_${k}` }, wav(l.file), segsOf(l), 100));
  }
  {
    const l = real('jf1957_8');
    const x = wav(l.file);
    const segs = seg(l)!;
    segs.forEach((s, i) => {
      const t = s.text ?? '';
      items.push(fromLabelled({ ...realBase('jf1957', l, 'content'), id: `real/jf1957_8#${i}`, text: t, syllables: syllableCount(t) }, x, [[s.startMs, s.endMs]], 100));
    });
    // Two or three commands in a row, with the pauses the speaker left between them: running speech.
    for (let i = 0; i + 2 < segs.length; i += 2) {
      const run = segs.slice(i, i + (i % 4 === 0 ? 3 : 2));
      if (run[run.length - 1].endMs - run[0].startMs > 4500) continue;
      const t = run.map((s) => s.text ?? '').join('，');
      items.push(fromLabelled({ ...realBase('jf1957', l, 'long'), id: `real/jf1957_8#${i}+${run.length}`, text: t, syllables: syllableCount(t) }, x, run.map((s) => [s.startMs, s.endMs]), 100));
    }
  }

  // The real English reader (LibriVox, via bargein/s05, the clean one of the two scenarios with his voice).
  {
    const l = labels.find((x) => x.file === 'bargein/s05_caller.wav')!;
    items.push(fromLabelled({ ...realBase('librivox-en', l, 'long'), id: 'bargein/s05_caller', lang: 'en', syllables: 10 }, wav(l.file), segsOf(l), 100));
  }

  // The syllable voice.
  const voice = new SyllableVoice({ dataDir: cacheDir ?? undefined });
  for (const p of SYLLABLE_PHRASES) {
    const chunks: Int16Array[] = [];
    for await (const c of voice.synthesizePinyin(p.pinyin, { language: 'zh', sampleRate: SR })) chunks.push(c);
    const all = new Float32Array(chunks.reduce((n, c) => n + c.length, 0) + ms(60));
    let o = ms(30);
    for (const c of chunks) all.set(int16ToFloat(c), o), (o += c.length);
    const [a, b] = extents(all);
    items.push({
      id: `voice/${p.pinyin.replace(/\s+/g, '_').replace(/[，]/g, '')}`, speaker: 'syllable-voice', split: 'tune', lang: 'zh', text: p.text,
      use: p.use, audio: all, segments: [[a, b]], source: `voice:pinyin-syllables-female "${p.pinyin}"`, natural: 'concatenative',
      syllables: syllableCount(p.text),
    });
  }
  return {
    items,
    bySplit: (split, use) => items.filter((i) => i.split === split && (!use || i.use === use)),
  };
}
