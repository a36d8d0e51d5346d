// Signed webhooks for what a dialer or CRM must not miss: consent decisions, call summaries, refused starts and
// do-not-call additions, each delivered at least once from the durable outbox (gateway/webhooks/), with an admin
// API to see failures and replay dead letters. Off unless `webhooks.url` (EARSHOT_WEBHOOK_URL) is set.
import type { Call, CallEvent } from '../call/Call.js';
import { ConfigError } from '../config.js';
import type { Gateway, Plugin } from '../Gateway.js';
import { HttpError, sendJson } from '../ops/http.js';
import type { DoNotCallList } from '../policy/index.js';
import type { WebhookEventType, WebhooksConfig } from '../webhooks/config.js';
import { SqliteWebhookOutbox } from '../webhooks/SqliteWebhookOutbox.js';
import { WebhookDispatcher } from '../webhooks/WebhookDispatcher.js';
import type { OutboxEntry, OutboxState, WebhookOutboxStore } from '../webhooks/WebhookOutbox.js';

const STATES: readonly OutboxState[] = ['pending', 'delivered', 'dead'];

export class WebhooksFeature implements Plugin {
  readonly name = 'webhooks';
  store: WebhookOutboxStore | null = null;
  dispatcher: WebhookDispatcher | null = null;
  private events = new Set<WebhookEventType>();

  /** `dnc`: the do-not-call list whose additions are announced (available once the policy feature started). */
  constructor(private readonly opts: { dnc?: () => DoNotCallList | undefined } = {}) {}

  async start(gw: Gateway): Promise<void> {
    this.routes(gw);
    const cfg: WebhooksConfig = gw.config.webhooks;
    if (!cfg.url) return;
    if (!cfg.secret) throw new ConfigError('webhooks.secret is required with webhooks.url'); // the schema says so too
    this.events = new Set(cfg.events);
    this.store = SqliteWebhookOutbox.open({ dataDir: gw.config.dataDir });
    this.dispatcher = new WebhookDispatcher({ store: this.store, config: { ...cfg, url: cfg.url, secret: cfg.secret }, log: gw.log.child({ feature: 'webhooks' }) });
    gw.calls.onRejected((callId, reason) => this.submit('rejected', callId, { callId, reason }));
    this.opts.dnc?.()?.onAdded((entries) => {
      for (const e of entries) this.submit('dnc_added', e.callId, { number: e.number, reason: e.reason, source: e.source, callId: e.callId, addedAt: e.addedAt });
    });
    this.dispatcher.start();
    // Where to, never the secret; a receiver's token may sit in the URL's path or query, so only its origin.
    gw.log.info({ webhookOrigin: new URL(cfg.url).origin, events: cfg.events }, 'webhooks on');
  }

  callStarted(call: Call): void {
    if (!this.dispatcher) return;
    const about = { callee: call.init.callee ?? null, callType: call.init.callType, wire: call.init.wire };
    call.observe((ev: CallEvent) => {
      if (ev.type === 'consent' || ev.type === 'call_summary') this.submit(ev.type, call.id, { ...about, ...ev, callId: call.id });
    });
  }

  private submit(type: WebhookEventType, callId: string | null, data: Record<string, unknown>): void {
    if (this.events.has(type)) this.dispatcher?.submit(type, callId, data);
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
    await this.dispatcher?.stop();
    this.store?.close();
  }
}
