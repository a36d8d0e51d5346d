// gateway/speak/Playout.ts driven by a fake clock.
import { describe, expect, it } from 'vitest';
import { encode } from '../gateway/audio/codec.js';
import { Pacer, Playout, type PromptAudio } from '../gateway/speak/Playout.js';

interface Sent {
  bytes: number;
  first: number;
  playAt: number;
  offsetMs: number;
  sentAt: number;
  id: string;
}

function setup(opts: { lookaheadMs?: number; refuseAfter?: number; rate?: number; framesPerWrite?: number } = {}) {
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
  }, 20, opts.framesPerWrite ?? 1);
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

describe('Playout: frames grouped per write', () => {
  it('framesPerWrite 2: frames leave in pairs from the same tick, a write starts within lookahead, none beyond +20 ms', () => {
    const s = setup({ framesPerWrite: 2 });
    s.p.enqueue(prompt('a', 2000));
    s.run(2100);
    expect(s.sent).toHaveLength(100);
    s.sent.forEach((f, i) => expect(f.first).toBe(i * 160));
    const ticks = new Map<number, number[]>();
    for (const f of s.sent) ticks.set(f.sentAt, [...(ticks.get(f.sentAt) ?? []), f.playAt]);
    // The first tick fills the lookahead plus one frame (0..60); afterwards every write carries exactly two frames.
    const groups = [...ticks.values()];
    expect(groups[0]).toEqual([0, 20, 40, 60]);
    for (const g of groups.slice(1, -1)) expect(g).toHaveLength(2);
    for (const [sentAt, g] of ticks) {
      expect(g[0] - sentAt).toBeLessThanOrEqual(40);
      expect(g.at(-1)! - sentAt).toBeLessThanOrEqual(60);
      expect(g[0] - sentAt).toBeGreaterThanOrEqual(0);
    }
    // Half the writes of one frame per write: 49 vs 98 ticks with frames for 100 frames.
    const single = setup();
    single.p.enqueue(prompt('a', 2000));
    single.run(2100);
    expect(new Set(single.sent.map((f) => f.sentAt)).size).toBe(98);
    expect(ticks.size).toBe(49);
  });
  it('a pause still stops the next group; what was sent plays out (at most lookahead + 2 frames)', () => {
    const s = setup({ framesPerWrite: 2 });
    s.p.enqueue(prompt('a', 1000));
    s.run(100);
    const n = s.sent.length;
    const lastPlayAt = s.sent.at(-1)!.playAt;
    expect(lastPlayAt - 100).toBeLessThanOrEqual(60);
    s.p.pause(100);
    s.run(400);
    expect(s.sent).toHaveLength(n);
    expect(s.p.playedMs(400)).toBe(lastPlayAt + 20);
  });
});

describe('Playout: where a frame sits in its prompt', () => {
  it('frames of a finished prompt say where they start in it; a padded last frame and a growing prompt say -1', () => {
    const at: number[] = [];
    const shadowAt: number[] = [];
    const p = new Playout({ encoding: 'mulaw', sampleRate: 8000 }, 40, {
      started: () => {}, paused: () => {}, resumed: () => {}, finished: () => {},
      frame: (bytes, pcm, x, _playAt, _off, a) => {
        if (a >= 0) expect(Buffer.from(bytes).equals(Buffer.from(encode('mulaw', x.pcm.subarray(a, a + pcm.length))))).toBe(true);
        at.push(a);
        return true;
      },
      shadow: (_pcm, _x, _playAt, a) => shadowAt.push(a),
    });
    p.enqueue(prompt('a', 50)); // 400 samples: two whole frames and a padded one
    for (let t = 0; t <= 200; t += 5) p.tick(t);
    expect(at).toEqual([0, 160, -1]);
    at.length = 0;
    p.enqueue({ ...prompt('b', 40), open: true });
    for (let t = 200; t <= 300; t += 5) p.tick(t);
    expect(at).toEqual([-1, -1]);
    const q = new Playout({ encoding: 'pcm16', sampleRate: 8000 }, 40, {
      started: () => {}, paused: () => {}, resumed: () => {}, finished: () => {}, frame: () => true,
      shadow: (_pcm, _x, _playAt, a) => shadowAt.push(a),
    });
    q.enqueue(prompt('c', 200));
    q.tick(0);
    q.pause(0);
    for (let t = 5; t <= 60; t += 5) q.tick(t);
    expect(shadowAt.slice(0, 3)).toEqual([480, 640, 800]);
  });
});

describe('Pacer', () => {
  function playing(framesPerWrite: number, calls: string[]) {
    return new Playout({ encoding: 'pcm16', sampleRate: 8000 }, 40, {
      started: () => {}, paused: () => {}, resumed: () => {}, finished: () => {},
      frame: () => (calls.push('frame'), true),
    }, 20, framesPerWrite);
  }
  it('calls afterTick once per playout tick, after the tick handed over its frames', () => {
    const calls: string[] = [];
    const pacer = new Pacer(1000);
    const p = playing(2, calls);
    pacer.add(p, () => calls.push('refused'), () => calls.push('flush'));
    p.enqueue(prompt('a', 1000));
    pacer.tickOne(p);
    expect(calls).toEqual(['frame', 'frame', 'frame', 'frame', 'flush']);
    pacer.tickOne(p); // nothing due: still one afterTick, so a sink never stays corked
    expect(calls.at(-1)).toBe('flush');
    pacer.stop();
  });
  it('afterTick runs even when the tick throws, and a refused frame still fails the call', () => {
    const calls: string[] = [];
    const pacer = new Pacer(1000);
    const p = playing(1, calls);
    pacer.add(p, () => calls.push('refused'), () => calls.push('flush'));
    p.enqueue({ promptId: 'x', pcm: null as unknown as Int16Array, interruptible: true });
    expect(() => pacer.tickOne(p)).toThrow();
    expect(calls).toEqual(['flush']);
    const q = new Playout({ encoding: 'pcm16', sampleRate: 8000 }, 40, {
      started: () => {}, paused: () => {}, resumed: () => {}, finished: () => {},
      frame: () => false,
    });
    pacer.add(q, () => calls.push('refused'), () => calls.push('flush'));
    q.enqueue(prompt('b', 100));
    pacer.tickOne(q);
    expect(calls.slice(1)).toEqual(['flush', 'refused']);
    pacer.stop();
  });
});

describe('WriteGroup', () => {
  it("one tick's frames reach the peer in one read; bytes held by the cork are not counted as backlog", async () => {
    const { createServer, connect } = await import('node:net');
    const { WriteGroup } = await import('../gateway/wires/shared/WriteGroup.js');
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const accepted = new Promise<import('node:net').Socket>((r) => server.once('connection', r));
    const client = connect(port, '127.0.0.1');
    const sock = await accepted;
    sock.setNoDelay(true);
    const chunks: Buffer[] = [];
    client.on('data', (d) => chunks.push(d));
    const g = new WriteGroup(sock);
    for (let i = 0; i < 2; i++) {
      const frame = Buffer.alloc(320, i + 1);
      g.hold(frame.length);
      sock.write(frame);
    }
    expect(g.heldBytes).toBe(640);
    expect(sock.writableLength - g.heldBytes).toBe(0);
    g.flush();
    expect(g.heldBytes).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(chunks).toHaveLength(1);
    expect(chunks[0].length).toBe(640);
    expect(chunks[0][0]).toBe(1);
    expect(chunks[0][639]).toBe(2);
    client.destroy();
    sock.destroy();
    server.close();
  });
});
