// gateway/speak/Playout.ts driven by a fake clock.
import { describe, expect, it } from 'vitest';
import { Playout, type PromptAudio } from '../gateway/speak/Playout.js';

interface Sent {
  bytes: number;
  first: number;
  playAt: number;
  offsetMs: number;
  sentAt: number;
  id: string;
}

function setup(opts: { lookaheadMs?: number; refuseAfter?: number; rate?: number } = {}) {
  const rate = opts.rate ?? 8000;
  const events: string[] = [];
  const sent: Sent[] = [];
  const shadow: { playAt: number; n: number; first: number }[] = [];
  let now = 0;
  const p = new Playout({ encoding: 'pcm16', sampleRate: rate }, opts.lookaheadMs ?? 40, {
    started: (x) => events.push(`started ${x.promptId}`),
    paused: (x, ms) => events.push(`paused ${x.promptId} ${ms}`),
    resumed: (x) => events.push(`resumed ${x.promptId}`),
    finished: (x, intr, ms, reason) => events.push(`finished ${x.promptId} ${intr} ${ms} ${reason}`),
    frame: (bytes, pcm, x, playAt, offsetMs) => {
      sent.push({ bytes: bytes.length, first: pcm[0], playAt, offsetMs, sentAt: now, id: x.promptId });
      return opts.refuseAfter === undefined || sent.length < opts.refuseAfter;
    },
    shadow: (pcm, _x, playAt) => shadow.push({ playAt, n: pcm.length, first: pcm[0] }),
  });
  const run = (until: number, step = 5) => {
    for (; now <= until; now += step) p.tick(now);
    now -= step;
  };
  return { p, events, sent, shadow, run, at: (t: number) => (now = t), get now() { return now; } };
}

/** A prompt whose sample i is i (mod 30000), so each frame's first sample tells its position. */
function prompt(id: string, ms: number, interruptible = true, rate = 8000): PromptAudio {
  return { promptId: id, pcm: Int16Array.from({ length: (rate * ms) / 1000 }, (_, i) => i % 30000), interruptible };
}

describe('Playout pacing', () => {
  it('sends 20 ms frames no more than lookaheadMs ahead of the clock, then finishes', () => {
    const s = setup();
    s.p.enqueue(prompt('a', 1000));
    s.run(1100);
    expect(s.sent).toHaveLength(50);
    s.sent.forEach((f, i) => {
      expect(f.bytes).toBe(320);
      expect(f.playAt).toBe(i * 20);
      expect(f.offsetMs).toBe(i * 20);
      expect(f.first).toBe(i * 160);
      expect(f.playAt - f.sentAt).toBeLessThanOrEqual(40);
      expect(f.playAt - f.sentAt).toBeGreaterThanOrEqual(0);
    });
    expect(s.events).toEqual(['started a', 'finished a false 1000 completed']);
  });
  it('the first tick sends exactly lookahead/20 + 1 frames', () => {
    const s = setup({ lookaheadMs: 100 });
    s.p.enqueue(prompt('a', 1000));
    s.p.tick(0);
    expect(s.sent.map((f) => f.playAt)).toEqual([0, 20, 40, 60, 80, 100]);
  });
  it('finishes only once the clock has played the last frame', () => {
    const s = setup();
    s.p.enqueue(prompt('a', 100));
    s.run(95);
    expect(s.events).toEqual(['started a']);
    s.p.tick(100);
    expect(s.events).toEqual(['started a', 'finished a false 100 completed']);
  });
  it('pads a last partial frame with silence', () => {
    const s = setup();
    s.p.enqueue(prompt('a', 30));
    s.run(100);
    expect(s.sent.map((f) => f.bytes)).toEqual([320, 320]);
    // playedMs counts the prompt's own samples, not the padding
    expect(s.events.at(-1)).toBe('finished a false 30 completed');
  });
  it('plays queued prompts back to back with started/finished events', () => {
    const s = setup();
    s.p.enqueue(prompt('a', 100));
    s.p.enqueue(prompt('b', 60));
    expect(s.p.queued).toBe(2);
    s.run(300);
    expect(s.events).toEqual(['started a', 'finished a false 100 completed', 'started b', 'finished b false 60 completed']);
    expect(s.sent.filter((f) => f.id === 'b').map((f) => f.playAt)).toEqual([100, 120, 140]);
    expect(s.p.queued).toBe(0);
  });
  it('an open (streamed) prompt waits for more audio instead of finishing', () => {
    const s = setup();
    s.p.enqueue({ ...prompt('a', 50), open: true });
    s.run(200);
    expect(s.sent).toHaveLength(2);
    expect(s.events).toEqual(['started a']);
    s.p.append('a', new Int16Array(80), true); // 400 + 80 samples = 3 whole frames
    s.run(400);
    expect(s.sent).toHaveLength(3);
    expect(s.events.at(-1)).toMatch(/^finished a false/);
  });
});

describe('Playout pause / resume / cancel', () => {
  it('pause stops frames immediately; playedMs is the clock position at the pause', () => {
    const s = setup();
    s.p.enqueue(prompt('a', 1000));
    s.run(100);
    const before = s.sent.length; // playAt 0..140 → 8 frames
    expect(before).toBe(8);
    expect(s.p.playedMs(100)).toBe(100);
    expect(s.p.pause(100)).toBe(100);
    expect(s.p.isPaused).toBe(true);
    expect(s.events.at(-1)).toBe('paused a 100');
    s.run(500);
    expect(s.sent.length).toBe(before);
    // once the audio in flight has played out, what was sent has been heard
    expect(s.p.playedMs(500)).toBe(160);
  });
  it('resume continues from the paused position, on the clock of the resume', () => {
    const s = setup();
    s.p.enqueue(prompt('a', 1000));
    s.run(100);
    s.p.pause(100);
    s.at(400);
    s.p.resume(400);
    expect(s.events.at(-1)).toBe('resumed a');
    s.run(2000);
    const after = s.sent.slice(8);
    expect(after[0]).toMatchObject({ offsetMs: 160, playAt: 400, first: 1280 });
    after.forEach((f, i) => expect(f.playAt).toBe(400 + i * 20));
    expect(s.sent).toHaveLength(50);
    expect(s.events.at(-1)).toBe('finished a false 1000 completed');
  });
  it('pause and resume when nothing plays are no-ops', () => {
    const s = setup();
    expect(s.p.pause(0)).toBe(0);
    s.p.resume(0);
    expect(s.events).toEqual([]);
  });
  it('cancel with all finishes the current prompt and every queued one as interrupted', () => {
    const s = setup();
    s.p.enqueue(prompt('a', 1000));
    s.p.enqueue(prompt('b', 1000));
    s.p.enqueue(prompt('c', 1000));
    s.run(200);
    s.p.cancel('barge_in', true, 200);
    expect(s.events).toEqual(['started a', 'finished a true 200 barge_in', 'finished b true 0 barge_in', 'finished c true 0 barge_in']);
    expect(s.p.queued).toBe(0);
    const n = s.sent.length;
    s.run(600);
    expect(s.sent.length).toBe(n);
  });
  it('cancel without all moves on to the next prompt', () => {
    const s = setup();
    s.p.enqueue(prompt('a', 1000));
    s.p.enqueue(prompt('b', 40));
    s.run(100);
    s.p.cancel('skip', false, 100);
    s.run(300);
    expect(s.events).toEqual(['started a', 'finished a true 100 skip', 'started b', 'finished b false 40 completed']);
  });
  it('cancel while paused reports the paused position', () => {
    const s = setup();
    s.p.enqueue(prompt('a', 1000));
    s.run(100);
    s.p.pause(100);
    s.run(300);
    s.p.cancel('commit', false, 300);
    expect(s.events.at(-1)).toBe('finished a true 160 commit');
  });
  it('a transport refusing a frame makes tick return false', () => {
    const s = setup({ refuseAfter: 3 });
    s.p.enqueue(prompt('a', 1000));
    expect(s.p.tick(0)).toBe(false);
    expect(s.sent).toHaveLength(3);
    const ok = setup();
    ok.p.enqueue(prompt('a', 1000));
    expect(ok.p.tick(0)).toBe(true);
  });
  it('shadow frames continue the original schedule while paused, and are not sent', () => {
    const s = setup();
    s.p.enqueue(prompt('a', 400));
    s.run(100);
    s.p.pause(100);
    s.run(600);
    expect(s.sent).toHaveLength(8);
    // original schedule: the frame after the last one sent (playAt 160, sample 1280) onwards, 20 ms apart
    expect(s.shadow.length).toBe(12);
    s.shadow.forEach((f, i) => {
      expect(f.playAt).toBe(160 + i * 20);
      expect(f.first).toBe(1280 + i * 160);
      expect(f.n).toBe(160);
    });
  });
});

describe('Playout: resuming after a short pause', () => {
  // Audio sent before a pause (up to lookaheadMs) still plays at the far end: resumed frames must follow it, and
  // still respect the lookahead bound.
  it('resume right after a pause schedules the next frame after the audio already in flight', () => {
    const s = setup();
    s.p.enqueue(prompt('a', 1000));
    s.run(100); // sent up to playAt 140 (ends at 160)
    s.p.pause(100);
    s.at(110);
    s.p.resume(110);
    s.p.tick(110);
    expect(s.sent.length).toBe(8); // 160 is 50 ms ahead of 110: beyond the 40 ms lookahead
    s.p.tick(120);
    expect(s.sent[8].playAt).toBe(160);
  });
  // While paused, playedMs follows the clock until the audio in flight runs out, not everything sent at once.
  it('playedMs just after a pause is still the clock position, not everything sent', () => {
    const s = setup();
    s.p.enqueue(prompt('a', 1000));
    s.run(100);
    s.p.pause(100);
    expect(s.p.playedMs(110)).toBe(110);
  });
});
