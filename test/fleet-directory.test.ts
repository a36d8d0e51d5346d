// The call directory on a real PostgreSQL server, with two directory instances as two gateways would hold them:
// claims, fleet-wide duplicates, refusals, notifications, expiry of a dead instance, recovery after an outage.
import { beforeAll, describe, expect, it } from 'vitest';
import { PgCallDirectory } from '../gateway/fleet/PgCallDirectory.js';
import { Postgres } from '../gateway/store/postgres/Postgres.js';
import { useCluster, type PgCluster } from './helpers/postgres.js';
import { until } from './helpers/until.js';

const useDb = useCluster();
let cluster: PgCluster;
beforeAll(() => {
  cluster = useDb();
});

async function two(opts: { heartbeatMs?: number; expireMs?: number; localA?: () => string[] } = {}) {
  const url = await cluster.createDatabase();
  const pa = new Postgres({ url, connectTimeoutMs: 1000 });
  const pb = new Postgres({ url, connectTimeoutMs: 1000 });
  const t = { heartbeatMs: opts.heartbeatMs ?? 1000, expireMs: opts.expireMs ?? 3000 };
  const a = await PgCallDirectory.open(pa, { instanceId: 'gw-a', address: 'http://127.0.0.1:1001', localCalls: opts.localA, ...t });
  const b = await PgCallDirectory.open(pb, { instanceId: 'gw-b', address: 'http://127.0.0.1:1002', ...t });
  return {
    url,
    a,
    b,
    pa,
    pb,
    close: async () => {
      await a.close().catch(() => undefined);
      await b.close().catch(() => undefined);
      await pa.close().catch(() => undefined);
      await pb.close().catch(() => undefined);
    },
  };
}

describe('PgCallDirectory', () => {
  it('a call claimed on A is found from B, refused as a duplicate on B, and free again once released', async () => {
    const { a, b, close } = await two();
    try {
      expect(await a.claim('call-1')).toBe(true);
      expect(await b.lookup('call-1')).toEqual({ state: 'live', callId: 'call-1', instanceId: 'gw-a', address: 'http://127.0.0.1:1001' });
      expect(await b.claim('call-1')).toBe(false);
      expect(await a.claim('call-1')).toBe(false); // a second start on the same instance is a duplicate too
      expect(await b.list()).toEqual([{ callId: 'call-1', instanceId: 'gw-a', address: 'http://127.0.0.1:1001' }]);
      await b.release('call-1'); // not B's: no effect
      expect(await a.lookup('call-1')).not.toBeNull();
      await a.release('call-1');
      expect(await b.lookup('call-1')).toBeNull();
      expect(await b.claim('call-1')).toBe(true);
    } finally {
      await close();
    }
  });

  it('of two instances claiming the same ids at the same moment exactly one wins each', async () => {
    const { a, b, close } = await two();
    try {
      const ids = Array.from({ length: 15 }, (_, i) => `race-${i}`);
      const results = await Promise.all(ids.flatMap((id) => [a.claim(id), b.claim(id)]));
      for (let i = 0; i < ids.length; i++) expect(results[2 * i] !== results[2 * i + 1]).toBe(true);
      expect((await a.list()).length).toBe(ids.length);
    } finally {
      await close();
    }
  });

  it('a refusal reaches watchers on the other instance and never overwrites a live call', async () => {
    const { a, b, close } = await two();
    try {
      let woken = 0;
      const stop = b.watch('r-1', () => woken++);
      await a.reject('r-1', 'do_not_call');
      await until(() => woken === 1, 5000, 'the refusal notification on B');
      expect(await b.lookup('r-1')).toMatchObject({ state: 'rejected', reason: 'do_not_call', instanceId: 'gw-a' });
      // A retry of the refused id may start (on either instance) and wakes the watcher again.
      expect(await b.claim('r-1')).toBe(true);
      await until(() => woken === 2, 5000, 'the claim notification');
      await a.reject('r-1', 'capacity'); // a duplicate refused on A: the live call stays
      expect(await a.lookup('r-1')).toMatchObject({ state: 'live', instanceId: 'gw-b' });
      stop();
    } finally {
      await close();
    }
  });

  it('the entries of an instance that stopped beating expire, are taken over and swept', async () => {
    const { a, b, pa, pb, close } = await two({ heartbeatMs: 200, expireMs: 600 });
    try {
      expect(await a.claim('dead-1')).toBe(true);
      expect(await a.claim('dead-2')).toBe(true);
      // A dies without leaving: its pool is cut, its heartbeats fail from now on.
      await pa.close();
      const t0 = performance.now();
      expect(await b.lookup('dead-1')).not.toBeNull();
      let gone = false;
      while (!gone && performance.now() - t0 < 5000) {
        gone = (await b.lookup('dead-1')) === null;
        if (!gone) await new Promise((r) => setTimeout(r, 50));
      }
      expect(gone).toBe(true);
      expect(performance.now() - t0).toBeGreaterThan(300);
      expect(await b.claim('dead-1')).toBe(true); // taken over at once
      // dead-2 is deleted by B's sweep.
      let rows = 1;
      while (rows && performance.now() - t0 < 5000) {
        rows = (await pb.query(`SELECT 1 FROM call_directory WHERE "callId" = 'dead-2'`)).rowCount ?? 0;
        if (rows) await new Promise((r) => setTimeout(r, 50));
      }
      expect(rows).toBe(0);
    } finally {
      await close();
    }
  });

  it('after the database was down longer than the expiry, an instance re-registers its live calls', async () => {
    const local = ['kept-1'];
    // Heartbeats driven by hand (the timer's period is longer than the test), so the order of events is fixed.
    const { url, a, b, close } = await two({ heartbeatMs: 60_000, expireMs: 120_000, localA: () => local });
    try {
      expect(await a.claim('kept-1')).toBe(true);
      expect(await a.claim('ended-meanwhile')).toBe(true);
      await cluster.stop();
      await a.beat(); // fails: A notes that the database is gone
      await a.release('ended-meanwhile').catch(() => undefined); // a call ends while the database is away
      await cluster.start();
      // Meanwhile A's heartbeat went stale and another instance's sweep deleted its entry.
      const sweeper = new Postgres({ url });
      await sweeper.query(`DELETE FROM call_directory WHERE "callId" = 'kept-1'`);
      await sweeper.close();
      expect(await b.lookup('kept-1')).toBeNull();
      await a.beat(); // the first good heartbeat re-registers what A still holds
      expect(await b.lookup('kept-1')).toMatchObject({ state: 'live', instanceId: 'gw-a' });
      expect(await b.lookup('ended-meanwhile')).toBeNull(); // its stale entry went with the re-registration
    } finally {
      if (!cluster.running()) await cluster.start();
      await close();
    }
  });
});
