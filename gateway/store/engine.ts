// Which engine holds the shared state: the fleet's PostgreSQL database when `database.url` (EARSHOT_DATABASE_URL) is
// set, else the embedded SQLite database in dataDir. Every feature asks here, so one setting moves every store.
import type { Config } from '../config.js';
import { sharedPostgres, type Postgres } from './postgres/Postgres.js';

export interface FleetDatabase {
  pg: Postgres;
  /** Gives the handle back; the pool closes when the process's last store released it. */
  release: () => Promise<void>;
}

/** The process-wide PostgreSQL handle for a fleet, or null when this gateway runs on its embedded database. */
export function fleetDatabase(config: Pick<Config, 'database'>): FleetDatabase | null {
  const d = config.database;
  if (!d?.url) return null;
  return sharedPostgres({
    url: d.url,
    poolSize: d.poolSize,
    connectTimeoutMs: d.connectTimeoutMs,
    statementTimeoutMs: d.statementTimeoutMs,
  });
}
