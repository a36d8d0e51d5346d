// A throwaway PostgreSQL cluster for tests and the fleet bench: initdb in a temp directory, one server on a free
// loopback port, stopped and removed afterwards. The binaries come from Debian's `postgresql` package (installed by
// tools/setup.sh) or EARSHOT_PG_BIN. PostgreSQL refuses to run as root, so as root (CI) initdb and the server run
// as the `postgres` system user that the Debian package creates; as anyone else, as the user running the tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { Postgres } from '../../gateway/store/postgres/Postgres.js';

export interface PgCluster {
  /** postgres://earshot:<password>@127.0.0.1:<port>/earshot */
  url: string;
  port: number;
  password: string;
  /** Server log (its last lines are in any start failure). */
  logFile: string;
  running(): boolean;
  /** Stops the server (fast shutdown) and keeps its data: `start()` brings the same cluster back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** A new empty database in this cluster; its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server and removes the cluster's directory. */
  destroy(): Promise<void>;
}

/** Directory holding initdb and postgres: EARSHOT_PG_BIN, else the newest /usr/lib/postgresql/<v>/bin, else PATH. */
export function postgresBinDir(): string | null {
  const env = process.env.EARSHOT_PG_BIN;
  if (env) return existsSync(join(env, 'initdb')) ? env : null;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).map(Number).sort((a, b) => b - a);
    for (const v of versions) if (v >= 15 && existsSync(join(root, String(v), 'bin', 'initdb'))) return join(root, String(v), 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const p = which.stdout.trim();
  return which.status === 0 && p ? p.replace(/\/initdb$/, '') : null;
}

function systemUser(name: string): { uid: number; gid: number } | null {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGQUIT'); // immediate shutdown: never leave a server behind a crashed test
});

export async function startPostgres(opts: { fsync?: boolean } = {}): Promise<PgCluster> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries not found: run `bash tools/setup.sh` (Debian package postgresql) or set EARSHOT_PG_BIN');
  const root = mkdtempSync(join(tmpdir(), 'earshot-pg-'));
  const data = join(root, 'data');
  const logFile = join(root, 'server.log');
  const password = randomBytes(12).toString('hex');
  const pwfile = join(root, 'pw');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  const asUser = process.getuid?.() === 0 ? systemUser('postgres') : null;
  if (process.getuid?.() === 0 && !asUser) throw new Error('running as root but there is no `postgres` user to run PostgreSQL as (install Debian\'s postgresql package)');
  if (asUser) {
    chownSync(root, asUser.uid, asUser.gid);
    chownSync(pwfile, asUser.uid, asUser.gid);
  }
  const ids = asUser ? { uid: asUser.uid, gid: asUser.gid } : {};
  const init = spawnSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'earshot', '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'],
    { ...ids, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
  );
  rmSync(pwfile, { force: true });
  if (init.status !== 0) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);
  }
  const port = await freePort();
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const url = `postgres://earshot:${password}@127.0.0.1:${port}/earshot`;

  const start = async (): Promise<void> => {
    if (child) return;
    const args = ['-D', data, '-p', String(port), '-k', root, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'];
    if (opts.fsync === false) args.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
    const fd = openSync(logFile, 'a');
    if (asUser) chownSync(logFile, asUser.uid, asUser.gid);
    const c = spawn(join(bin, 'postgres'), args, { ...ids, stdio: ['ignore', fd, fd], env: { ...process.env, LC_ALL: 'C' } });
    closeSync(fd);
    live.add(c);
    child = c;
    exited = new Promise((resolve) =>
      c.once('exit', () => {
        live.delete(c);
        if (child === c) child = null;
        resolve();
      }),
    );
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (!child) throw new Error(`postgres exited at start:\n${tail(logFile)}`);
      const client = new pg.Client({ connectionString: url.replace(/\/earshot$/, '/postgres'), connectionTimeoutMillis: 1000 });
      try {
        await client.connect();
        await client.query('SELECT 1');
        await client.end();
        break;
      } catch {
        await client.end().catch(() => undefined);
        if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 30 s:\n${tail(logFile)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };

  const stop = async (): Promise<void> => {
    const c = child;
    if (!c) return;
    c.kill('SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
    await exited;
  };

  await start();
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: url.replace(/\/earshot$/, '/postgres') });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  await admin((c) => c.query('CREATE DATABASE earshot'));
  let dbCount = 0;

  return {
    url,
    port,
    password,
    logFile,
    running: () => child !== null,
    stop,
    start,
    async createDatabase(name = `t${process.pid}_${++dbCount}_${randomBytes(3).toString('hex')}`) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      await admin((c) => c.query(`CREATE DATABASE ${name}`));
      return url.replace(/\/earshot$/, `/${name}`);
    },
    async destroy() {
      await stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no server log)';
  }
}

/**
 * One throwaway cluster for a test file: started before its tests, removed after them. Call at the top level of the
 * file; the returned function gives the cluster inside tests.
 */
export function useCluster(opts: { fsync?: boolean } = { fsync: false }): () => PgCluster {
  let cluster: PgCluster | null = null;
  beforeAll(async () => {
    cluster = await startPostgres(opts);
  });
  afterAll(async () => {
    await cluster?.destroy();
  });
  return () => {
    if (!cluster) throw new Error('the cluster is not started yet (use it inside a test or hook)');
    return cluster;
  };
}

/** A fresh database and two pools on it, as two gateways would hold them. */
export async function twoInstances(cluster: PgCluster): Promise<{ url: string; pa: Postgres; pb: Postgres; close: () => Promise<void> }> {
  const url = await cluster.createDatabase();
  const pa = new Postgres({ url });
  const pb = new Postgres({ url });
  return { url, pa, pb, close: async () => void (await Promise.all([pa.close(), pb.close()])) };
}
