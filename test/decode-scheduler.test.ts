import { describe, expect, it } from 'vitest';
import { DecodeScheduler, type Unit } from '../gateway/infer/DecodeScheduler.js';

const label = (u: Unit | null) => (u === null ? null : `${u.kind}:${u.sid}`);

function drainAll(s: DecodeScheduler): string[] {
  const out: string[] = [];
  for (let u = s.next(); u; u = s.next()) {
    out.push(label(u)!);
    if (u.kind === 'final') u.run();
  }
  return out;
}

describe('DecodeScheduler', () => {
  it('hands out a final that arrived after queued streaming steps before any of them', () => {
    const s = new DecodeScheduler();
    for (const sid of [1, 2, 3]) s.step(sid);
    s.final(4, 1, () => undefined);
    expect(label(s.next())).toBe('final:4');
    expect(drainAll(s)).toEqual(['step:1', 'step:2', 'step:3']);
  });

  it('orders finals by priority, first come first served within one priority', () => {
    const s = new DecodeScheduler();
    s.final(10, 1, () => undefined); // a barge-in look
    s.final(11, 1, () => undefined);
    s.final(20, 0, () => undefined); // a consent answer, arriving last
    s.final(12, 1, () => undefined);
    s.final(21, 0, () => undefined);
    expect(drainAll(s)).toEqual(['final:20', 'final:21', 'final:10', 'final:11', 'final:12']);
  });

  it('steps streams round robin: a stream put back in line goes behind the others', () => {
    const s = new DecodeScheduler();
    s.step(1);
    s.step(2);
    s.step(1); // already waiting: keeps its place
    const first = s.next();
    expect(label(first)).toBe('step:1');
    s.step(1); // stream 1 has more to decode after its step
    s.step(3);
    expect(drainAll(s)).toEqual(['step:2', 'step:1', 'step:3']);
  });

  it('a final that comes while steps run is next, whatever the steps left', () => {
    const s = new DecodeScheduler();
    s.step(1);
    s.step(2);
    expect(label(s.next())).toBe('step:1');
    s.step(1);
    s.final(9, 0, () => undefined);
    expect(label(s.next())).toBe('final:9');
  });

  it('drop forgets a stream’s steps, and on close its finals too; idle once nothing waits', () => {
    const s = new DecodeScheduler();
    let ran = 0;
    s.step(1);
    s.step(2);
    s.final(1, 0, () => ran++);
    s.drop(1);
    expect(s.hasStep(1)).toBe(false);
    expect(s.idle).toBe(false);
    s.drop(1, true);
    s.drop(2, true);
    expect(s.idle).toBe(true);
    expect(s.next()).toBeNull();
    expect(ran).toBe(0);
  });

  it('takeSteps hands every waiting stream over at once (a batched recogniser)', () => {
    const s = new DecodeScheduler();
    s.step(3);
    s.step(1);
    expect(s.takeSteps()).toEqual([3, 1]);
    expect(s.idle).toBe(true);
  });
});
