// The SQLite webhook outbox on a real database file: queueing within its bound, leases, outcomes, dead letters,
// replay, retention, and the dispatcher's backoff schedule.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../gateway/store/Database.js';
import { WebhooksConfigSchema } from '../gateway/webhooks/config.js';
import { SqliteWebhookOutbox, WEBHOOK_MIGRATIONS } from '../gateway/webhooks/SqliteWebhookOutbox.js';
import { WebhookDispatcher } from '../gateway/webhooks/WebhookDispatcher.js';
import type { NewWebhookEvent } from '../gateway/webhooks/WebhookOutbox.js';

let db: Db | null = null;
function outbox(): SqliteWebhookOutbox {
  db = openDatabase({ file: join(mkdtempSync(join(tmpdir(), 'earshot-outbox-')), 'earshot.db'), migrations: [WEBHOOK_MIGRATIONS] });
  return new SqliteWebhookOutbox(db);
}
afterEach(() => db?.close());

const ev = (id: string, createdAt = 1000): NewWebhookEvent => ({ id, type: 'consent', callId: 'c1', body: `{"id":"${id}"}`, createdAt });

describe('SQLite webhook outbox', () => {
  it('queues events up to maxPending and dead-letters the rest as queue_full', async () => {
    const o = outbox();
    expect(await o.enqueue([ev('a'), ev('b'), ev('c')], 2)).toEqual({ queued: ['a', 'b'], overflowed: ['c'] });
    expect(await o.counts()).toEqual({ pending: 2, delivered: 0, dead: 1 });
    expect((await o.get('c'))?.lastError).toBe('queue_full');
  });

  it('leases claimed events so they are not claimed twice until the lease runs out', async () => {
    const o = outbox();
    await o.enqueue([ev('a'), ev('b')], 10);
    expect((await o.claimDue(2000, 1, 5000)).map((e) => e.id)).toEqual(['a']);
    expect((await o.claimDue(2000, 10, 5000)).map((e) => e.id)).toEqual(['b']);
    expect(await o.claimDue(4999, 10, 9000)).toEqual([]);
    expect((await o.claimDue(5000, 10, 9000)).map((e) => e.id)).toEqual(['a', 'b']);
  });

  it('records a retry with its next attempt, a delivery, and a dead letter', async () => {
    const o = outbox();
    await o.enqueue([ev('a'), ev('b'), ev('c')], 10);
    await o.claimDue(2000, 10, 9000);
    await o.settle([
      { id: 'a', result: 'retry', error: 'HTTP 503', status: 503, nextAttemptAt: 7000 },
      { id: 'b', result: 'delivered', status: 204, at: 2100 },
      { id: 'c', result: 'dead', error: 'timeout', status: null, at: 2200 },
    ]);
    expect(await o.get('a')).toMatchObject({ state: 'pending', attempts: 1, nextAttemptAt: 7000, lastStatus: 503 });
    expect(await o.get('b')).toMatchObject({ state: 'delivered', attempts: 1, deliveredAt: 2100 });
    expect(await o.get('c')).toMatchObject({ state: 'dead', attempts: 1, lastError: 'timeout' });
    expect(await o.nextDueAt()).toBe(7000);
    expect((await o.claimDue(6999, 10, 9999)).length).toBe(0);
    expect((await o.claimDue(7000, 10, 9999)).map((e) => e.id)).toEqual(['a']);
  });

  it('replays a dead letter as a fresh pending event and keeps its id', async () => {
    const o = outbox();
    await o.enqueue([ev('a')], 10);
    await o.settle([{ id: 'a', result: 'dead', error: 'HTTP 400', status: 400, at: 3000 }]);
    expect(await o.replay('a', 4000)).toBe(true);
    expect(await o.get('a')).toMatchObject({ state: 'pending', attempts: 0, nextAttemptAt: 4000 });
    expect(await o.replay('a', 4000)).toBe(false); // already pending
    expect(await o.replay('nope', 4000)).toBe(false);
    expect((await o.list({ state: 'dead', limit: 10 })).length).toBe(0);
  });

  it('prunes delivered events past retention, never pending ones or dead letters', async () => {
    const o = outbox();
    await o.enqueue([ev('a'), ev('b'), ev('c')], 10);
    await o.settle([
      { id: 'a', result: 'delivered', status: 200, at: 1000 },
      { id: 'b', result: 'dead', error: 'x', status: null, at: 1000 },
    ]);
    expect(await o.prune(5000)).toBe(1);
    expect(await o.counts()).toEqual({ pending: 1, delivered: 0, dead: 1 });
  });
});

describe('webhook backoff', () => {
  const config = { ...WebhooksConfigSchema.parse({ backoffMs: 1000, maxBackoffMs: 60_000 }), url: 'http://127.0.0.1:1/', secret: 'x'.repeat(16) };
  const at = (random: number) => new WebhookDispatcher({ store: outbox(), config, log: pino({ level: 'silent' }), random: () => random });

  it('doubles each step, half fixed and half jitter, and stops growing at maxBackoffMs', () => {
    const low = at(0);
    const high = at(1);
    expect([1, 2, 3, 4].map((n) => low.backoff(n))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((n) => high.backoff(n))).toEqual([1000, 2000, 4000, 8000]);
    expect(high.backoff(7)).toBe(60_000);
    expect(high.backoff(90)).toBe(60_000);
  });
});
