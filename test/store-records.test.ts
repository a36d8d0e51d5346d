// The same call-record tests on both engines, through CallRecordStore (batching in memory) over each engine's
// repository; two stores on one database stand for two gateways.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CallRecordStore, policyMigrations } from '../gateway/policy/index.js';
import { PgCallRecordRepo } from '../gateway/policy/PgCallRecordRepo.js';
import { SqliteCallRecordRepo } from '../gateway/policy/SqliteCallRecordRepo.js';
import type { CallRecordRepo } from '../gateway/policy/CallRecordRepo.js';
import { openDatabase } from '../gateway/store/Database.js';
import { SqliteWriter, type WriteJob } from '../gateway/store/SqliteWriter.js';
import { Postgres } from '../gateway/store/postgres/Postgres.js';
import { twoInstances, useCluster } from './helpers/postgres.js';
import { sqlitePair } from './helpers/sqlitePair.js';

const cluster = useCluster();

interface Engine {
  name: string;
  pair(): Promise<{ a: CallRecordRepo; b: CallRecordRepo; close: () => Promise<void> }>;
}

const engines: Engine[] = [
  {
    name: 'sqlite',
    async pair() {
      const { da, db, close } = sqlitePair('records', [policyMigrations('CN')]);
      return { a: new SqliteCallRecordRepo(da, 'CN'), b: new SqliteCallRecordRepo(db, 'CN'), close };
    },
  },
  {
    name: 'postgres',
    async pair() {
      const { pa, pb, close } = await twoInstances(cluster());
      const [a, b] = await Promise.all([PgCallRecordRepo.open(pa), PgCallRecordRepo.open(pb)]);
      return { a, b, close };
    },
  },
];

describe.each(engines)('call records on $name', (engine) => {
  it('a record written by the instance that held the call is read, in full, on the other', async () => {
    const { a, b, close } = await engine.pair();
    try {
      let t = Date.UTC(2026, 0, 14, 2);
      const onA = new CallRecordStore(a, { flushIntervalMs: 10_000, now: () => new Date((t += 1000)) });
      const onB = new CallRecordStore(b);
      onA.start({ callId: 'r1', callee: '+86 138 0013 8000', callType: 'marketing', scriptId: 'promo', scriptVersion: 2, policyChecks: [{ allowed: true }] });
      await onA.addPrompt('r1', { promptId: 'greet', text: '您好', playedMs: 1234.6, heardFully: false });
      await onA.addDecision('r1', { evidenceId: 'EV1', decision: 'granted', promptId: 'greet' });
      expect(await onB.get('r1')).toBeNull(); // batched: nothing written yet
      await onA.finish('r1', 'completed');
      await onA.flush();
      const got = await onB.get('r1');
      expect(got).toMatchObject({
        callId: 'r1',
        callee: '+8613800138000',
        callType: 'marketing',
        scriptId: 'promo',
        scriptVersion: '2',
        outcome: 'completed',
        prompts: [{ promptId: 'greet', text: '您好', playedMs: 1235, heard: 'interrupted' }],
        decisions: [{ evidenceId: 'EV1', decision: 'granted', promptId: 'greet' }],
      });
      // An update made on B to a call it never held is a read-modify-write.
      await onB.addPolicyCheck('r1', { allowed: false, code: 'do_not_call', reason: 'complaint later' });
      expect((await onA.get('r1'))!.policyChecks.map((c) => c.code)).toEqual([null, 'do_not_call']);
      await onA.close();
      await onB.close();
    } finally {
      await close();
    }
  });

  it('lists newest first across instances, filtered by callee, and never lets a reused id overwrite a record', async () => {
    const { a, b, close } = await engine.pair();
    try {
      let t = Date.UTC(2026, 0, 14, 2);
      const clock = () => new Date((t += 60_000));
      const onA = new CallRecordStore(a, { now: clock });
      const onB = new CallRecordStore(b, { now: clock });
      onA.start({ callId: 'x1', callee: '+8613800138000', callType: 'marketing' });
      onB.start({ callId: 'x2', callee: '+12125550100', callType: 'notification' });
      onA.start({ callId: 'x3', callee: '13800138000', callType: 'notification' });
      await onA.flush();
      await onB.flush();
      expect((await onB.list()).map((r) => r.callId)).toEqual(['x3', 'x2', 'x1']);
      expect((await onB.list({ callee: '+86 138 0013 8000', limit: 5 })).map((r) => r.callId)).toEqual(['x3', 'x1']);
      onB.start({ callId: 'x1', callee: '+12125550199', callType: 'notification' });
      await onB.finish('x1', 'completed');
      await onB.flush();
      expect(await onA.get('x1')).toMatchObject({ callee: '+8613800138000', callType: 'marketing', outcome: null });
      await onA.close();
      await onB.close();
    } finally {
      await close();
    }
  });
});

describe('call records on sqlite, durability', () => {
  it('a batch commits without its own fsync (synchronous NORMAL for that transaction) and leaves the connection FULL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-records-'));
    const db = openDatabase({ dataDir: dir, migrations: [policyMigrations('CN')] });
    try {
      const repo = new SqliteCallRecordRepo(db, 'CN', null); // committed on this thread's connection
      const seen: number[] = [];
      const pragma = db.pragma.bind(db);
      const store = new CallRecordStore(repo, { flushIntervalMs: 10_000 });
      db.pragma = ((src: string, o?: { simple?: boolean }) => {
        if (/^synchronous = /.test(src)) seen.push(src === 'synchronous = NORMAL' ? 1 : Number(src.split('= ')[1]));
        return pragma(src, o);
      }) as typeof db.pragma;
      store.start({ callId: 'd1', callee: '+8613800138000', callType: 'notification' });
      await store.flush();
      db.pragma = pragma;
      expect(seen).toEqual([1, 2]);
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
      expect((await repo.get('d1'))?.callId).toBe('d1');
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('in the database writer thread (the default), a batch goes as one synchronous=NORMAL job and this connection is never touched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-records-'));
    const db = openDatabase({ dataDir: dir, migrations: [policyMigrations('CN')] });
    const writer = SqliteWriter.for(db)!;
    try {
      const repo = new SqliteCallRecordRepo(db, 'CN');
      const jobs: WriteJob[] = [];
      const run = writer.run.bind(writer);
      writer.run = (job) => (jobs.push(job), run(job));
      const pragmas: string[] = [];
      const pragma = db.pragma.bind(db);
      db.pragma = ((src: string, o?: { simple?: boolean }) => (pragmas.push(src), pragma(src, o))) as typeof db.pragma;
      const store = new CallRecordStore(repo, { flushIntervalMs: 10_000 });
      store.start({ callId: 'd1', callee: '+8613800138000', callType: 'notification' });
      store.start({ callId: 'd2', callee: '+8613800138001', callType: 'notification' });
      await store.flush();
      db.pragma = pragma;
      writer.run = run;
      expect(jobs.map((j) => [j.synchronous, j.steps.length])).toEqual([['NORMAL', 2]]);
      expect(pragmas).toEqual([]);
      expect((await repo.get('d2'))?.callee).toBe('+8613800138001');
      // A start for an id that already has a record is reported as existing, as on this thread.
      expect(await repo.write([{ rec: (await repo.get('d1'))!, isNew: true }])).toEqual({ existed: ['d1'] });
    } finally {
      await writer.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
