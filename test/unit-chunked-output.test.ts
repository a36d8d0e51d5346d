// gateway/wires/shared/ChunkedOutput.ts behind the real Playout on a virtual clock: a far end that plays 100 ms
// chunks (FreeSWITCH files, Exotel media) gets each before its first sample is due — so it plays them back to back,
// on schedule, from the prompt's start — when the pacer runs a chunk ahead (`CallSink.playoutLeadMs`), and not with
// the default 40 ms lookahead; marks wait for the audio before them; a pause's flush sends what the playout counted
// as sent.
import { describe, expect, it } from 'vitest';
import { Playout } from '../gateway/speak/Playout.js';
import { ChunkedOutput } from '../gateway/wires/shared/ChunkedOutput.js';

const FRAME_BYTES = 160; // 20 ms of μ-law at 8 kHz
const CHUNK_MS = 100;

interface Sent {
  at: number;
  firstPlayAt: number;
  frames: number;
}

/** A 1 s prompt paced at `lookaheadMs` (two frames per write, as shipped) into 100 ms chunks; ticks every 5 ms. */
function pace(lookaheadMs: number, until = 1200, pauseAt = Infinity): { sent: Sent[]; out: ChunkedOutput } {
  let now = 0;
  const playAts: number[] = [];
  const sent: Sent[] = [];
  const out = new ChunkedOutput((CHUNK_MS / 20) * FRAME_BYTES, (c) => {
    const n = c.byteLength / FRAME_BYTES;
    sent.push({ at: now, firstPlayAt: playAts[0]!, frames: n });
    playAts.splice(0, n);
  });
  const playout = new Playout({ encoding: 'mulaw', sampleRate: 8000 }, lookaheadMs, {
    started() {},
    paused() {
      out.flush();
    },
    resumed() {},
    finished() {},
    frame(bytes, _pcm, _p, playAt) {
      playAts.push(playAt);
      out.push(bytes);
      return true;
    },
  }, 20, 2);
  playout.enqueue({ promptId: 'p', pcm: new Int16Array(8000), interruptible: true });
  for (; now <= until; now += 5) {
    if (now === pauseAt) playout.pause(now);
    playout.tick(now);
  }
  return { sent, out };
}

describe('ChunkedOutput behind the playout', () => {
  it('with a chunk of lead, the first chunk leaves as the prompt starts and every chunk arrives before it is due', () => {
    const { sent } = pace(CHUNK_MS);
    expect(sent[0]).toMatchObject({ at: 0, firstPlayAt: 0, frames: 5 });
    expect(sent.reduce((a, s) => a + s.frames, 0)).toBe(50);
    // 20–40 ms before the chunk playing ends: the far end never waits.
    for (const s of sent.slice(1)) expect(s.firstPlayAt - s.at).toBeGreaterThanOrEqual(20);
  });

  it('with the default 40 ms lookahead a chunk leaves only once its last frame is due, so the far end starts late and stays late', () => {
    const { sent } = pace(40);
    expect(sent[0]!.at).toBe(40);
    expect(Math.min(...sent.map((s) => s.firstPlayAt - s.at))).toBeLessThan(0);
  });

  it('runs a mark once the chunk holding the audio before it has left, and a pause sends what is held', () => {
    const { sent, out } = pace(CHUNK_MS, 300, 300);
    // At the pause the held frames went out as a shorter chunk: nothing the playout counted as sent is left behind.
    expect(out.held).toBe(0);
    expect(sent.at(-1)!.frames).toBeLessThan(5);
    const order: string[] = [];
    const o = new ChunkedOutput(2 * FRAME_BYTES, () => order.push('chunk'));
    o.push(new Uint8Array(FRAME_BYTES));
    o.afterHeld(() => order.push('mark'));
    expect(order).toEqual([]);
    o.push(new Uint8Array(FRAME_BYTES));
    expect(order).toEqual(['chunk', 'mark']);
  });
});
