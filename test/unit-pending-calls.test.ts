// One-request-one-reply bookkeeping shared by OffThread and OffProcess: replies settle their own call only, errors
// take the caller's type, and a dead helper fails every waiting call.
import { describe, expect, it } from 'vitest';
import { PendingCalls } from '../gateway/infer/PendingCalls.js';

class MyError extends Error {
  constructor(readonly req: string, message: string, readonly detail?: unknown) {
    super(message);
  }
}

describe('PendingCalls', () => {
  it('settles each call by its id, a value or the caller’s error type; unknown ids are ignored', async () => {
    const p = new PendingCalls<string, number>((req, m, d) => new MyError(req, m, d));
    const a = p.add('a');
    const b = p.add('b');
    expect(a.id).not.toBe(b.id);
    expect(p.settle({ id: 999, ok: true, value: 1 })).toBe(false);
    expect(p.settle({ id: b.id, ok: false, error: 'boom', detail: true })).toBe(true);
    expect(p.settle({ id: a.id, ok: true, value: 7 })).toBe(true);
    await expect(a.reply).resolves.toBe(7);
    const e = await b.reply.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(MyError);
    expect(e).toMatchObject({ req: 'b', message: 'boom', detail: true });
    expect(p.size).toBe(0);
    expect(p.settle({ id: a.id, ok: true, value: 8 })).toBe(false);
  });

  it('fails every waiting call when the helper dies', async () => {
    const p = new PendingCalls<string, number>((req, m) => new MyError(req, m));
    const calls = [p.add('x'), p.add('y')];
    p.failAll('helper process failed: exited with SIGKILL');
    for (const c of calls) await expect(c.reply).rejects.toThrow(/SIGKILL/);
    expect(p.size).toBe(0);
  });

  it('starts its helper once, holds the event loop only while a call waits, and starts a new one after a death', async () => {
    type Fake = { n: number; replied: (m: any) => void; died: (why: string) => void; held: boolean; posted: number[] };
    const made: Fake[] = [];
    const p = new PendingCalls<string, number, Fake>((req, m) => new MyError(req, m), {
      start: (replied, died) => {
        const f: Fake = { n: made.length, replied, died, held: true, posted: [] };
        made.push(f);
        return f;
      },
      post: (f, m) => f.posted.push(m.id),
      hold: (f, on) => (f.held = on),
    });
    p.warm();
    expect(made).toHaveLength(1);
    expect(made[0].held).toBe(false);
    const a = p.call('a');
    const b = p.call('b');
    expect(made).toHaveLength(1);
    expect(made[0].held).toBe(true);
    made[0].replied({ id: made[0].posted[0], ok: true, value: 1 });
    expect(made[0].held).toBe(true);
    made[0].replied({ id: made[0].posted[1], ok: true, value: 2 });
    expect(made[0].held).toBe(false);
    expect([await a, await b]).toEqual([1, 2]);
    const c = p.call('c');
    made[0].died('helper process failed: exited with SIGKILL');
    made[0].died('a second report of the same death is ignored');
    await expect(c).rejects.toThrow(/SIGKILL/);
    const d = p.call('d');
    expect(made).toHaveLength(2);
    made[1].replied({ id: made[1].posted[0], ok: true, value: 4 });
    await expect(d).resolves.toBe(4);
  });
});
