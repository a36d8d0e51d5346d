// The same PolicyStore tests on both engines: embedded SQLite and a real PostgreSQL server (throwaway cluster).
// "Two instances" are two independent store objects with their own connections to one database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CallPolicy, policyMigrations, SqlitePolicyStore, type PolicyStore } from '../gateway/policy/index.js';
import { AttemptWriter } from '../gateway/policy/AttemptWriter.js';
import { PgPolicyStore } from '../gateway/policy/PgPolicyStore.js';
import { openDatabase } from '../gateway/store/Database.js';
import { Postgres } from '../gateway/store/postgres/Postgres.js';
import { twoInstances, useCluster } from './helpers/postgres.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 14, 2, 0, 0);

interface Engine {
  name: string;
  /** Two stores on one fresh database (as two gateways would open it), and a cleanup. */
  pair(): Promise<{ a: PolicyStore; b: PolicyStore; close: () => Promise<void> }>;
}

const cluster = useCluster();

const engines: Engine[] = [
  {
    name: 'sqlite',
    async pair() {
      const dir = mkdtempSync(join(tmpdir(), 'earshot-store-'));
      const dbA = openDatabase({ dataDir: dir, migrations: [policyMigrations('CN')] });
      const dbB = openDatabase({ dataDir: dir, migrations: [policyMigrations('CN')] });
      // Each with its attempt writer (a worker thread with its own connection), as the gateway runs it.
      const a = new SqlitePolicyStore(dbA, new AttemptWriter(dbA.name));
      const b = new SqlitePolicyStore(dbB, new AttemptWriter(dbB.name));
      return {
        a,
        b,
        close: async () => {
          await a.close();
          await b.close();
          dbA.close();
          dbB.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    async pair() {
      const { pa, pb, close } = await twoInstances(cluster());
      const [a, b] = await Promise.all([PgPolicyStore.open(pa), PgPolicyStore.open(pb)]);
      return { a, b, close };
    },
  },
];

describe.each(engines)('PolicyStore on $name', (engine) => {
  it('keeps one do-not-call entry per number, latest wins, seen by the other instance', async () => {
    const { a, b, close } = await engine.pair();
    try {
      await a.addDnc({ number: '+8613800138000', reason: 'asked', source: 'refusal', callId: 'c1', addedAt: '2026-01-01T00:00:00.000Z' });
      await b.addDnc({ number: '+8613800138000', reason: 'angry', source: 'complaint', callId: 'c2', addedAt: '2026-01-02T00:00:00.000Z' });
      expect(await a.getDnc('+8613800138000')).toEqual({ number: '+8613800138000', reason: 'angry', source: 'complaint', callId: 'c2', addedAt: '2026-01-02T00:00:00.000Z' });
      expect(await b.getDnc('+8613800138001')).toBeNull();
      await a.addDnc({ number: '+8613800138001', reason: 'op', source: 'admin', callId: null, addedAt: '2026-01-03T00:00:00.000Z' });
      await a.addDnc({ number: '+8613800138002', reason: 'op', source: 'admin', callId: null, addedAt: '2026-01-03T00:00:00.000Z' });
      const page1 = await b.listDnc({ limit: 2, offset: 0 });
      expect(page1.map((e) => e.number)).toEqual(['+8613800138001', '+8613800138002']); // newest first, then by number
      expect((await b.listDnc({ limit: 2, offset: 2 })).map((e) => e.number)).toEqual(['+8613800138000']);
      expect(await b.removeDnc('+8613800138000')).toBe(true);
      expect(await a.removeDnc('+8613800138000')).toBe(false);
      expect(await a.getDnc('+8613800138000')).toBeNull();
    } finally {
      await close();
    }
  });

  it('counts attempts in (since, until] per callee and call type', async () => {
    const { a, b, close } = await engine.pair();
    try {
      await a.recordAttempt({ callee: '+861', callType: 'marketing', callId: 'x1', at: T0 });
      await b.recordAttempt({ callee: '+861', callType: 'marketing', callId: 'x2', at: T0 + HOUR });
      await b.recordAttempt({ callee: '+861', callType: 'notification', callId: 'x3', at: T0 + HOUR });
      await b.recordAttempt({ callee: '+862', callType: 'marketing', callId: 'x4', at: T0 + HOUR });
      expect(await a.countAttempts('+861', 'marketing', T0 - 1, T0 + HOUR)).toBe(2);
      expect(await a.countAttempts('+861', 'marketing', T0, T0 + HOUR)).toBe(1); // since is exclusive
      expect(await a.countAttempts('+861', 'marketing', T0 - 1, T0 + HOUR - 1)).toBe(1); // until is inclusive
      expect(await a.countAttempts('+861', 'notification', 0, T0 + 2 * HOUR)).toBe(1);
    } finally {
      await close();
    }
  });

  it('records an attempt only while every cap has room and names the first full cap', async () => {
    const { a, b, close } = await engine.pair();
    try {
      const caps = [
        { max: 1, windowHours: 24 },
        { max: 2, windowHours: 24 * 7 },
      ];
      expect(await a.recordAttemptWithinCaps({ callee: '+861', callType: 'marketing', callId: 'd1', at: T0 }, caps)).toBeNull();
      expect(await b.recordAttemptWithinCaps({ callee: '+861', callType: 'marketing', callId: 'd1b', at: T0 + HOUR }, caps)).toEqual(caps[0]);
      expect(await b.recordAttemptWithinCaps({ callee: '+861', callType: 'marketing', callId: 'd2', at: T0 + 25 * HOUR }, caps)).toBeNull();
      expect(await a.recordAttemptWithinCaps({ callee: '+861', callType: 'marketing', callId: 'd3', at: T0 + 50 * HOUR }, caps)).toEqual(caps[1]);
      // Refusals recorded nothing.
      expect(await a.countAttempts('+861', 'marketing', 0, T0 + 100 * HOUR)).toBe(2);
      // No caps: always recorded.
      expect(await a.recordAttemptWithinCaps({ callee: '+861', callType: 'notification', callId: 'n1', at: T0 }, [])).toBeNull();
      expect(await a.countAttempts('+861', 'notification', 0, T0 + 1)).toBe(1);
    } finally {
      await close();
    }
  });

  it('counts an attempt another instance stamped later (its clock ahead) against the cap', async () => {
    const { a, b, close } = await engine.pair();
    try {
      const caps = [{ max: 1, windowHours: 24 }];
      expect(await a.recordAttemptWithinCaps({ callee: '+863', callType: 'marketing', callId: 'ahead', at: T0 + 2000 }, caps)).toBeNull();
      expect(await b.recordAttemptWithinCaps({ callee: '+863', callType: 'marketing', callId: 'behind', at: T0 }, caps)).toEqual(caps[0]);
    } finally {
      await close();
    }
  });

  it('20 starts at one moment, half on each instance, never squeeze past a cap of 3', async () => {
    const { a, b, close } = await engine.pair();
    try {
      const caps = [{ max: 3, windowHours: 24 }];
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? a : b).recordAttemptWithinCaps({ callee: '+8613900000000', callType: 'marketing', callId: `r${i}`, at: T0 + i }, caps),
        ),
      );
      expect(results.filter((r) => r === null)).toHaveLength(3);
      expect(results.filter((r) => r !== null)).toHaveLength(17);
      expect(await a.countAttempts('+8613900000000', 'marketing', 0, T0 + 100)).toBe(3);
    } finally {
      await close();
    }
  });

  it('CallPolicy over the store: a do-not-call entry added on one instance refuses the start on the other', async () => {
    const { a, b, close } = await engine.pair();
    try {
      const pa = new CallPolicy(a);
      const pb = new CallPolicy(b);
      const now = new Date(T0); // 10:00 in Shanghai
      expect(await pb.checkAndRecord({ callee: '+86 139 0000 0001', callType: 'marketing', callId: 'p1', now })).toEqual({ allowed: true });
      await pa.dnc.add('+86 139 0000 0002', 'complaint heard on A', 'complaint', 'p0');
      expect(await pb.checkAndRecord({ callee: '+86 139 0000 0002', callType: 'marketing', callId: 'p2', now })).toMatchObject({ allowed: false, code: 'do_not_call' });
    } finally {
      await close();
    }
  });
});
