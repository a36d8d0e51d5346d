// The webhook outbox on both engines (a real SQLite file; a throwaway PostgreSQL cluster), two stores on one
// database standing for two gateways: queueing within its bound, leases that keep two dispatchers off one event,
// outcomes, dead letters, replay, retention, the wake-up after a commit; and the dispatcher's capped backoff.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../gateway/store/Database.js';
import { WebhooksConfigSchema } from '../gateway/webhooks/config.js';
import { PgWebhookOutbox, writePgOutboxRows } from '../gateway/webhooks/PgWebhookOutbox.js';
import { SqliteWebhookOutbox, WEBHOOK_MIGRATIONS, writeOutboxRows } from '../gateway/webhooks/SqliteWebhookOutbox.js';
import { WebhookDispatcher } from '../gateway/webhooks/WebhookDispatcher.js';
import type { NewWebhookEvent, OutboxRow, WebhookOutboxStore } from '../gateway/webhooks/WebhookOutbox.js';
import { twoInstances, useCluster } from './helpers/postgres.js';
import { sqlitePair } from './helpers/sqlitePair.js';
import { until } from './helpers/until.js';
import { WebhookReceiver } from './helpers/webhookReceiver.js';

const cluster = useCluster();

interface Pair {
  a: WebhookOutboxStore;
  b: WebhookOutboxStore;
  /** Writes rows the way a store does: inside a transaction of its own on instance a. */
  writeInTx: (rows: OutboxRow[]) => Promise<void>;
  /** Resolves once instance b hears the wake-ups (its LISTEN connection is up). */
  listening: () => Promise<void>;
  close: () => Promise<void>;
}

const engines: { name: string; pair(): Promise<Pair> }[] = [
  {
    name: 'sqlite',
    async pair() {
      const { da, db, close } = sqlitePair('outbox', [WEBHOOK_MIGRATIONS]);
      return {
        a: new SqliteWebhookOutbox(da),
        b: new SqliteWebhookOutbox(db),
        writeInTx: async (rows) => da.transaction(() => writeOutboxRows(da, rows))(),
        listening: async () => undefined,
        close,
      };
    },
  },
  {
    name: 'postgres',
    async pair() {
      const { pa, pb, close } = await twoInstances(cluster());
      const [a, b] = await Promise.all([PgWebhookOutbox.open(pa), PgWebhookOutbox.open(pb)]);
      return { a, b, writeInTx: (rows) => pa.tx((c) => writePgOutboxRows(c, rows)), listening: () => pb.listening(), close };
    },
  },
];

const ev = (id: string, createdAt = 1000): NewWebhookEvent => ({ id, type: 'consent', callId: 'c1', body: `{"id":"${id}","data":{"t":"同意"}}`, createdAt });

describe.each(engines)('webhook outbox on $name', (engine) => {
  const withPair = (fn: (p: Pair) => Promise<void>) => async () => {
    const p = await engine.pair();
    try {
      await fn(p);
    } finally {
      await p.close();
    }
  };

  it('queues events up to maxPending and dead-letters the rest as queue_full', withPair(async ({ a }) => {
    expect(await a.enqueue([ev('a'), ev('b'), ev('c')], 2)).toEqual({ queued: ['a', 'b'], overflowed: ['c'] });
    expect(await a.counts()).toEqual({ pending: 2, delivered: 0, dead: 1 });
    expect(await a.pendingCount()).toBe(2);
    expect((await a.get('c'))?.lastError).toBe('queue_full');
  }));

  it('keeps rows written in a store transaction byte for byte, a full-outbox row as a dead letter, and wakes the dispatchers', withPair(async ({ a, b, writeInTx, listening }) => {
    let woken = 0;
    const off = b.onWritten(() => woken++);
    await listening();
    await writeInTx([ev('r1', 1500), { ...ev('r2', 1600), dead: 'queue_full' }]);
    expect(await b.get('r1')).toMatchObject({ state: 'pending', body: ev('r1').body, nextAttemptAt: 1500, attempts: 0 });
    expect(await b.get('r2')).toMatchObject({ state: 'dead', lastError: 'queue_full' });
    // SQLite: the handle's own dispatchers (after the commit); PostgreSQL: every instance, by NOTIFY on commit.
    if (engine.name === 'postgres') await until(() => woken > 0, 5000, 'NOTIFY heard by the other instance');
    else {
      let mine = 0;
      a.onWritten(() => mine++);
      await writeInTx([ev('r3')]);
      await until(() => mine > 0, 1000, 'woken after the commit');
    }
    off();
    // A duplicate id fails the insert, and with it the transaction it is part of.
    await expect(writeInTx([ev('r9'), ev('r1')])).rejects.toThrow();
    expect(await a.get('r9')).toBeNull();
  }));

  it('leases claimed events so neither instance claims one twice until the lease runs out', withPair(async ({ a, b }) => {
    await a.enqueue([ev('a'), ev('b')], 10);
    expect((await a.claimDue(2000, 1, 5000)).map((e) => e.id)).toEqual(['a']);
    expect((await b.claimDue(2000, 10, 5000)).map((e) => e.id)).toEqual(['b']);
    expect(await a.claimDue(4999, 10, 9000)).toEqual([]);
    expect((await b.claimDue(5000, 10, 9000)).map((e) => e.id)).toEqual(['a', 'b']);
  }));

  it('never hands one event to two dispatchers claiming at the same moment', withPair(async ({ a, b }) => {
    await a.enqueue(Array.from({ length: 40 }, (_, i) => ev(`e${String(i).padStart(2, '0')}`)), 100);
    const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).claimDue(2000, 10, 60_000)));
    const ids = claims.flat().map((e) => e.id);
    expect(ids.length).toBe(40);
    expect(new Set(ids).size).toBe(40);
  }));

  it('records a retry with its next attempt, a delivery, and a dead letter', withPair(async ({ a, b }) => {
    await a.enqueue([ev('a'), ev('b'), ev('c')], 10);
    await a.claimDue(2000, 10, 9000);
    await a.settle([
      { id: 'a', result: 'retry', error: 'HTTP 503', status: 503, nextAttemptAt: 7000 },
      { id: 'b', result: 'delivered', status: 204, at: 2100 },
      { id: 'c', result: 'dead', error: 'timeout', status: null, at: 2200 },
    ]);
    expect(await b.get('a')).toMatchObject({ state: 'pending', attempts: 1, nextAttemptAt: 7000, lastStatus: 503, lastError: 'HTTP 503' });
    expect(await b.get('b')).toMatchObject({ state: 'delivered', attempts: 1, deliveredAt: 2100, lastStatus: 204 });
    expect(await b.get('c')).toMatchObject({ state: 'dead', attempts: 1, lastError: 'timeout', lastStatus: null });
    expect(await b.nextDueAt()).toBe(7000);
    expect((await b.claimDue(6999, 10, 9999)).length).toBe(0);
    expect((await b.claimDue(7000, 10, 9999)).map((e) => e.id)).toEqual(['a']);
    // An outcome for an event another instance settled already changes nothing.
    await a.settle([{ id: 'b', result: 'retry', error: 'late', status: null, nextAttemptAt: 9000 }]);
    expect(await b.get('b')).toMatchObject({ state: 'delivered', attempts: 1 });
  }));

  it('brings events backing off forward, keeping their attempts, and leaves delivered and dead ones alone', withPair(async ({ a, b }) => {
    await a.enqueue([ev('a'), ev('b'), ev('c'), ev('d'), ev('e')], 10);
    await a.claimDue(2000, 10, 9000);
    await a.settle([
      { id: 'a', result: 'retry', error: 'ECONNREFUSED', status: null, nextAttemptAt: 30_000 },
      { id: 'b', result: 'retry', error: 'ECONNREFUSED', status: null, nextAttemptAt: 12_000 },
      { id: 'c', result: 'delivered', status: 204, at: 2100 },
      { id: 'd', result: 'dead', error: 'HTTP 400', status: 400, at: 2200 },
      { id: 'e', result: 'retry', error: 'ECONNREFUSED', status: null, nextAttemptAt: 4000 },
    ]);
    expect(await b.expedite(5000)).toBe(2); // e is due already
    expect(await a.nextDueAt()).toBe(4000);
    expect((await a.claimDue(5000, 10, 9000)).map((x) => [x.id, x.attempts])).toEqual([['e', 1], ['a', 1], ['b', 1]]);
    expect(await a.counts()).toEqual({ pending: 3, delivered: 1, dead: 1 });
    expect(await a.expedite(5000)).toBe(0);
  }));

  it('replays a dead letter as a fresh pending event and keeps its id', withPair(async ({ a, b }) => {
    await a.enqueue([ev('a')], 10);
    await a.settle([{ id: 'a', result: 'dead', error: 'HTTP 400', status: 400, at: 3000 }]);
    expect(await b.replay('a', 4000)).toBe(true);
    expect(await a.get('a')).toMatchObject({ state: 'pending', attempts: 0, nextAttemptAt: 4000, body: ev('a').body });
    expect(await b.replay('a', 4000)).toBe(false); // already pending
    expect(await b.replay('nope', 4000)).toBe(false);
    expect((await a.list({ state: 'dead', limit: 10 })).length).toBe(0);
  }));

  it('lists newest first, by state, a page at a time', withPair(async ({ a }) => {
    await a.enqueue([ev('01'), ev('02'), ev('03')], 10);
    await a.settle([{ id: '02', result: 'dead', error: 'x', status: null, at: 1 }]);
    expect((await a.list({ limit: 10 })).map((e) => e.id)).toEqual(['03', '02', '01']);
    expect((await a.list({ state: 'pending', limit: 10 })).map((e) => e.id)).toEqual(['03', '01']);
    expect((await a.list({ limit: 1, before: '03' })).map((e) => e.id)).toEqual(['02']);
  }));

  it('prunes delivered events past retention, never pending ones or dead letters', withPair(async ({ a }) => {
    await a.enqueue([ev('a'), ev('b'), ev('c')], 10);
    await a.settle([
      { id: 'a', result: 'delivered', status: 200, at: 1000 },
      { id: 'b', result: 'dead', error: 'x', status: null, at: 1000 },
    ]);
    expect(await a.prune(5000)).toBe(1);
    expect(await a.counts()).toEqual({ pending: 1, delivered: 0, dead: 1 });
  }));
});

describe('webhook dispatcher after an outage', () => {
  it('delivers the events held back by an outage as soon as the receiver acknowledges one again, not a backoff later', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-outbox-'));
    const db = openDatabase({ dataDir: dir, migrations: [WEBHOOK_MIGRATIONS] });
    const rx = await new WebhookReceiver().up();
    await rx.down(); // the port now refuses connections
    // Backoff of a minute and more: without bringing retries forward nothing held back would go within the test.
    const config = { ...WebhooksConfigSchema.parse({ backoffMs: 60_000, maxBackoffMs: 120_000 }), url: rx.url, secret: 'x'.repeat(16) };
    const store = new SqliteWebhookOutbox(db);
    const d = new WebhookDispatcher({ store, config, log: pino({ level: 'silent' }) });
    d.start();
    try {
      d.submit(['c1', 'c2', 'c3'].map((c) => d.row('consent', c, { decision: 'granted' })));
      await until(async () => (await store.list({ state: 'pending', limit: 10 })).filter((e) => e.attempts >= 1).length === 3, 5000, 'three failed first attempts');
      await rx.up();
      d.submit([d.row('call_summary', 'c4', { reason: 'hangup' })]); // a new event goes at once and is acknowledged
      await until(() => rx.accepted().length === 4, 5000, 'the held-back events delivered, not a minute later');
      expect(rx.accepted()[0].body.callId).toBe('c4');
      expect(rx.accepted().slice(1).map((r) => r.body.callId).sort()).toEqual(['c1', 'c2', 'c3']);
      expect(rx.accepted().slice(1).map((r) => r.headers['earshot-delivery-attempt'])).toEqual(['2', '2', '2']);
      await until(async () => (await store.counts()).delivered === 4, 2000, 'outcomes recorded');
    } finally {
      await d.stop();
      await rx.down();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('webhook backoff', () => {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-outbox-'));
  const store = new SqliteWebhookOutbox(openDatabase({ dataDir: dir, migrations: [WEBHOOK_MIGRATIONS] }));
  const at = (random: number, over: Record<string, unknown> = {}) =>
    new WebhookDispatcher({ store, config: { ...WebhooksConfigSchema.parse({ backoffMs: 1000, maxBackoffMs: 60_000, ...over }), url: 'http://127.0.0.1:1/', secret: 'x'.repeat(16) }, log: pino({ level: 'silent' }), random: () => random });

  it('doubles each step, half fixed and half jitter, and stops growing at maxBackoffMs', () => {
    const low = at(0);
    const high = at(1);
    expect([1, 2, 3, 4].map((n) => low.backoff(n))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((n) => high.backoff(n))).toEqual([1000, 2000, 4000, 8000]);
    expect(high.backoff(7)).toBe(60_000);
    expect(high.backoff(90)).toBe(60_000);
  });

  it('by default waits at most 30 s between attempts, and keeps trying for about an hour before a dead letter', () => {
    const defaults = WebhooksConfigSchema.parse({});
    expect(defaults.maxBackoffMs).toBeLessThanOrEqual(30_000);
    const span = (random: number) => {
      const d = new WebhookDispatcher({ store, config: { ...defaults, url: 'http://127.0.0.1:1/', secret: 'x'.repeat(16) }, log: pino({ level: 'silent' }), random: () => random });
      let ms = 0;
      for (let n = 1; n < defaults.maxAttempts; n++) {
        expect(d.backoff(n)).toBeLessThanOrEqual(30_000);
        ms += d.backoff(n);
      }
      return ms / 60_000;
    };
    expect(span(0)).toBeGreaterThan(38); // minutes, all jitter low
    expect(span(1)).toBeLessThan(80); // all jitter high
  });
});
