// Signed webhooks for what a dialer or CRM must not miss: consent decisions, call summaries, refused starts and
// do-not-call additions, each delivered at least once from the durable outbox (gateway/webhooks/) with an admin API
// to see failures and replay dead letters. Off unless `webhooks.url` (EARSHOT_WEBHOOK_URL) is set. The outbox is in
// the same database as the records it announces — SQLite in dataDir, or the fleet's PostgreSQL — and each row is
// written in the transaction of its record by the feature that records it (WebhookAnnouncer); this feature only
// announces on their own the events no store records (a start refused before any record, a call without one).
import { resolve } from 'node:path';
import type { Call, CallEvent } from '../call/Call.js';
import { ConfigError } from '../config.js';
import type { Gateway, Plugin } from '../Gateway.js';
import { HttpError, sendJson } from '../ops/http.js';
import type { DoNotCallList } from '../policy/index.js';
import { databasePath } from '../store/Database.js';
import { fleetDatabase } from '../store/engine.js';
import { WebhookAnnouncer } from '../webhooks/Announcer.js';
import type { WebhooksConfig } from '../webhooks/config.js';
import { PgWebhookOutbox } from '../webhooks/PgWebhookOutbox.js';
import { SqliteWebhookOutbox } from '../webhooks/SqliteWebhookOutbox.js';
import { WebhookDispatcher } from '../webhooks/WebhookDispatcher.js';
import type { OutboxEntry, OutboxState, WebhookOutboxStore } from '../webhooks/WebhookOutbox.js';

const STATES: readonly OutboxState[] = ['pending', 'delivered', 'dead'];

export class WebhooksFeature implements Plugin {
  readonly name = 'webhooks';
  store: WebhookOutboxStore | null = null;
  dispatcher: WebhookDispatcher | null = null;
  /** Shared with the features that record what is announced (consent, policy): they write the rows. */
  readonly announcer: WebhookAnnouncer;

  /** `dnc`: the do-not-call list whose additions are announced (available once the policy feature started). */
  constructor(private readonly opts: { dnc?: () => DoNotCallList | undefined; announcer?: WebhookAnnouncer } = {}) {
    this.announcer = opts.announcer ?? new WebhookAnnouncer();
  }

  async start(gw: Gateway): Promise<void> {
    this.routes(gw);
    const cfg: WebhooksConfig = gw.config.webhooks;
    if (!cfg.url) return;
    if (!cfg.secret) throw new ConfigError('webhooks.secret is required with webhooks.url'); // the schema says so too
    const fleet = fleetDatabase(gw.config);
    if (fleet) {
      this.store = await PgWebhookOutbox.open(fleet.pg, { release: fleet.release }).catch(async (e: unknown) => {
        await fleet.release();
        throw e;
      });
    } else {
      const evidenceDb = gw.config.evidence.dbFile;
      if (evidenceDb && resolve(evidenceDb) !== resolve(databasePath(gw.config.dataDir))) {
        // The consent webhook is written in the evidence record's transaction: it must be the outbox's database.
        throw new ConfigError(`webhooks need the evidence in the gateway database (${databasePath(gw.config.dataDir)}): unset evidence.dbFile`);
      }
      this.store = SqliteWebhookOutbox.open({ dataDir: gw.config.dataDir });
    }
    const dispatcher = new WebhookDispatcher({ store: this.store, config: { ...cfg, url: cfg.url, secret: cfg.secret }, log: gw.log.child({ feature: 'webhooks' }) });
    this.dispatcher = dispatcher;
    const a = this.announcer;
    a.enable(cfg.events, dispatcher);
    // Refusals that no call record carries (capacity, shutting down, the policy store unavailable, ...).
    gw.calls.onRejected((callId, reason) => {
      if (!a.carried('rejected', callId)) a.alone(a.row('rejected', callId, { callId, reason }));
    });
    this.opts.dnc?.()?.announceWith((e) => a.row('dnc_added', e.callId, { number: e.number, reason: e.reason, source: e.source, callId: e.callId, addedAt: e.addedAt }));
    dispatcher.start();
    // Where to, never the secret; a receiver's token may sit in the URL's path or query, so only its origin.
    gw.log.info({ webhookOrigin: new URL(cfg.url).origin, events: cfg.events, outbox: fleet ? 'postgres' : 'sqlite' }, 'webhooks on');
  }

  callStarted(call: Call): void {
    if (!this.dispatcher) return;
    const a = this.announcer;
    call.observe((ev: CallEvent) => {
      if (ev.type !== 'call_summary') return;
      // After every observer ran: the call record's observer carries the summary when the call has a record.
      queueMicrotask(() => {
        if (!a.carried('call_summary', call.id)) a.alone(a.callEvent(call, ev));
      });
    });
  }

  private routes(gw: Gateway): void {
    const store = (): WebhookOutboxStore => {
      if (!this.store) throw new HttpError(404, 'webhooks_disabled', 'webhooks are not configured (webhooks.url / EARSHOT_WEBHOOK_URL)');
      return this.store;
    };
    const view = (e: OutboxEntry) => ({
      id: e.id,
      type: e.type,
      callId: e.callId,
      state: e.state,
      attempts: e.attempts,
      createdAt: new Date(e.createdAt).toISOString(),
      nextAttemptAt: e.state === 'pending' ? new Date(e.nextAttemptAt).toISOString() : null,
      deliveredAt: e.deliveredAt === null ? null : new Date(e.deliveredAt).toISOString(),
      lastError: e.lastError,
      lastStatus: e.lastStatus,
      body: JSON.parse(e.body) as unknown,
    });
    gw.router.add('GET', '/v1/webhooks', async (_q, res) => sendJson(res, 200, { enabled: this.store !== null, counts: await store().counts() }));
    gw.router.add('GET', '/v1/webhooks/deliveries', async (_q, res, _p, url) => {
      const state = url.searchParams.get('state') ?? undefined;
      if (state !== undefined && !STATES.includes(state as OutboxState)) throw new HttpError(400, 'invalid_request', `state must be one of ${STATES.join(', ')}`);
      const limit = Math.min(Math.max(Math.trunc(Number(url.searchParams.get('limit') ?? 100)) || 100, 1), 1000);
      const before = url.searchParams.get('before')?.slice(0, 26) ?? undefined;
      const rows = await store().list({ state: state as OutboxState | undefined, limit, before });
      sendJson(res, 200, { deliveries: rows.map(view) });
    });
    gw.router.add('GET', '/v1/webhooks/deliveries/:id', async (_q, res, p) => {
      const e = await store().get(p.id);
      if (!e) throw new HttpError(404, 'not_found', `no webhook event ${p.id.slice(0, 64)}`);
      sendJson(res, 200, view(e));
    });
    gw.router.add('POST', '/v1/webhooks/deliveries/:id/replay', async (_q, res, p) => {
      if (!(await store().replay(p.id, Date.now()))) throw new HttpError(404, 'not_found', `no dead or delivered webhook event ${p.id.slice(0, 64)}`);
      this.dispatcher?.wake();
      sendJson(res, 202, { id: p.id, state: 'pending' });
    });
  }

  async stop(): Promise<void> {
    this.announcer.disable();
    this.opts.dnc?.()?.announceWith(() => []);
    await this.dispatcher?.stop();
    await this.store?.close();
  }
}
