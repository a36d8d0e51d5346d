// gateway/ops/logDestination.ts: log lines reach their descriptor in order, and a stalled, full or dead reader
// costs dropped (counted) lines, never a blocked or looping event loop.
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogDestination } from '../gateway/ops/logDestination.js';

type Cb = (err: NodeJS.ErrnoException | null, n: number) => void;
const errno = (code: string) => Object.assign(new Error(code), { code });

describe('LogDestination', () => {
  it('writes every line, in order, to the descriptor', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'earshot-logdest-')), 'out.log');
    const fd = openSync(path, 'w');
    const d = new LogDestination({ fd, maxBytes: 1 << 20 });
    for (let i = 0; i < 500; i++) d.write(`{"i":${i}}\n`);
    await d.flush(2000);
    closeSync(fd);
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(500);
    expect(lines.map((l) => JSON.parse(l).i)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it('a reader that never takes anything: writes return at once, the queue stays bounded, drops are counted', async () => {
    const pending: Cb[] = [];
    const drops: string[] = [];
    const d = new LogDestination({ fd: 99, maxBytes: 10_000, write: (_fd, _b, cb) => void pending.push(cb), onDrop: (r) => drops.push(r) });
    const line = `${'x'.repeat(99)}\n`;
    const t0 = performance.now();
    for (let i = 0; i < 10_000; i++) d.write(line);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(pending).toHaveLength(1); // one write in flight, never a second while it hangs
    expect(d.pendingBytes).toBeLessThanOrEqual(10_000);
    expect(d.counts.droppedFull).toBeGreaterThan(9_000);
    expect(drops.every((r) => r === 'full')).toBe(true);
    // flush gives up after its timeout rather than waiting for the stalled reader.
    const f0 = performance.now();
    await d.flush(50);
    expect(performance.now() - f0).toBeLessThan(1000);
  });

  it('once the reader catches up, one line says how many were dropped', async () => {
    const written: string[] = [];
    let hold: Cb | null = null;
    const d = new LogDestination({
      fd: 99,
      maxBytes: 300,
      write: (_fd, b, cb) => {
        written.push(b.toString());
        if (!hold && written.length === 1) hold = cb;
        else cb(null, b.length);
      },
    });
    d.write(`${'a'.repeat(99)}\n`);
    for (let i = 0; i < 10; i++) d.write(`${'b'.repeat(99)}\n`);
    expect(d.counts.droppedFull).toBe(7);
    hold!(null, 100);
    await d.flush(1000);
    const rest = written.slice(1).join('');
    expect(rest).toMatch(/"dropped":7/);
    expect(rest.split('\n').filter((l) => l.startsWith('b'))).toHaveLength(3);
  });

  it('EPIPE (the reader went away): the descriptor is dead, never written again, later lines dropped as dead', async () => {
    let writes = 0;
    const d = new LogDestination({ fd: 99, maxBytes: 1 << 20, write: (_fd, _b, cb) => (writes++, setImmediate(() => cb(errno('EPIPE'), 0))) });
    d.write('first\n');
    await d.flush(1000);
    expect(d.dead).toBe('EPIPE');
    for (let i = 0; i < 1000; i++) d.write('later\n');
    await new Promise((r) => setTimeout(r, 200));
    expect(writes).toBe(1);
    expect(d.counts.droppedDead).toBe(1001);
  });

  it('EBADF is as dead as EPIPE; EAGAIN is retried after a pause, not in a tight loop', async () => {
    const bad = new LogDestination({ fd: 99, maxBytes: 1 << 20, write: (_fd, _b, cb) => cb(errno('EBADF'), 0) });
    bad.write('x\n');
    expect(bad.dead).toBe('EBADF');

    const at: number[] = [];
    const out: string[] = [];
    const again = new LogDestination({
      fd: 99,
      maxBytes: 1 << 20,
      write: (_fd, b, cb) => {
        at.push(performance.now());
        if (at.length < 3) cb(errno('EAGAIN'), 0);
        else (out.push(b.toString()), cb(null, b.length));
      },
    });
    again.write('line\n');
    await again.flush(2000);
    expect(out.join('')).toBe('line\n');
    expect(at[2] - at[0]).toBeGreaterThanOrEqual(80);
    expect(again.dead).toBeNull();
  });

  it('a partial write continues where it stopped', async () => {
    const out: string[] = [];
    const d = new LogDestination({
      fd: 99,
      maxBytes: 1 << 20,
      write: (_fd, b, cb) => {
        const n = Math.min(3, b.length);
        out.push(b.subarray(0, n).toString());
        setImmediate(() => cb(null, n));
      },
    });
    d.write('hello world\n');
    await d.flush(1000);
    expect(out.join('')).toBe('hello world\n');
  });
});
