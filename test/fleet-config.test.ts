// The fleet's configuration: EARSHOT_DATABASE_URL and friends are read and checked, a bad value stops the start
// naming the key but never printing the password, and a fleet instance refuses to start without the shared
// evidence key (a key of its own would split the one chain's MACs).
import { beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../gateway/app.js';
import { ConfigError, loadConfig } from '../gateway/config.js';
import { useCluster, type PgCluster } from './helpers/postgres.js';

const useDb = useCluster();
let cluster: PgCluster;
beforeAll(() => {
  cluster = useDb();
});

describe('fleet configuration', () => {
  it('reads the database and fleet settings from the environment', () => {
    const c = loadConfig({
      EARSHOT_DATABASE_URL: 'postgresql://earshot:s3cret@db.internal:5432/earshot?sslmode=require',
      EARSHOT_DATABASE_POOL_SIZE: '20',
      EARSHOT_INSTANCE_ID: 'earshot-7f9c',
      EARSHOT_ADVERTISE_URL: 'http://10.1.2.3:8080',
    });
    expect(c.database).toMatchObject({ url: 'postgresql://earshot:s3cret@db.internal:5432/earshot?sslmode=require', poolSize: 20, connectTimeoutMs: 3000 });
    expect(c.fleet).toEqual({ instanceId: 'earshot-7f9c', advertiseUrl: 'http://10.1.2.3:8080', heartbeatMs: 5000, expireMs: 15000 });
    expect(loadConfig({}).database.url).toBeUndefined();
  });

  it('refuses a bad value by its key, without echoing the URL or its password', () => {
    const bad = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    const m = bad({ EARSHOT_DATABASE_URL: 'mysql://earshot:hunter2@db/earshot' });
    expect(m).toMatch(/database\.url: must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(m).not.toContain('hunter2');
    expect(bad({ EARSHOT_DATABASE_POOL_SIZE: 'many' })).toMatch(/EARSHOT_DATABASE_POOL_SIZE/);
    expect(bad({ EARSHOT_ADVERTISE_URL: 'gateway-a:8080' })).toMatch(/fleet\.advertiseUrl/);
  });

  it('a fleet instance without the shared evidence key does not start, and says why without the password', async () => {
    const gw = await createGateway(
      { port: 0, host: '127.0.0.1', asr: { model: '' }, fleet: { advertiseUrl: 'http://127.0.0.1:1' }, database: { url: cluster.url } },
      {},
    );
    const err = (await gw.start().catch((e: Error) => e)) as Error;
    await gw.stop(0);
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/no evidence key: set EARSHOT_EVIDENCE_KEY or evidence\.keyFile/);
    expect(err.message).not.toContain(cluster.password);
  });
});
