// Moves events from the outbox to the webhook receiver. Rows are built here (`row`: the id that is the idempotency
// key, the exact body signed on every attempt) and written by the store that records what they announce, in its
// own transaction (WebhookOutbox.ts); the few events nothing records go through `submit`, a bounded in-memory batch
// written on the next turn of the event loop (the caller never waits on the database or the network). A small pump
// delivers due events, `concurrency` at a time, signed on every attempt, with exponential backoff (capped at
// `maxBackoffMs`) and jitter between attempts, until the receiver answers 2xx or the attempts run out (dead
// letter). Whatever was pending when the process stopped is delivered after it starts again, by any instance.
import type { Logger } from 'pino';
import { ulid } from '../evidence/ulid.js';
import { metrics } from '../ops/metrics.js';
import type { WebhooksConfig } from './config.js';
import { SIGNATURE_HEADER, signatureHeader } from './signature.js';
import type { AttemptOutcome, NewWebhookEvent, OutboxEntry, OutboxRow, WebhookOutboxStore } from './WebhookOutbox.js';

/** Events held in memory between two writes to the outbox; more in one turn of the event loop are dropped (logged, counted). */
const MAX_BATCH = 10_000;
/** Longest the pump sleeps with nothing due: a replay or a row another process queued is picked up within it. */
const IDLE_POLL_MS = 5_000;
const PRUNE_EVERY_MS = 3_600_000;
/** How often the pending count behind `maxPending` is read again (rows built in between are added to it). */
const RECOUNT_MS = 1_000;
/** How much of a receiver's answer is kept in the outbox for the admin API. */
const ERROR_TEXT_CHARS = 200;

export interface DispatcherOptions {
  store: WebhookOutboxStore;
  config: WebhooksConfig & { url: string; secret: string };
  log: Logger;
  now?: () => number;
  random?: () => number;
}

export class WebhookDispatcher {
  private batch: NewWebhookEvent[] = [];
  /** Events waiting, as last counted plus the rows built since: what a new row's `queue_full` is judged on. */
  private pendingEstimate = 0;
  private countedAt = -Infinity;
  private unsubscribe: (() => void) | null = null;
  private outcomes: AttemptOutcome[] = [];
  private readonly inflight = new Map<string, AbortController>();
  private writing: Promise<void> = Promise.resolve();
  private flushScheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private pumping = false;
  private pumpAgain = false;
  private stopped = false;
  /** The receiver looked down (no answer, or a 5xx) since its last acknowledgement: the next one means it is back. */
  private receiverFailing = false;
  private expeditedAt = -Infinity;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly o: DispatcherOptions) {
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
  }

  start(): void {
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.pruneTimer.unref();
    this.unsubscribe = this.o.store.onWritten(() => this.wake());
    void this.prune();
    this.wake();
  }

  /**
   * The outbox row for one event: its id (a ULID, the idempotency key) and the exact body every attempt sends and
   * signs. Past `maxPending` waiting events it is marked a dead letter (`queue_full`) instead. Never blocks.
   */
  row(type: string, callId: string | null, data: Record<string, unknown>): OutboxRow {
    const createdAt = this.now();
    const id = ulid(createdAt);
    const body = JSON.stringify({ id, type, createdAt: new Date(createdAt).toISOString(), callId, data });
    if (this.pendingEstimate >= this.o.config.maxPending) {
      metrics.webhookDeadLetters.inc({ event: type });
      this.o.log.error({ webhookId: id, event: type, callId, maxPending: this.o.config.maxPending }, 'webhook outbox full: event dead-lettered (queue_full)');
      return { id, type, callId, body, createdAt, dead: 'queue_full' };
    }
    this.pendingEstimate++;
    return { id, type, callId, body, createdAt };
  }

  /**
   * Queues rows no store carries (their event is recorded nowhere else) for the next batched write to the outbox.
   * Never blocks, never throws.
   */
  submit(rows: readonly OutboxRow[]): void {
    if (this.stopped) return;
    for (const r of rows) {
      if (r.dead) continue; // row() counted and logged it; nothing to send
      if (this.batch.length >= MAX_BATCH) {
        this.o.log.error({ event: r.type, callId: r.callId }, 'webhook batch full: event dropped before reaching the outbox');
        metrics.webhookDeadLetters.inc({ event: r.type });
        continue;
      }
      this.batch.push({ id: r.id, type: r.type, callId: r.callId, body: r.body, createdAt: r.createdAt });
    }
    this.scheduleFlush();
  }

  /** Resolves once everything submitted and settled so far is in the outbox. */
  flushed(): Promise<void> {
    this.scheduleFlush();
    return new Promise((resolve) => setImmediate(() => void this.writing.then(resolve)));
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const batch = this.batch;
      const outcomes = this.outcomes;
      this.batch = [];
      this.outcomes = [];
      this.writing = this.writing.then(() => this.write(batch, outcomes));
    });
  }

  private async write(batch: NewWebhookEvent[], outcomes: AttemptOutcome[]): Promise<void> {
    const { store, config, log } = this.o;
    try {
      if (outcomes.length) await store.settle(outcomes);
    } catch (e) {
      // The rows stay pending under their lease: they are tried again once it runs out (at least once, never lost).
      log.error({ err: (e as Error).message, outcomes: outcomes.length }, 'webhook outbox: cannot record delivery outcomes');
    }
    if (batch.length) {
      try {
        const { overflowed } = await store.enqueue(batch, config.maxPending);
        for (const id of overflowed) {
          const e = batch.find((b) => b.id === id)!;
          metrics.webhookDeadLetters.inc({ event: e.type });
          log.error({ webhookId: id, event: e.type, callId: e.callId, maxPending: config.maxPending }, 'webhook outbox full: event dead-lettered (queue_full)');
        }
      } catch (e) {
        for (const b of batch) metrics.webhookDeadLetters.inc({ event: b.type });
        log.error({ err: (e as Error).message, events: batch.length }, 'webhook outbox: cannot store events; they are lost');
      }
    }
    if (batch.length || outcomes.length) this.wake();
  }

  /** Runs the pump now (new events, a replay). */
  wake(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    const { store, config, log } = this.o;
    let nextAt: number | null = null;
    try {
      do {
        this.pumpAgain = false;
        const free = config.concurrency - this.inflight.size;
        if (free > 0) {
          const now = this.now();
          // The lease outlives an attempt (timeout) by a margin, so a slow answer is never sent twice at once.
          const due = await store.claimDue(now, free, now + config.timeoutMs + 5_000);
          for (const e of due) this.attempt(e);
        }
      } while (this.pumpAgain && !this.stopped);
      nextAt = await store.nextDueAt();
      if (this.now() - this.countedAt >= RECOUNT_MS) {
        this.countedAt = this.now();
        this.pendingEstimate = await store.pendingCount();
        metrics.webhookPending.set(this.pendingEstimate);
      }
    } catch (e) {
      log.error({ err: (e as Error).message }, 'webhook outbox: cannot read due events');
    } finally {
      this.pumping = false;
    }
    if (this.stopped) return;
    const wait = nextAt === null ? IDLE_POLL_MS : Math.min(IDLE_POLL_MS, Math.max(10, nextAt - this.now()));
    this.timer = setTimeout(() => this.wake(), wait);
    this.timer.unref();
  }

  private attempt(e: OutboxEntry): void {
    const { config } = this.o;
    const ac = new AbortController();
    this.inflight.set(e.id, ac);
    const timeout = setTimeout(() => ac.abort(new Error('timeout')), config.timeoutMs);
    const attemptNo = e.attempts + 1;
    void fetch(config.url, {
      method: 'POST',
      body: e.body,
      redirect: 'manual',
      signal: ac.signal,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'earshot-webhooks/1',
        [SIGNATURE_HEADER]: signatureHeader(config.secret, e.body, Math.floor(this.now() / 1000)),
        'Earshot-Event-Id': e.id,
        'Earshot-Event-Type': e.type,
        'Earshot-Delivery-Attempt': String(attemptNo),
      },
    })
      .then(async (res) => {
        const text = await res.text().catch(() => '');
        if (res.status >= 200 && res.status < 300) {
          if (this.receiverFailing) this.receiverBack();
          return this.settled(e, { id: e.id, result: 'delivered', status: res.status, at: this.now() });
        }
        this.failed(e, attemptNo, `http_${Math.floor(res.status / 100)}xx`, `HTTP ${res.status} ${text.slice(0, ERROR_TEXT_CHARS)}`.trim(), res.status);
      })
      .catch((err: Error) => {
        if (this.stopped) return this.settled(e, { id: e.id, result: 'retry', error: 'gateway stopped', status: null, nextAttemptAt: this.now() });
        const timedOut = ac.signal.aborted;
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        this.failed(e, attemptNo, timedOut ? 'timeout' : 'network', timedOut ? `no answer within ${config.timeoutMs} ms` : `${cause?.code ?? ''} ${cause?.message ?? err.message}`.trim(), null);
      })
      .finally(() => {
        clearTimeout(timeout);
        this.inflight.delete(e.id);
      });
  }

  /**
   * The receiver acknowledged again after failures: every event backing off from its outage is due now, so the
   * backlog drains at `concurrency` at once instead of each event waiting out its own backoff (up to
   * `maxBackoffMs`). A receiver that fails again simply sends them back to backing off. At most once per half
   * `maxBackoffMs`: a receiver that keeps refusing one event while taking others must not turn that event's backoff
   * into a retry per delivery.
   */
  private receiverBack(): void {
    this.receiverFailing = false;
    if (this.now() - this.expeditedAt < this.o.config.maxBackoffMs / 2) return;
    this.expeditedAt = this.now();
    this.o.store
      .expedite(this.now())
      .then((n) => {
        if (n) this.o.log.info({ events: n }, 'webhook receiver answering again: retries brought forward');
        this.wake();
      })
      .catch((err: Error) => this.o.log.error({ err: err.message }, 'webhook outbox: cannot bring retries forward'));
  }

  private failed(e: OutboxEntry, attemptNo: number, cause: string, error: string, status: number | null): void {
    const { config, log } = this.o;
    // A 4xx (3xx) is the receiver's answer about this event; no answer or a 5xx is the receiver being away.
    if (cause === 'network' || cause === 'timeout' || cause === 'http_5xx') this.receiverFailing = true;
    metrics.webhookFailures.inc({ event: e.type, cause });
    if (attemptNo >= config.maxAttempts) {
      metrics.webhookDeadLetters.inc({ event: e.type });
      log.error({ webhookId: e.id, event: e.type, callId: e.callId, attempts: attemptNo, error }, 'webhook dead-lettered after its last attempt');
      return this.settled(e, { id: e.id, result: 'dead', error, status, at: this.now() });
    }
    const delay = this.backoff(attemptNo);
    log.warn({ webhookId: e.id, event: e.type, callId: e.callId, attempt: attemptNo, retryInMs: delay, error }, 'webhook delivery failed; will retry');
    this.settled(e, { id: e.id, result: 'retry', error, status, nextAttemptAt: this.now() + delay });
  }

  /** Exponential backoff with "equal jitter": half the step fixed, half random, so retries of one outage spread out. */
  backoff(attemptsMade: number): number {
    const { backoffMs, maxBackoffMs } = this.o.config;
    const step = Math.min(maxBackoffMs, backoffMs * 2 ** Math.min(attemptsMade - 1, 40));
    return Math.round(step / 2 + (this.random() * step) / 2);
  }

  private settled(e: OutboxEntry, o: AttemptOutcome): void {
    if (o.result === 'delivered') metrics.webhookDeliveries.inc({ event: e.type });
    this.outcomes.push(o);
    this.scheduleFlush();
  }

  private async prune(): Promise<void> {
    try {
      const n = await this.o.store.prune(this.now() - this.o.config.retainDeliveredHours * 3_600_000);
      if (n) this.o.log.info({ deleted: n }, 'webhook outbox: delivered events past retention deleted');
    } catch (e) {
      this.o.log.error({ err: (e as Error).message }, 'webhook outbox: prune failed');
    }
  }

  /** Stops delivering: attempts in flight are abandoned (they stay pending, to go after the restart) and recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    for (const ac of this.inflight.values()) ac.abort(new Error('gateway stopped'));
    const deadline = Date.now() + 1000;
    while (this.inflight.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await this.flushed();
    await this.writing;
  }
}
