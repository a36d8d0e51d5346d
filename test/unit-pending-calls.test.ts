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
});
