// The shared PostgreSQL database of a fleet (EARSHOT_DATABASE_URL): one connection pool per process, versioned
// migrations that several instances may run at once, and a LISTEN connection that survives server restarts.
// node-postgres (`pg`): every query is async, so nothing here ever blocks the event loop that paces call audio.
import { hostname } from 'node:os';
import pg from 'pg';
import { rootLogger } from '../../ops/log.js';
import { redactError, redactUrl } from './redact.js';

const log = rootLogger.child({ mod: 'postgres' });

/** A module's schema history: `steps[i]` upgrades it from version i to i+1. Never edit a shipped step. */
export interface PgMigrationSet {
  module: string;
  steps: readonly string[];
}

export interface PostgresOptions {
  url: string;
  poolSize?: number;
  /** How long to wait for a connection (a down server fails at once; an unreachable host only after this). */
  connectTimeoutMs?: number;
  /** Server-side limit per statement, so a stuck lock fails a call start instead of hanging it. */
  statementTimeoutMs?: number;
  applicationName?: string;
}

/** Serialises migrations across every instance that starts at the same moment (pg_advisory_lock key). */
const MIGRATION_LOCK = 0x6561_7273; // 'ears'

// BIGINT (epoch ms, sequence numbers) as JS numbers: every value we store is far below 2^53.
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

type NotifyHandler = (payload: string) => void;

export class Postgres {
  readonly pool: pg.Pool;
  /** The URL with its password masked: the only form that may be logged. */
  readonly redacted: string;
  private readonly listener: Listener;
  private closed = false;

  constructor(private readonly opts: PostgresOptions) {
    this.redacted = redactUrl(opts.url);
    const applicationName = opts.applicationName ?? `earshot@${hostname()}`;
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 3000,
      statement_timeout: opts.statementTimeoutMs ?? 5000,
      idle_in_transaction_session_timeout: 30_000,
      keepAlive: true,
      application_name: applicationName,
      types: TYPES,
    });
    // An idle client whose server went away emits here; without a handler it would crash the process. The pool drops
    // it and opens a new connection on the next query, which is how instances recover without a restart.
    this.pool.on('error', (e) => log.warn({ err: redactError(e, opts.url).message, db: this.redacted }, 'idle database connection lost'));
    this.listener = new Listener(opts, applicationName, this.redacted);
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (e) {
      throw redactError(e, this.opts.url);
    }
  }

  /** Runs `fn` in one transaction on one connection; rolls back if it throws. */
  async tx<T>(fn: (c: pg.PoolClient) => Promise<T>, isolation: 'READ COMMITTED' | 'SERIALIZABLE' = 'READ COMMITTED'): Promise<T> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw redactError(e, this.opts.url);
    }
    let broken: unknown = null;
    try {
      await c.query(`BEGIN ISOLATION LEVEL ${isolation}`);
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      broken = e;
      await c.query('ROLLBACK').catch(() => undefined);
      throw redactError(e, this.opts.url);
    } finally {
      // A connection that failed mid-transaction may be dead: destroy it rather than hand it to the next caller.
      c.release(broken instanceof Error && !('severity' in broken) ? broken : undefined);
    }
  }

  /**
   * Applies every pending step of each set, in order, each in its own transaction together with its version row.
   * The session advisory lock makes a second instance starting at the same moment wait, then find nothing to do.
   */
  async migrate(sets: readonly PgMigrationSet[]): Promise<void> {
    const c = await this.pool.connect().catch((e: unknown) => {
      throw redactError(e, this.opts.url);
    });
    try {
      await c.query('SET statement_timeout = 0'); // waiting behind another instance's migration is expected
      await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
          module TEXT NOT NULL,
          version INTEGER NOT NULL,
          applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
          PRIMARY KEY (module, version)
        )`);
        for (const set of sets) {
          const r = await c.query<{ v: number }>('SELECT COALESCE(MAX(version), 0)::int AS v FROM schema_migrations WHERE module = $1', [set.module]);
          const have = r.rows[0].v;
          if (have > set.steps.length) {
            throw new Error(`database schema for ${set.module} is at version ${have}, newer than this build (${set.steps.length})`);
          }
          for (let i = have; i < set.steps.length; i++) {
            await c.query('BEGIN');
            try {
              await c.query(set.steps[i]);
              await c.query('INSERT INTO schema_migrations (module, version) VALUES ($1, $2)', [set.module, i + 1]);
              await c.query('COMMIT');
            } catch (e) {
              await c.query('ROLLBACK').catch(() => undefined);
              throw new Error(`migration ${set.module} v${i + 1} failed: ${(e as Error).message}`);
            }
            log.info({ module: set.module, version: i + 1, db: this.redacted }, 'database migrated');
          }
        }
      } finally {
        await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
        await c.query('RESET statement_timeout').catch(() => undefined);
      }
    } catch (e) {
      throw redactError(e, this.opts.url);
    } finally {
      c.release();
    }
  }

  /** Calls `handler` for every NOTIFY on `channel`, across reconnects. Returns an unsubscribe function. */
  listen(channel: string, handler: NotifyHandler): () => void {
    return this.listener.add(channel, handler);
  }

  /** Called after the LISTEN connection came back: notifications sent while it was down were lost, so re-read. */
  onReconnect(fn: () => void): () => void {
    return this.listener.onReconnect(fn);
  }

  /** Resolves once the LISTEN connection is up (tests, start-up). */
  listening(): Promise<void> {
    return this.listener.ready();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.listener.close();
    await this.pool.end();
  }
}

/** One dedicated connection for LISTEN (a pooled one would be handed to queries); reconnects with backoff. */
class Listener {
  private client: pg.Client | null = null;
  private readonly channels = new Map<string, Set<NotifyHandler>>();
  private readonly reconnectHooks = new Set<() => void>();
  private connecting: Promise<void> | null = null;
  private retryMs = 250;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private everConnected = false;
  private waiters: (() => void)[] = [];
  /** LISTENs sent on the live connection for channels added after it came up: ready() waits for them. */
  private subscribing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly opts: PostgresOptions,
    private readonly applicationName: string,
    private readonly redacted: string,
  ) {}

  add(channel: string, handler: NotifyHandler): () => void {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`bad channel name ${channel}`);
    let set = this.channels.get(channel);
    if (!set) {
      this.channels.set(channel, (set = new Set()));
      if (this.client) this.subscribing = Promise.all([this.subscribing, this.client.query(`LISTEN ${channel}`).catch(() => undefined)]);
    }
    set.add(handler);
    this.ensure();
    return () => set.delete(handler);
  }

  onReconnect(fn: () => void): () => void {
    this.reconnectHooks.add(fn);
    return () => this.reconnectHooks.delete(fn);
  }

  ready(): Promise<void> {
    this.ensure();
    // A channel added while the connection was up is heard once its LISTEN has been answered, not before.
    if (this.client) return this.subscribing.then(() => undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private ensure(): void {
    if (this.closed || this.client || this.connecting || this.timer) return;
    this.connecting = this.connect().finally(() => (this.connecting = null));
  }

  private async connect(): Promise<void> {
    const c = new pg.Client({
      connectionString: this.opts.url,
      connectionTimeoutMillis: this.opts.connectTimeoutMs ?? 3000,
      keepAlive: true,
      application_name: `${this.applicationName}/listen`,
    });
    const lost = (e?: Error) => {
      if (this.client !== c) return;
      this.client = null;
      if (!this.closed) log.warn({ err: e ? redactError(e, this.opts.url).message : 'connection ended', db: this.redacted }, 'LISTEN connection lost; reconnecting');
      c.end().catch(() => undefined);
      this.schedule();
    };
    c.on('error', lost);
    c.on('end', () => lost());
    c.on('notification', (n) => {
      const set = this.channels.get(n.channel);
      if (!set) return;
      for (const h of set) {
        try {
          h(n.payload ?? '');
        } catch (e) {
          log.error({ err: (e as Error).message, channel: n.channel }, 'notification handler failed');
        }
      }
    });
    try {
      await c.connect();
      for (const ch of this.channels.keys()) await c.query(`LISTEN ${ch}`);
    } catch (e) {
      c.end().catch(() => undefined);
      if (!this.closed) log.warn({ err: redactError(e, this.opts.url).message, db: this.redacted, retryMs: this.retryMs }, 'LISTEN connection failed');
      this.schedule();
      return;
    }
    if (this.closed) {
      await c.end().catch(() => undefined);
      return;
    }
    this.client = c;
    this.retryMs = 250;
    const again = this.everConnected;
    this.everConnected = true;
    for (const w of this.waiters.splice(0)) w();
    if (again) {
      log.info({ db: this.redacted }, 'LISTEN connection restored');
      for (const h of this.reconnectHooks) h();
    }
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.ensure();
    }, this.retryMs);
    this.timer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 5000);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.connecting?.catch(() => undefined);
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }
}

const shared = new Map<string, { pg: Postgres; users: number }>();

/**
 * The process-wide handle for a database URL: stores of one process share one pool (and one LISTEN connection).
 * Each caller gets a release function; the pool closes when the last user released it.
 */
export function sharedPostgres(opts: PostgresOptions): { pg: Postgres; release: () => Promise<void> } {
  let e = shared.get(opts.url);
  if (!e) shared.set(opts.url, (e = { pg: new Postgres(opts), users: 0 }));
  e.users++;
  const entry = e;
  let released = false;
  return {
    pg: entry.pg,
    release: async () => {
      if (released) return;
      released = true;
      if (--entry.users > 0) return;
      if (shared.get(opts.url) === entry) shared.delete(opts.url);
      await entry.pg.close();
    },
  };
}
