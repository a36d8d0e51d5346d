// gateway/ops/processGuard.ts: what an error nobody caught does to the process.
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { installProcessGuard } from '../gateway/ops/processGuard.js';

function setup(max: number) {
  const proc = new EventEmitter();
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'trace' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  let t = 0;
  const fatal: string[] = [];
  const remove = installProcessGuard(proc as unknown as NodeJS.Process, { log, maxUncaughtPerMinute: max, onFatal: (why) => fatal.push(why), now: () => t });
  return { proc, lines, fatal, remove, advance: (ms: number) => (t += ms) };
}

describe('installProcessGuard', () => {
  it('an unhandled rejection is logged and the process serves on, however many', () => {
    const g = setup(1);
    for (let i = 0; i < 50; i++) g.proc.emit('unhandledRejection', new Error(`r${i}`));
    expect(g.fatal).toEqual([]);
    expect(g.lines).toHaveLength(50);
    expect(g.lines[0]).toMatchObject({ level: 50, msg: expect.stringMatching(/unhandled rejection/) });
  });

  it('uncaught exceptions up to the limit per minute are logged with their stack and survived', () => {
    const g = setup(3);
    for (let i = 0; i < 3; i++) {
      g.proc.emit('uncaughtException', new TypeError('Invalid URL'));
      g.advance(1000);
    }
    expect(g.fatal).toEqual([]);
    expect(g.lines.map((l) => l.level)).toEqual([50, 50, 50]);
    expect(JSON.stringify(g.lines[0])).toMatch(/Invalid URL/);
    expect(JSON.stringify(g.lines[0])).toMatch(/"stack"/);
  });

  it('one more within the minute drains once; spread over time they never do', () => {
    const spread = setup(3);
    for (let i = 0; i < 20; i++) {
      spread.proc.emit('uncaughtException', new Error('x'));
      spread.advance(30_000);
    }
    expect(spread.fatal).toEqual([]);

    const burst = setup(3);
    for (let i = 0; i < 6; i++) burst.proc.emit('uncaughtException', new Error('x'));
    expect(burst.fatal).toEqual(['uncaught_exceptions']);
    expect(burst.lines.filter((l) => l.level === 60).length).toBeGreaterThan(0);
  });

  it('removing the guard removes its listeners', () => {
    const g = setup(3);
    expect(g.proc.listenerCount('uncaughtException')).toBe(1);
    g.remove();
    expect(g.proc.listenerCount('uncaughtException')).toBe(0);
    expect(g.proc.listenerCount('unhandledRejection')).toBe(0);
  });
});
