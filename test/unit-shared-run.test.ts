// gateway/ops/sharedRun.ts: one run of a start-up task per key, shared by every caller.
import { describe, expect, it } from 'vitest';
import { sharedRun } from '../gateway/ops/sharedRun.js';

describe('shared start-up run', () => {
  it('runs the task once for a key; a caller arriving meanwhile gets the same result with ran false', async () => {
    const runs = new WeakMap<object, Promise<{ n: number }>>();
    const key = {};
    let started = 0;
    const task = async () => {
      started++;
      await new Promise((r) => setTimeout(r, 10));
      return { n: started };
    };
    const [a, b] = await Promise.all([sharedRun(runs, key, task), sharedRun(runs, key, task)]);
    expect(started).toBe(1);
    expect(a).toEqual({ n: 1, ran: true });
    expect(b).toEqual({ n: 1, ran: false });
    expect((await sharedRun(runs, {}, task)).ran).toBe(true);
    expect(started).toBe(2);
  });

  it('forgets a failed run, so the next caller tries again', async () => {
    const runs = new WeakMap<object, Promise<{ ok: boolean }>>();
    const key = {};
    await expect(sharedRun(runs, key, () => Promise.reject(new Error('cold')))).rejects.toThrow('cold');
    expect(runs.has(key)).toBe(false);
    expect(await sharedRun(runs, key, async () => ({ ok: true }))).toEqual({ ok: true, ran: true });
  });
});
