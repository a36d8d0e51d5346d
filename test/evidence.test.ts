import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeWav } from '../gateway/audio/wav.js';
import {
  EVIDENCE_MIGRATIONS,
  EvidenceStore,
  GENESIS_HASH,
  evidenceCli,
  isUlid,
  keyring,
  loadEvidenceKeys,
  recordHash,
  type EvidenceInput,
} from '../gateway/evidence/index.js';
import { databasePath, openDatabase, type Db } from '../gateway/store/Database.js';
import { runCli } from '../gateway/cli.js';
import { SqliteWriter } from '../gateway/store/SqliteWriter.js';
import { MAX_APPENDING } from '../gateway/evidence/EvidenceStore.js';

let dir: string;
let db: Db;
let store: EvidenceStore;

function tone(n: number, f: number): Int16Array {
  return new Int16Array(n).map((_, i) => Math.round(4000 * Math.sin((2 * Math.PI * f * i) / 16000)));
}

function input(i: number, over: Partial<EvidenceInput> = {}): EvidenceInput {
  return {
    callId: `call-${Math.floor(i / 2)}`,
    callee: '+8613800138000',
    promptId: `p${i}`,
    promptText: '请问您是否同意本次通话录音？',
    decision: i % 3 === 0 ? 'refused' : 'granted',
    phrase: i % 3 === 0 ? '不同意' : '同意',
    transcript: i % 3 === 0 ? '我不同意' : '好的同意',
    confidence: 0.8 + i / 100,
    complaint: i === 4,
    speechStartT: 1000 * i,
    speechEndT: 1000 * i + 640,
    decidedT: 1000 * i + 880.5,
    wallTime: new Date(Date.UTC(2025, 5, 1, 10, 0, i)).toISOString(),
    audio: { sampleRate: 16000, samples: tone(8000 + i, 200 + 50 * i) },
    model: 'zipformer-test',
    mode: 'recognizer',
    ...over,
  };
}

function raw(): BetterSqlite3.Database {
  return new BetterSqlite3(databasePath(dir));
}

function capture(): { io: { out: (t: string) => void; err: (t: string) => void }; text: () => string } {
  let s = '';
  return { io: { out: (t) => (s += t), err: (t) => (s += t) }, text: () => s };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'earshot-evidence-'));
  db = openDatabase({ dataDir: dir, migrations: [EVIDENCE_MIGRATIONS] });
  store = new EvidenceStore(db, { dataDir: dir, keys: keyring([randomBytes(32)]) });
});

afterEach(() => {
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('EvidenceStore', () => {
  it('opens the database in WAL mode with synchronous=FULL', () => {
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
  });

  it('appends a hash chain with durable audio, and verify passes', () => {
    const recs = [0, 1, 2, 3, 4].map((i) => store.append(input(i)));
    expect(recs.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(recs[0].prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < recs.length; i++) expect(recs[i].prevHash).toBe(recs[i - 1].hash);
    // ids are time-ordered ULIDs and sort like the chain
    expect(recs.every((r) => isUlid(r.id))).toBe(true);
    expect([...recs.map((r) => r.id)].sort()).toEqual(recs.map((r) => r.id));

    const p = store.audioPath(recs[2].id)!;
    expect(p).toMatch(/evidence[/\\]\d{4}-\d{2}-\d{2}[/\\][0-9A-Z]{26}\.wav$/);
    expect(createHash('sha256').update(readFileSync(p)).digest('hex')).toBe(recs[2].audioSha256);
    expect(recs[2].audioSamples).toBe(8002);

    expect(store.get(recs[4].id)).toEqual(recs[4]);
    expect(store.get(recs[4].id)!.complaint).toBe(true);
    expect(store.listByCall('call-1').map((r) => r.id)).toEqual([recs[2].id, recs[3].id]);
    expect(store.get('nope')).toBeNull();

    expect(store.verify()).toMatchObject({ ok: true, checked: 5, head: { id: recs[4].id, seq: 5, hash: recs[4].hash } });
  });

  it('appendAsync (the live-call path, audio synced off the event loop) keeps the chain, the id order and the audio when appends overlap', async () => {
    store.append(input(0));
    const recs = await Promise.all([1, 2, 3, 4].map((i) => store.appendAsync(input(i))));
    expect(recs.map((r) => r.seq)).toEqual([2, 3, 4, 5]);
    for (let i = 1; i < recs.length; i++) expect(recs[i].prevHash).toBe(recs[i - 1].hash);
    expect([...recs.map((r) => r.id)].sort()).toEqual(recs.map((r) => r.id));
    for (const r of recs) expect(createHash('sha256').update(readFileSync(store.audioPath(r.id)!)).digest('hex')).toBe(r.audioSha256);
    // A failed append (invalid input) rejects and does not stop the ones after it.
    const bad = store.appendAsync({ ...input(5), decision: 'maybe' as never });
    const after = store.appendAsync(input(6));
    await expect(bad).rejects.toThrow();
    expect((await after).seq).toBe(6);
    expect(store.verify()).toMatchObject({ ok: true, checked: 6 });
  });

  it('appendAsync commits in the database writer thread: the event loop runs on while another connection holds the write lock', async () => {
    const first = await store.appendAsync(input(1));
    const other = raw();
    other.exec('BEGIN IMMEDIATE');
    let settled = false;
    const pending = store.appendAsync(input(2)).finally(() => (settled = true));
    let ticks = 0;
    await new Promise<void>((resolve) => {
      const t = setInterval(() => ++ticks >= 10 && (clearInterval(t), resolve()), 20);
    });
    expect(settled).toBe(false); // still waiting for the lock, off this thread
    other.exec('COMMIT');
    other.close();
    const rec = await pending;
    expect(rec).toMatchObject({ seq: 2, prevHash: first.hash });
    expect(store.get(rec.id)).toEqual(rec);
  });

  it('appendAsync seals again on the head another writer appended meanwhile, so the chain has no fork', async () => {
    const db2 = openDatabase({ dataDir: dir });
    const other = new EvidenceStore(db2, { dataDir: dir, keys: store.keys });
    try {
      const recs = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => (i % 2 ? store : other).appendAsync(input(i))));
      expect(recs.map((r) => r.seq).sort()).toEqual([1, 2, 3, 4, 5, 6]);
      expect(store.verify()).toMatchObject({ ok: true, checked: 6 });
    } finally {
      db2.close();
    }
  });

  it('if the writer thread dies mid-append, the append fails clearly (no row, no WAV) and the next one continues the chain', async () => {
    const first = await store.appendAsync(input(1));
    const writer = SqliteWriter.for(db)!;
    // The writer waits on a lock held elsewhere with the record in hand (its WAV written), and is killed there.
    const other = raw();
    other.exec('BEGIN IMMEDIATE');
    const lost = store.appendAsync(input(2, { callId: 'lost' }));
    while (!writer.pendingCount) await new Promise((r) => setTimeout(r, 5));
    const crashed = writer.crashForTest();
    other.exec('COMMIT');
    other.close();
    await crashed;
    await expect(lost).rejects.toThrow(/database writer thread failed/);
    expect(store.listByCall('lost')).toEqual([]);
    expect(readdirSync(join(dir, 'evidence'), { recursive: true }).map(String).filter((f) => f.endsWith('.wav'))).toHaveLength(1);
    const next = await store.appendAsync(input(3));
    expect(next).toMatchObject({ seq: 2, prevHash: first.hash });
    expect(store.verify()).toMatchObject({ ok: true, checked: 2 });
  });

  it(`appendAsync refuses a decision beyond ${MAX_APPENDING} waiting for the disk, at once, and records the rest`, async () => {
    const other = raw();
    other.exec('BEGIN IMMEDIATE'); // a stalled disk, as seen from the writer: nothing commits
    const waiting = Array.from({ length: MAX_APPENDING }, (_, i) => store.appendAsync(input(i, { audio: undefined, confidence: 0.9 })));
    await expect(store.appendAsync(input(999, { audio: undefined, confidence: 0.9 }))).rejects.toThrow(/already waiting/);
    other.exec('COMMIT');
    other.close();
    expect((await Promise.all(waiting)).map((r) => r.seq)).toEqual(Array.from({ length: MAX_APPENDING }, (_, i) => i + 1));
    expect(store.verify()).toMatchObject({ ok: true, checked: MAX_APPENDING });
  });

  it('stores a record without audio and with absent optionals as null', () => {
    const r = store.append(input(7, { audio: undefined, callee: undefined, promptId: undefined, speechStartT: undefined }));
    expect(r).toMatchObject({ audioFile: null, audioSha256: null, callee: null, promptId: null, speechStartT: null });
    expect(store.audioPath(r.id)).toBeNull();
    expect(store.verify().ok).toBe(true);
  });

  it('rejects invalid input without writing anything', () => {
    expect(() => store.append(input(1, { confidence: 2 }))).toThrow();
    expect(() => store.append(input(1, { wallTime: 'yesterday' }))).toThrow();
    expect(store.verify()).toMatchObject({ ok: true, checked: 0 });
    expect(existsSync(join(dir, 'evidence'))).toBe(false);
  });

  it('hash can be recomputed independently from a raw row (documented canonical form)', () => {
    const rec = store.append(input(1));
    const row = raw().prepare('SELECT * FROM evidence WHERE id = ?').get(rec.id) as Record<string, unknown>;
    const { hash, keyId: _k, mac: _m, ...rest } = row;
    rest.complaint = rest.complaint === 1;
    const sorted = Object.fromEntries(Object.keys(rest).sort().map((k) => [k, rest[k]]));
    const h = createHash('sha256').update(JSON.stringify(sorted), 'utf8').digest('hex');
    expect(h).toBe(hash);
  });

  it('triggers refuse UPDATE and DELETE on the evidence table', () => {
    const rec = store.append(input(1));
    const r = raw();
    expect(() => r.prepare("UPDATE evidence SET decision = 'refused' WHERE id = ?").run(rec.id)).toThrow(/append-only/);
    expect(() => r.prepare('DELETE FROM evidence WHERE id = ?').run(rec.id)).toThrow(/append-only/);
    r.close();
    expect(store.get(rec.id)!.decision).toBe('granted');
    expect(store.verify().ok).toBe(true);
  });

  it('detects an edited row and names it', () => {
    const recs = [0, 1, 2, 3].map((i) => store.append(input(i)));
    const r = raw();
    r.exec('DROP TRIGGER evidence_no_update');
    r.prepare("UPDATE evidence SET decision = 'granted' WHERE id = ?").run(recs[0].id); // was refused
    r.close();
    const v = store.verify();
    expect(v.ok).toBe(false);
    expect(v.firstBad!.id).toBe(recs[0].id);
    expect(v.firstBad!.reason).toMatch(/hash mismatch/);
  });

  it('detects an edited row whose hash was recomputed: by its MAC with the key, at the next record without', () => {
    const recs = [0, 1, 2].map((i) => store.append(input(i)));
    const r = raw();
    r.exec('DROP TRIGGER evidence_no_update');
    // A careful tamperer fixes up the row's own hash; the following record's prevHash still points at the old one.
    const forged = { ...store.get(recs[1].id)!, transcript: 'forged' };
    const { hash: _old, ...fields } = forged;
    r.prepare('UPDATE evidence SET transcript = ?, hash = ? WHERE id = ?').run('forged', recordHash(fields), recs[1].id);
    r.close();
    const v = store.verify();
    expect(v).toMatchObject({ ok: false, macs: 'checked', firstBad: { id: recs[1].id } });
    expect(v.firstBad!.reason).toMatch(/MAC mismatch/);
    const keyless = new EvidenceStore(db, { dataDir: dir }).verify();
    expect(keyless).toMatchObject({ ok: false, macs: 'unchecked', firstBad: { id: recs[2].id } });
    expect(keyless.firstBad!.reason).toMatch(/chain broken/);
  });

  it('detects a deleted middle row, naming the next record', () => {
    const recs = [0, 1, 2, 3].map((i) => store.append(input(i)));
    const r = raw();
    r.exec('DROP TRIGGER evidence_no_delete');
    r.prepare('DELETE FROM evidence WHERE id = ?').run(recs[1].id);
    r.close();
    const v = store.verify();
    expect(v.ok).toBe(false);
    expect(v.firstBad!.id).toBe(recs[2].id);
    expect(v.checked).toBe(2);
  });

  it('detects an overwritten or missing WAV, naming the record', () => {
    const recs = [0, 1, 2].map((i) => store.append(input(i)));
    const p = store.audioPath(recs[1].id)!;
    writeFileSync(p, encodeWav({ sampleRate: 16000, samples: tone(8001, 300) }));
    let v = store.verify();
    expect(v).toMatchObject({ ok: false, firstBad: { id: recs[1].id } });
    expect(v.firstBad!.reason).toMatch(/audio file altered/);
    unlinkSync(p);
    v = store.verify();
    expect(v).toMatchObject({ ok: false, firstBad: { id: recs[1].id } });
    expect(v.firstBad!.reason).toMatch(/audio file missing/);
  });

  it('a decision whose id was printed survives SIGKILL right after append returns', () => {
    db.close(); // the child owns the database; we reopen after it is dead
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', resolve(__dirname, 'fixtures/evidence-append-then-sigkill.ts'), dir, '3'],
      { cwd: resolve(__dirname, '..'), encoding: 'utf8', timeout: 60_000 },
    );
    expect(child.signal, child.stderr).toBe('SIGKILL');
    const ids = [...child.stdout.matchAll(/^APPENDED (\S+)$/gm)].map((m) => m[1]);
    expect(ids).toHaveLength(3);

    db = openDatabase({ dataDir: dir, migrations: [EVIDENCE_MIGRATIONS] });
    // The child created the key beside the database on its first start.
    const keys = loadEvidenceKeys({ env: {}, dbFile: databasePath(dir), mayCreate: false, create: false });
    store = new EvidenceStore(db, { dataDir: dir, keys: keys.ring });
    for (const id of ids) {
      const rec = store.get(id);
      expect(rec, id).not.toBeNull();
      expect(existsSync(store.audioPath(id)!)).toBe(true);
    }
    expect(store.get(ids[2])!.callId).toBe('kill-call-2');
    expect(store.verify()).toMatchObject({ ok: true, checked: 3, macs: 'checked', head: { id: ids[2] } });
    // and the chain continues where the dead process left it
    const next = store.append(input(9));
    expect(next.seq).toBe(4);
    expect(next.prevHash).toBe(store.get(ids[2])!.hash);
    expect(store.verify().ok).toBe(true);
  });
});

describe('earshot evidence CLI', () => {
  it('verify exits 0 on an intact db and 1 on a tampered one', async () => {
    const recs = [0, 1, 2].map((i) => store.append(input(i)));
    const file = databasePath(dir);
    let c = capture();
    expect(await evidenceCli(['verify', '--db', file, '--json'], c.io)).toBe(0);
    expect(JSON.parse(c.text())).toMatchObject({ ok: true, checked: 3 });

    const r = raw();
    r.exec('DROP TRIGGER evidence_no_update');
    r.prepare('UPDATE evidence SET confidence = 0.99 WHERE id = ?').run(recs[1].id);
    r.close();
    c = capture();
    expect(await evidenceCli(['verify', '--db', file, '--json'], c.io)).toBe(1);
    expect(JSON.parse(c.text())).toMatchObject({ ok: false, firstBad: { id: recs[1].id } });
    c = capture();
    expect(await evidenceCli(['verify', '--db', file], c.io)).toBe(1);
    expect(c.text()).toContain(`FAILED at record ${recs[1].id}`);
  });

  it('show prints a record and flags damage; bad usage exits 2', async () => {
    const rec = store.append(input(1));
    const file = databasePath(dir);
    let c = capture();
    expect(await evidenceCli(['show', rec.id, '--db', file], c.io)).toBe(0);
    const out = JSON.parse(c.text());
    expect(out).toMatchObject({ intact: true, record: { id: rec.id, hash: rec.hash } });
    expect(createHash('sha256').update(out.canonical).digest('hex')).toBe(rec.hash);

    unlinkSync(store.audioPath(rec.id)!);
    c = capture();
    expect(await evidenceCli(['show', rec.id, '--db', file], c.io)).toBe(1);
    expect(await evidenceCli(['show', 'NOPE', '--db', file], capture().io)).toBe(1);
    expect(await evidenceCli(['frobnicate'], capture().io)).toBe(2);
    expect(await evidenceCli(['verify', '--db', join(dir, 'missing.db')], capture().io)).toBe(2);
  });

  it('the top-level dispatcher routes to the evidence command', async () => {
    store.append(input(1));
    expect(await runCli(['nonexistent'])).toBe(2);
    const oldWrite = process.stdout.write;
    let out = '';
    process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
    try {
      expect(await runCli(['evidence', 'verify', '--db', databasePath(dir), '--json'])).toBe(0);
    } finally {
      process.stdout.write = oldWrite;
    }
    expect(JSON.parse(out)).toMatchObject({ ok: true, checked: 1 });
  });
});
