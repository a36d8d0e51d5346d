// Makes a gateway one instance of a fleet when database.url is set: it joins the call directory in the shared
// database, claims each call's id there before anything else admits the call (a callId live anywhere in the fleet
// is refused `duplicate_call`; no database, no call: `policy_unavailable`), tells the fleet when a call ends or is
// refused, and lets the control API and event streams reach calls held by other instances (gw.remote). Registered
// first, so a duplicate never uses up a frequency-cap attempt.
import { hostname } from 'node:os';
import type { AdmissionVerdict } from '../call/admission.js';
import type { StartMessage } from '../call/start.js';
import type { Gateway, Plugin } from '../Gateway.js';
import { fleetDatabase, type FleetDatabase } from '../store/engine.js';
import { Fleet } from './Fleet.js';
import { PgCallDirectory } from './PgCallDirectory.js';

export class FleetFeature implements Plugin {
  readonly name = 'fleet';
  directory: PgCallDirectory | null = null;
  private db: FleetDatabase | null = null;
  /** Ids this instance claimed for calls still being admitted (a later refusal must give the claim back). */
  private readonly claimed = new Set<string>();

  async start(gw: Gateway): Promise<void> {
    this.db = fleetDatabase(gw.config);
    if (!this.db) return;
    const f = gw.config.fleet;
    // Default: the address the server binds when it names one (a gateway on 127.0.0.1 is reachable there and
    // nowhere else), else this host's name.
    const bound = gw.config.host;
    const host = bound && !['0.0.0.0', '::', ''].includes(bound) ? (bound.includes(':') ? `[${bound}]` : bound) : hostname();
    const address = f.advertiseUrl ?? `http://${host}:${gw.config.port}`;
    if (!f.advertiseUrl && gw.config.port === 0) throw new Error('fleet.advertiseUrl (EARSHOT_ADVERTISE_URL) is required with an ephemeral port');
    this.directory = await PgCallDirectory.open(this.db.pg, {
      instanceId: f.instanceId,
      address: address.replace(/\/$/, ''),
      heartbeatMs: f.heartbeatMs,
      expireMs: f.expireMs,
      localCalls: () => [...gw.calls.values()].filter((c) => !c.isEnded).map((c) => c.id),
    });
    gw.remote = new Fleet(this.directory, gw.config.apiToken ?? null);
    const dir = this.directory;
    gw.calls.onEnded((call) => {
      dir.release(call.id).catch((e: Error) => gw.log.warn({ callId: call.id, err: e.message }, 'call directory release failed; the entry expires with this instance'));
    });
    gw.calls.onRejected((callId, reason) => {
      const mine = this.claimed.delete(callId);
      void (async () => {
        if (mine) await dir.release(callId);
        await dir.reject(callId, reason);
      })().catch((e: Error) => gw.log.warn({ callId, err: e.message }, 'call directory refusal not recorded'));
    });
    gw.calls.onStarted((call) => this.claimed.delete(call.id));
    gw.log.info({ instanceId: dir.instanceId, address: dir.address, db: this.db.pg.redacted }, 'fleet instance: shared state in PostgreSQL, call directory joined');
  }

  async admit(s: StartMessage, gw: Gateway): Promise<AdmissionVerdict> {
    const dir = this.directory;
    if (!dir) return { ok: true };
    let mine: boolean;
    try {
      mine = await dir.claim(s.callId);
    } catch (e) {
      // Fail closed: without the directory a duplicate could start, and the policy store is the same database.
      gw.log.error({ callId: s.callId, err: (e as Error).message }, 'call directory unavailable: call refused');
      return { ok: false, reason: 'policy_unavailable' };
    }
    if (!mine) return { ok: false, reason: 'duplicate_call' };
    this.claimed.add(s.callId);
    return { ok: true };
  }

  async stop(gw: Gateway): Promise<void> {
    gw.remote = null;
    await this.directory?.close();
    await this.db?.release();
  }
}
