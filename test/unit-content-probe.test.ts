// gateway/listen/interruption/ContentProbe.ts: when it looks, what audio it hands the recogniser, how results become
// verdicts — with a scripted recogniser stream (the real one is exercised by the barge-in evaluation).
import { describe, expect, it } from 'vitest';
import type { AsrResult, AsrStream } from '../gateway/listen/asr/types.js';
import type { ContentVerdict } from '../gateway/listen/BargeInPolicy.js';
import { ContentProbe } from '../gateway/listen/interruption/ContentProbe.js';
import type { TranscriptVerdict } from '../gateway/listen/interruption/InterruptionLexicon.js';

const RATE = 16000;
const FRAME = 512; // 32 ms

class ScriptedStream implements AsrStream {
  readonly callId = 'c';
  accepted: Float32Array[] = [];
  finishes = 0;
  closed = false;
  private cb: ((r: AsrResult) => void) | null = null;
  accept(x: Float32Array): void {
    this.accepted.push(x);
  }
  finish(): void {
    this.finishes++;
  }
  reset(): void {}
  onResult(cb: (r: AsrResult) => void): void {
    this.cb = cb;
  }
  stats() {
    return { audioMs: 0, cpuMs: 0, cpuMsPerAudioSec: 0 };
  }
  close(): void {
    this.closed = true;
  }
  answer(r: Partial<AsrResult>): void {
    this.cb?.({ text: '', tokens: [], final: true, ...r });
  }
}

function setup(opts: { open?: () => AsrStream } = {}) {
  const streams: ScriptedStream[] = [];
  const verdicts: (ContentVerdict & { text: string })[] = [];
  const costs: { looks: number; cpuMs: number; heardMs: number }[] = [];
  const judge = (text: string): TranscriptVerdict =>
    text === 'en en' ? { kind: 'backchannel', clear: false, units: 2, other: 0, word: null } : text ? { kind: 'content', clear: true, units: 1, other: 0, word: '不' } : { kind: 'none', clear: false, units: 0, other: 0, word: null };
  const probe = new ContentProbe({
    preRollMs: 200,
    firstAtMs: 256,
    everyMs: 128,
    maxMs: 1000,
    openStream:
      opts.open ??
      (() => {
        const s = new ScriptedStream();
        streams.push(s);
        return s;
      }),
    judge,
    verdict: (v, d) => verdicts.push({ ...v, text: d.text }),
    done: (c) => costs.push(c),
  });
  let pos = 0;
  /** Feeds n 32 ms frames whose samples carry their own absolute index (so slices can be checked). */
  const feed = (n: number) => {
    for (let k = 0; k < n; k++) {
      const x = new Float32Array(FRAME);
      for (let i = 0; i < FRAME; i++) x[i] = pos + i;
      probe.audio(x, pos);
      pos += FRAME;
    }
  };
  return { probe, streams, verdicts, costs, feed, pos: () => pos };
}

describe('ContentProbe', () => {
  it('never opens a recogniser stream while no pause is pending', () => {
    const { probe, streams, feed } = setup();
    feed(100);
    probe.speech({ type: 'speech_started', t: 1000, onsetT: 960 });
    feed(20);
    expect(streams).toHaveLength(0);
  });

  it('first look at onset + firstAtMs, with the audio from onset − preRollMs, finished at once', () => {
    const { probe, streams, feed } = setup();
    feed(40); // 1280 ms
    probe.speech({ type: 'pause', t: 1280, onsetT: 1216 });
    expect(streams).toHaveLength(0); // not yet: onset + 256 = 1472 ms
    feed(6); // to 1472 ms
    expect(streams).toHaveLength(1);
    const s = streams[0];
    expect(s.finishes).toBe(1);
    const a = s.accepted[0];
    expect(a[0]).toBe(((1216 - 200) * RATE) / 1000);
    expect(a.length).toBe(((1472 - 1016) * RATE) / 1000);
    // Contiguous audio, nothing lost between the ring and the pause buffer.
    for (let i = 1; i < a.length; i++) expect(a[i] - a[i - 1]).toBe(1);
  });

  it('one look in flight at a time; the next one after the result, at least everyMs later, from the onset again', () => {
    const { probe, streams, feed } = setup();
    feed(40);
    probe.speech({ type: 'pause', t: 1280, onsetT: 1216 });
    feed(6);
    const s = streams[0];
    feed(10); // 320 ms more, but the first look has not answered
    expect(s.finishes).toBe(1);
    s.answer({ text: 'en en' });
    expect(s.finishes).toBe(2);
    expect(s.accepted[1][0]).toBe(s.accepted[0][0]);
    expect(s.accepted[1].length).toBe(s.accepted[0].length + 10 * FRAME);
    s.answer({ text: 'en en' });
    expect(s.finishes).toBe(2); // next one not due yet (everyMs after the last look's audio end)
    feed(4);
    expect(s.finishes).toBe(3);
  });

  it('turns each final result into a verdict about this pause; partial results are ignored', () => {
    const { probe, streams, verdicts, feed } = setup();
    feed(40);
    probe.speech({ type: 'pause', t: 1280, onsetT: 1216 });
    feed(6);
    streams[0].answer({ text: 'b ù', final: false });
    expect(verdicts).toEqual([]);
    streams[0].answer({ text: 'en en' });
    expect(verdicts).toEqual([{ kind: 'backchannel', clear: false, other: 0, onsetT: 1216, text: 'en en' }]);
    feed(4);
    streams[0].answer({ text: 'b ù' });
    expect(verdicts[1]).toEqual({ kind: 'content', clear: true, other: 0, onsetT: 1216, text: 'b ù' });
  });

  it('reports each pause\'s cost when it ends (looks, heard speech), and nothing for a pause it never looked at', () => {
    const { probe, streams, costs, feed } = setup();
    feed(40);
    probe.speech({ type: 'pause', t: 1280, onsetT: 1216 });
    probe.speech({ type: 'resume', t: 1400 });
    expect(costs).toEqual([]);
    probe.speech({ type: 'pause', t: 1312, onsetT: 1280 });
    feed(10); // to 1600 ms
    streams[0].answer({ text: 'b ù' });
    probe.speech({ type: 'commit', t: 1600, onsetT: 1280, voicedMs: 320, reason: 'content' });
    expect(costs).toEqual([{ looks: 1, cpuMs: 0, heardMs: 320 }]);
  });

  it('stops on resume or commit: the stream is closed and a late result is dropped', () => {
    const { probe, streams, verdicts, feed } = setup();
    feed(40);
    probe.speech({ type: 'pause', t: 1280, onsetT: 1216 });
    feed(6);
    probe.speech({ type: 'resume', t: 1500 });
    expect(streams[0].closed).toBe(true);
    streams[0].answer({ text: 'b ù' });
    feed(20);
    expect(verdicts).toEqual([]);
    expect(streams[0].finishes).toBe(1);
  });

  it('a recogniser error gives one failed verdict and no more looks in that pause', () => {
    const { probe, streams, verdicts, feed } = setup();
    feed(40);
    probe.speech({ type: 'pause', t: 1280, onsetT: 1216 });
    feed(6);
    streams[0].answer({ error: 'ASR worker 0 failed' });
    feed(20);
    expect(verdicts).toEqual([{ kind: 'failed', onsetT: 1216, text: '' }]);
    expect(streams[0].finishes).toBe(1);
  });

  it('a pool that cannot open a stream gives a failed verdict instead of throwing into the call', () => {
    const { probe, verdicts, feed } = setup({
      open: () => {
        throw new Error('no ASR worker');
      },
    });
    feed(40);
    probe.speech({ type: 'pause', t: 1280, onsetT: 1216 });
    expect(() => feed(6)).not.toThrow();
    expect(verdicts).toEqual([{ kind: 'failed', onsetT: 1216, text: '' }]);
  });

  it('looks no further than maxMs after the onset, whatever the callee goes on saying', () => {
    const { probe, streams, feed } = setup();
    feed(40);
    probe.speech({ type: 'pause', t: 1280, onsetT: 1216 });
    for (let k = 0; k < 80; k++) {
      feed(1);
      if (streams[0]) streams[0].answer({ text: 'en en' });
    }
    const s = streams[0];
    const longest = Math.max(...s.accepted.map((a) => a.length));
    expect(longest).toBeLessThanOrEqual(((200 + 1000) * RATE) / 1000);
    expect(s.finishes).toBeLessThanOrEqual(Math.ceil((1000 - 256) / 128) + 1);
  });

  it('a new pause starts afresh: a new stream, verdicts carry the new onset', () => {
    const { probe, streams, verdicts, feed } = setup();
    feed(40);
    probe.speech({ type: 'pause', t: 1280, onsetT: 1216 });
    feed(6);
    probe.speech({ type: 'resume', t: 1500 });
    feed(20);
    probe.speech({ type: 'pause', t: 2144, onsetT: 2080 });
    feed(6); // 2304 ms: not yet due (2080 + 256 = 2336)
    expect(streams).toHaveLength(1);
    feed(1);
    expect(streams).toHaveLength(2);
    streams[1].answer({ text: 'b ù' });
    expect(verdicts).toEqual([{ kind: 'content', clear: true, other: 0, onsetT: 2080, text: 'b ù' }]);
  });
});
