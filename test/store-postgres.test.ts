// The PostgreSQL plumbing every fleet store stands on, against a real server: migrations raced by several
// instances, the password never leaving in an error, and recovery (pool and LISTEN) after the server restarts.
import { beforeAll, describe, expect, it } from 'vitest';
import { Postgres, sharedPostgres, type PgMigrationSet } from '../gateway/store/postgres/Postgres.js';
import { redactError, redactUrl } from '../gateway/store/postgres/redact.js';
import { useCluster, type PgCluster } from './helpers/postgres.js';
import { until } from './helpers/until.js';

const useDb = useCluster();
let cluster: PgCluster;
beforeAll(() => {
  cluster = useDb();
});

const SET: PgMigrationSet = {
  module: 'demo',
  steps: [
    'CREATE TABLE demo (id INTEGER PRIMARY KEY, v TEXT NOT NULL)',
    // A slow step widens the window in which a second instance would otherwise run it too.
    "SELECT pg_sleep(0.3); ALTER TABLE demo ADD COLUMN w TEXT NOT NULL DEFAULT 'x'",
  ],
};

describe('Postgres', () => {
  it('six instances migrating at once apply each step exactly once', async () => {
    const url = await cluster.createDatabase();
    const instances = Array.from({ length: 6 }, () => new Postgres({ url }));
    try {
      await Promise.all(instances.map((p) => p.migrate([SET])));
      const r = await instances[0].query<{ module: string; version: number }>('SELECT module, version FROM schema_migrations ORDER BY version');
      expect(r.rows).toEqual([
        { module: 'demo', version: 1 },
        { module: 'demo', version: 2 },
      ]);
      await instances[1].query("INSERT INTO demo (id, v) VALUES (1, 'a')");
      expect((await instances[2].query('SELECT w FROM demo')).rows).toEqual([{ w: 'x' }]);
      // A build that knows fewer steps than the database has refuses to start on it.
      await expect(instances[3].migrate([{ module: 'demo', steps: SET.steps.slice(0, 1) }])).rejects.toThrow(/newer than this build/);
    } finally {
      await Promise.all(instances.map((p) => p.close()));
    }
  });

  it('never puts the password in an error or its redacted URL', async () => {
    const wrong = cluster.url.replace(cluster.password, 'not-the-password-s3cr3t');
    const p = new Postgres({ url: wrong, connectTimeoutMs: 2000 });
    try {
      const e = (await p.query('SELECT 1').catch((x: Error) => x)) as Error;
      expect(e).toBeInstanceOf(Error);
      expect(e.message).toMatch(/password authentication failed/);
      expect(e.message).not.toContain('not-the-password-s3cr3t');
      expect(p.redacted).toBe(`postgres://earshot:***@127.0.0.1:${cluster.port}/earshot`);
    } finally {
      await p.close();
    }
    expect(redactUrl('postgres://u:p%40ss@h/db?sslpassword=zz')).toBe('postgres://u:***@h/db?sslpassword=***');
    expect(redactError(new Error('cannot use postgres://u:p%40ss@h/db: p@ss rejected'), 'postgres://u:p%40ss@h/db').message).toBe(
      'cannot use postgres://u:***@h/db: *** rejected',
    );
  });

  it('fails fast while the server is down and recovers, queries and LISTEN, when it returns', async () => {
    const url = await cluster.createDatabase();
    const p = new Postgres({ url, connectTimeoutMs: 2000 });
    const heard: string[] = [];
    let reconnects = 0;
    p.listen('demo_channel', (payload) => heard.push(payload));
    p.onReconnect(() => reconnects++);
    try {
      await p.listening();
      await p.query("SELECT pg_notify('demo_channel', 'before')");
      await until(() => heard.includes('before'), 5000, 'notification before the restart');

      await cluster.stop();
      const t0 = performance.now();
      await expect(p.query('SELECT 1')).rejects.toThrow();
      expect(performance.now() - t0).toBeLessThan(2500); // refused, not hung
      await cluster.start();

      expect((await p.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await until(() => reconnects === 1, 10_000, 'the LISTEN connection to come back');
      await p.query("SELECT pg_notify('demo_channel', 'after')");
      await until(() => heard.includes('after'), 5000, 'notification after the restart');
    } finally {
      if (!cluster.running()) await cluster.start();
      await p.close();
    }
  });

  it('a channel added while the LISTEN connection is up hears the first notification sent once listening() resolves', async () => {
    const url = await cluster.createDatabase();
    const p = new Postgres({ url });
    try {
      p.listen('first_channel', () => undefined);
      await p.listening();
      // Many channels in a row, each notified the moment listening() says so: none may miss its first message.
      for (let i = 0; i < 20; i++) {
        const heard: string[] = [];
        p.listen(`late_channel_${i}`, (payload) => heard.push(payload));
        await p.listening();
        await p.query(`SELECT pg_notify('late_channel_${i}', 'hello')`);
        await until(() => heard.length > 0, 2000, `late_channel_${i} heard`);
        expect(heard).toEqual(['hello']);
      }
    } finally {
      await p.close();
    }
  });

  it('shares one pool per URL in a process and closes it with its last user', async () => {
    const url = await cluster.createDatabase();
    const a = sharedPostgres({ url });
    const b = sharedPostgres({ url });
    expect(a.pg).toBe(b.pg);
    await a.release();
    expect((await b.pg.query<{ one: number }>('SELECT 1 AS one')).rows[0].one).toBe(1);
    await b.release();
    await expect(b.pg.query('SELECT 1')).rejects.toThrow();
    const c = sharedPostgres({ url });
    expect(c.pg).not.toBe(a.pg);
    await c.release();
  });
});
