// SqliteWriter: transactions given as data, committed by a worker thread on its own connection to the database
// file — all-or-nothing, guarded, in order, bounded, and surviving the death of its thread.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../gateway/store/Database.js';
import { MAX_PENDING, SqliteWriter, WriterDied } from '../gateway/store/SqliteWriter.js';

let dir: string;
let db: Db;
let writer: SqliteWriter;

const insert = (k: string, v: number) => ({ sql: 'INSERT INTO kv (k, v) VALUES (?, ?)', params: [k, v] });
const rows = () => db.prepare('SELECT k, v FROM kv ORDER BY k').all();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'earshot-writer-'));
  db = openDatabase({ dataDir: dir });
  db.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  writer = SqliteWriter.for(db)!;
});

afterEach(async () => {
  await writer.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SqliteWriter', () => {
  it('is only made for handles a second connection can share', () => {
    expect(SqliteWriter.for(new BetterSqlite3(':memory:'))).toBeNull();
    expect(SqliteWriter.for(openDatabase({ dataDir: dir, readonly: true }))).toBeNull();
    expect(SqliteWriter.for(db)).toBe(writer);
  });

  it('commits a job as one transaction, visible to this thread when it resolves, and reports the changes', async () => {
    const r = await writer.run({ steps: [insert('a', 1), insert('b', 2), { sql: 'UPDATE kv SET v = v + 10 WHERE k = @k', params: { k: 'zz' } }] });
    expect(r).toEqual({ ok: true, changes: [1, 1, 0] });
    expect(rows()).toEqual([{ k: 'a', v: 1 }, { k: 'b', v: 2 }]);
  });

  it('a failing step rolls the whole job back with the SQL error, and the writer goes on', async () => {
    await writer.run({ steps: [insert('a', 1)] });
    await expect(writer.run({ steps: [insert('b', 2), insert('a', 3)] })).rejects.toThrow(/UNIQUE/);
    await expect(writer.run({ steps: [{ sql: 'INSERT INTO nowhere VALUES (1)' }] })).rejects.toThrow(/no such table/);
    expect(rows()).toEqual([{ k: 'a', v: 1 }]);
    expect((await writer.run({ steps: [insert('c', 4)] })).ok).toBe(true);
  });

  it('writes nothing when the guard finds another row than expected, and says what it found', async () => {
    const guard = (expect: Record<string, unknown> | null) => ({ sql: 'SELECT k, v FROM kv ORDER BY v DESC LIMIT 1', expect });
    expect(await writer.run({ guard: guard(null), steps: [insert('a', 1)] })).toEqual({ ok: true, changes: [1] });
    db.prepare('INSERT INTO kv VALUES (?, ?)').run('b', 2); // another writer moved the "head"
    expect(await writer.run({ guard: guard({ k: 'a', v: 1 }), steps: [insert('c', 3)] })).toEqual({ ok: false, stale: { k: 'b', v: 2 } });
    expect(await writer.run({ guard: guard({ k: 'b', v: 2 }), steps: [insert('c', 3)] })).toEqual({ ok: true, changes: [1] });
    expect(rows()).toEqual([{ k: 'a', v: 1 }, { k: 'b', v: 2 }, { k: 'c', v: 3 }]);
  });

  it('keeps the event loop free while another connection holds the write lock', async () => {
    const other = openDatabase({ dataDir: dir });
    other.exec('BEGIN IMMEDIATE');
    const done = writer.run({ steps: [insert('a', 1)] });
    let ticks = 0;
    await new Promise<void>((resolve) => {
      const t = setInterval(() => ++ticks >= 5 && (clearInterval(t), resolve()), 20);
    });
    expect(rows()).toEqual([]); // still waiting on the lock, off this thread
    other.exec('COMMIT');
    other.close();
    expect((await done).ok).toBe(true);
    expect(rows()).toEqual([{ k: 'a', v: 1 }]);
  });

  it('if its thread dies, the writes in flight fail clearly, none half-written, and the next write starts a new one', async () => {
    await writer.run({ steps: [insert('a', 1)] });
    const inFlight = [writer.run({ steps: [insert('b', 2), insert('c', 3)] }), writer.run({ steps: [insert('d', 4)] })];
    await writer.crashForTest();
    const settled = await Promise.allSettled(inFlight);
    for (const s of settled) if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(WriterDied);
    // Each job is all-or-nothing: b and c are both there or both absent.
    const keys = (rows() as { k: string }[]).map((r) => r.k);
    expect(keys.includes('b')).toBe(keys.includes('c'));
    expect(await writer.run({ steps: [insert('e', 5)] })).toEqual({ ok: true, changes: [1] });
    expect(writer.pendingCount).toBe(0);
  });

  it('fails every write, clearly, when the database file is gone, rather than writing into a new empty one', async () => {
    rmSync(join(dir, 'earshot.db'));
    await expect(writer.run({ steps: [insert('a', 1)] })).rejects.toThrow(/does not exist/);
    expect(existsSync(join(dir, 'earshot.db'))).toBe(false);
  });

  it(`refuses a write beyond ${MAX_PENDING} waiting ones instead of queueing without bound`, async () => {
    const other = openDatabase({ dataDir: dir });
    other.exec('BEGIN IMMEDIATE'); // the writer waits on the lock; everything queues
    const queued = Array.from({ length: MAX_PENDING }, (_, i) => writer.run({ synchronous: 'NORMAL', steps: [insert(`k${i}`, i)] }));
    await expect(writer.run({ steps: [insert('over', 0)] })).rejects.toThrow(/already waiting/);
    other.exec('COMMIT');
    other.close();
    expect((await Promise.all(queued)).every((r) => r.ok)).toBe(true);
    expect(rows()).toHaveLength(MAX_PENDING);
  });
});
