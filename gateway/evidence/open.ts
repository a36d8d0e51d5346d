// The evidence store a gateway's configuration names: the fleet's PostgreSQL chain when database.url is set, else
// the embedded SQLite store in dataDir. One per process (the consent feature appends; the routes and the gRPC wire
// read the same one).
import type { Config } from '../config.js';
import { fleetDatabase } from '../store/engine.js';
import type { EvidenceLedger } from './EvidenceLedger.js';
import { EvidenceStore } from './EvidenceStore.js';
import { PgEvidenceStore } from './PgEvidenceStore.js';
import { SqliteEvidenceLedger } from './SqliteEvidenceLedger.js';

const open = new Map<string, { ledger: Promise<EvidenceLedger>; users: number }>();

/** Shared per engine location; each caller closes its handle with the returned function. */
export function openEvidenceLedger(config: Pick<Config, 'dataDir' | 'database' | 'evidence'>, env: NodeJS.ProcessEnv = process.env): { ledger: Promise<EvidenceLedger>; close: () => Promise<void> } {
  const key = config.database.url ? `pg:${config.database.url}|${config.dataDir}` : `sqlite:${config.dataDir}`;
  let e = open.get(key);
  if (!e) {
    const fleet = fleetDatabase(config);
    const ledger: Promise<EvidenceLedger> = fleet
      ? PgEvidenceStore.open(fleet.pg, { url: config.database.url!, dataDir: config.dataDir, config: config.evidence, env, release: fleet.release }).catch(async (err: unknown) => {
          await fleet.release();
          throw err;
        })
      : Promise.resolve(new SqliteEvidenceLedger(EvidenceStore.open({ dataDir: config.dataDir, config: config.evidence, env }), config.dataDir));
    open.set(key, (e = { ledger, users: 0 }));
    ledger.catch(() => open.delete(key));
  }
  e.users++;
  const entry = e;
  let closed = false;
  return {
    ledger: entry.ledger,
    close: async () => {
      if (closed) return;
      closed = true;
      if (--entry.users > 0) return;
      if (open.get(key) === entry) open.delete(key);
      await (await entry.ledger.catch(() => null))?.close();
    },
  };
}
