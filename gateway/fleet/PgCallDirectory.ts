// The call directory on the fleet's PostgreSQL database. Every instance upserts its heartbeat row every
// `heartbeatMs`; a directory entry counts only while its instance's heartbeat is younger than `expireMs` (compared
// on the database's clock, so instances' clocks may disagree), and a periodic sweep deletes the entries of dead
// instances. Claims are one INSERT … ON CONFLICT DO UPDATE … WHERE the holder is dead or it was a refusal, so two
// instances claiming one callId at the same moment cannot both win. A trigger NOTIFYs every claim and refusal, which
// wakes event streams waiting for a call (`?wait=`) on any instance.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { rootLogger } from '../ops/log.js';
import type { PgMigrationSet, Postgres } from '../store/postgres/Postgres.js';
import type { CallDirectory, DirectoryEntry } from './CallDirectory.js';

const log = rootLogger.child({ mod: 'call-directory' });

export const CALL_CHANNEL = 'earshot_calls';

export const PG_DIRECTORY_MIGRATIONS: PgMigrationSet = {
  module: 'fleet',
  steps: [
    `CREATE TABLE fleet_instances (
      instance_id TEXT PRIMARY KEY,
      address TEXT NOT NULL,
      started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE call_directory (
      "callId" TEXT PRIMARY KEY,
      instance_id TEXT NOT NULL,
      address TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('live', 'rejected')),
      reason TEXT,
      updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE INDEX call_directory_by_instance ON call_directory (instance_id);
    CREATE FUNCTION earshot_call_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('${CALL_CHANNEL}', NEW."callId");
      RETURN NEW;
    END
    $$;
    CREATE TRIGGER call_directory_notify AFTER INSERT OR UPDATE ON call_directory
      FOR EACH ROW EXECUTE FUNCTION earshot_call_notify();`,
  ],
};

export interface PgCallDirectoryOptions {
  /** Stable id (a pod name) or, by default, host + pid + random. */
  instanceId?: string;
  address: string;
  heartbeatMs?: number;
  /** An instance whose heartbeat is older than this is dead and its calls are gone. */
  expireMs?: number;
  /** How long a refusal at start stays visible to streams that subscribe after it. */
  rejectionTtlMs?: number;
  /** This instance's live calls, re-registered after the database was unreachable for a while. */
  localCalls?: () => Iterable<string>;
}

export class PgCallDirectory implements CallDirectory {
  readonly instanceId: string;
  readonly address: string;
  private readonly heartbeatMs: number;
  private readonly expireMs: number;
  private readonly rejectionTtlMs: number;
  private readonly watchers = new Map<string, Set<() => void>>();
  private timer: NodeJS.Timeout | null = null;
  private unlisten: (() => void) | null = null;
  private unReconnect: (() => void) | null = null;
  private beating: Promise<void> | null = null;
  /** False after a failed heartbeat: the next good one re-registers our calls (they may have been swept). */
  private healthy = true;
  private closed = false;

  static async open(pg: Postgres, opts: PgCallDirectoryOptions): Promise<PgCallDirectory> {
    await pg.migrate([PG_DIRECTORY_MIGRATIONS]);
    const d = new PgCallDirectory(pg, opts);
    await d.start();
    return d;
  }

  private constructor(
    private readonly pg: Postgres,
    private readonly opts: PgCallDirectoryOptions,
  ) {
    this.instanceId = opts.instanceId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.address = opts.address;
    this.heartbeatMs = opts.heartbeatMs ?? 5000;
    this.expireMs = opts.expireMs ?? 15_000;
    this.rejectionTtlMs = opts.rejectionTtlMs ?? 30_000;
    if (this.expireMs < 2 * this.heartbeatMs) throw new Error('fleet.expireMs must be at least twice fleet.heartbeatMs');
  }

  private async start(): Promise<void> {
    // A previous process with the same (stable) instance id left entries for calls that died with it.
    await this.pg.query('DELETE FROM call_directory WHERE instance_id = $1', [this.instanceId]);
    await this.heartbeat();
    this.unlisten = this.pg.listen(CALL_CHANNEL, (callId) => this.wake(callId));
    // Notifications sent while the LISTEN connection was down are lost: wake every watcher to look again.
    this.unReconnect = this.pg.onReconnect(() => {
      for (const id of [...this.watchers.keys()]) this.wake(id);
    });
    await this.pg.listening();
    this.timer = setInterval(() => void this.beat(), this.heartbeatMs);
    this.timer.unref();
    log.info({ instanceId: this.instanceId, address: this.address, heartbeatMs: this.heartbeatMs, expireMs: this.expireMs }, 'joined the fleet call directory');
  }

  /** One heartbeat (and sweep); the timer runs it every heartbeatMs. Never throws: a failure is remembered. */
  async beat(): Promise<void> {
    if (this.beating || this.closed) return;
    this.beating = (async () => {
      try {
        await this.heartbeat();
        if (!this.healthy) {
          this.healthy = true;
          await this.reregister();
          log.info({ instanceId: this.instanceId }, 'database reachable again: heartbeat and call entries restored');
        }
        await this.sweep();
      } catch (e) {
        if (this.healthy) log.warn({ err: (e as Error).message, instanceId: this.instanceId }, 'directory heartbeat failed');
        this.healthy = false;
      }
    })().finally(() => (this.beating = null));
    await this.beating;
  }

  private async heartbeat(): Promise<void> {
    await this.pg.query(
      `INSERT INTO fleet_instances (instance_id, address) VALUES ($1, $2)
       ON CONFLICT (instance_id) DO UPDATE SET heartbeat_at = now(), address = EXCLUDED.address`,
      [this.instanceId, this.address],
    );
  }

  /** Deletes entries of dead instances and old refusals; forgets instances silent for an hour. */
  private async sweep(): Promise<void> {
    await this.pg.query(
      `DELETE FROM call_directory d
       WHERE (d.state = 'rejected' AND d.updated_at < now() - make_interval(secs => $2::float8 / 1000))
          OR NOT EXISTS (SELECT 1 FROM fleet_instances i WHERE i.instance_id = d.instance_id AND i.heartbeat_at > now() - make_interval(secs => $1::float8 / 1000))`,
      [this.expireMs, this.rejectionTtlMs],
    );
    await this.pg.query("DELETE FROM fleet_instances WHERE heartbeat_at < now() - interval '1 hour'");
  }

  private async reregister(): Promise<void> {
    const local = [...(this.opts.localCalls?.() ?? [])];
    // Calls that ended while the database was unreachable could not release their entries: they go now.
    await this.pg.query(`DELETE FROM call_directory WHERE instance_id = $1 AND state = 'live' AND NOT ("callId" = ANY($2::text[]))`, [this.instanceId, local]);
    for (const callId of local) {
      const ok = await this.claimRow(callId, true);
      if (!ok) log.error({ callId, instanceId: this.instanceId }, 'call id taken by another instance while the database was unreachable');
    }
  }

  async claim(callId: string): Promise<boolean> {
    return this.claimRow(callId, false);
  }

  /** `own`: our own live entry counts as ours (re-registering after an outage), not as a duplicate. */
  private async claimRow(callId: string, own: boolean): Promise<boolean> {
    const r = await this.pg.query<{ instance_id: string }>(
      `INSERT INTO call_directory ("callId", instance_id, address, state) VALUES ($1, $2, $3, 'live')
       ON CONFLICT ("callId") DO UPDATE SET instance_id = EXCLUDED.instance_id, address = EXCLUDED.address, state = 'live', reason = NULL, updated_at = now()
       WHERE call_directory.state = 'rejected'
          OR ($5 AND call_directory.instance_id = EXCLUDED.instance_id)
          OR NOT EXISTS (SELECT 1 FROM fleet_instances i WHERE i.instance_id = call_directory.instance_id
                         AND i.heartbeat_at > now() - make_interval(secs => $4::float8 / 1000))
       RETURNING instance_id`,
      [callId, this.instanceId, this.address, this.expireMs, own],
    );
    return r.rowCount === 1;
  }

  async release(callId: string): Promise<void> {
    await this.pg.query(`DELETE FROM call_directory WHERE "callId" = $1 AND instance_id = $2 AND state = 'live'`, [callId, this.instanceId]);
  }

  async reject(callId: string, reason: string): Promise<void> {
    // Never over a live call (a duplicate start is refused, the original goes on).
    await this.pg.query(
      `INSERT INTO call_directory ("callId", instance_id, address, state, reason) VALUES ($1, $2, $3, 'rejected', $4)
       ON CONFLICT ("callId") DO UPDATE SET instance_id = EXCLUDED.instance_id, address = EXCLUDED.address, state = 'rejected', reason = EXCLUDED.reason, updated_at = now()
       WHERE call_directory.state = 'rejected'
          OR NOT EXISTS (SELECT 1 FROM fleet_instances i WHERE i.instance_id = call_directory.instance_id
                         AND i.heartbeat_at > now() - make_interval(secs => $5::float8 / 1000))`,
      [callId, this.instanceId, this.address, reason.slice(0, 200), this.expireMs],
    );
  }

  async lookup(callId: string): Promise<DirectoryEntry | null> {
    const r = await this.pg.query<{ instance_id: string; address: string; state: 'live' | 'rejected'; reason: string | null }>(
      `SELECT d.instance_id, d.address, d.state, d.reason FROM call_directory d
       JOIN fleet_instances i ON i.instance_id = d.instance_id
       WHERE d."callId" = $1
         AND i.heartbeat_at > now() - make_interval(secs => $2::float8 / 1000)
         AND (d.state = 'live' OR d.updated_at > now() - make_interval(secs => $3::float8 / 1000))`,
      [callId, this.expireMs, this.rejectionTtlMs],
    );
    const row = r.rows[0];
    if (!row) return null;
    return row.state === 'live'
      ? { state: 'live', callId, instanceId: row.instance_id, address: row.address }
      : { state: 'rejected', callId, instanceId: row.instance_id, reason: row.reason ?? 'rejected' };
  }

  watch(callId: string, cb: () => void): () => void {
    let set = this.watchers.get(callId);
    if (!set) this.watchers.set(callId, (set = new Set()));
    set.add(cb);
    return () => {
      set.delete(cb);
      if (!set.size && this.watchers.get(callId) === set) this.watchers.delete(callId);
    };
  }

  async list(): Promise<{ callId: string; instanceId: string; address: string }[]> {
    const r = await this.pg.query<{ callId: string; instance_id: string; address: string }>(
      `SELECT d."callId", d.instance_id, d.address FROM call_directory d
       JOIN fleet_instances i ON i.instance_id = d.instance_id
       WHERE d.state = 'live' AND i.heartbeat_at > now() - make_interval(secs => $1::float8 / 1000)
       ORDER BY d."callId"`,
      [this.expireMs],
    );
    return r.rows.map((x) => ({ callId: x.callId, instanceId: x.instance_id, address: x.address }));
  }

  private wake(callId: string): void {
    const set = this.watchers.get(callId);
    if (set) for (const cb of [...set]) cb();
  }

  /** Leaves the fleet: our entries and heartbeat row go at once instead of expiring. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.beating?.catch(() => undefined);
    this.unlisten?.();
    this.unReconnect?.();
    try {
      await this.pg.query('DELETE FROM call_directory WHERE instance_id = $1', [this.instanceId]);
      await this.pg.query('DELETE FROM fleet_instances WHERE instance_id = $1', [this.instanceId]);
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'could not leave the call directory; entries will expire');
    }
  }
}
