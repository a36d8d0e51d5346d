// Signed webhooks end to end against a real HTTP receiver on loopback: a real call answers a consent prompt (real
// recogniser, ../shared/audio), a number goes on the do-not-call list, a start is refused for it; the receiver
// fails the first attempts and then accepts, and every event arrives exactly as signed. Then the receiver is down
// while a consent call, a do-not-call addition and a refusal happen and the gateway restarts: the next gateway on
// the same data directory delivers each event once, byte for byte as it was stored. Dead letters are listed and
// replayed through the admin API.
import { afterAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/Gateway.js';
import { databasePath, openDatabase } from '../gateway/store/Database.js';
import { verifySignature } from '../gateway/webhooks/signature.js';
import { TestCall } from './helpers/client.js';
import { startGateway } from './helpers/gateway.js';
import { parseExposition, total } from './helpers/prometheus.js';
import { consentAnswer, scenario, type Event } from './helpers/realCall.js';
import { until } from './helpers/until.js';
import { WebhookReceiver, type ReceivedHook } from './helpers/webhookReceiver.js';

const SECRET = 'whsec_e2e_0123456789abcdef0123';
const BLOCKED = '+8613800138001';
const gateways: Gateway[] = [];
const receivers: WebhookReceiver[] = [];
afterAll(async () => {
  for (const g of gateways) await g.stop(0).catch(() => undefined);
  for (const r of receivers) await r.down();
});

function webhooks(url: string, extra: Record<string, unknown> = {}) {
  return { webhooks: { url, secret: SECRET, backoffMs: 50, maxBackoffMs: 200, timeoutMs: 2000, ...extra } };
}

function expectSigned(r: ReceivedHook): void {
  const sig = r.headers['earshot-signature'] as string;
  expect(verifySignature(SECRET, sig, r.raw), sig).toEqual({ ok: true, t: expect.any(Number) });
  expect(verifySignature('whsec_some_other_secret_000', sig, r.raw).ok).toBe(false);
  expect(r.headers['earshot-event-id']).toBe(r.body.id);
  expect(r.headers['earshot-event-type']).toBe(r.body.type);
}

describe('webhooks', () => {
  it('deliver consent, call_summary, dnc_added and rejected, signed, after the receiver failed twice', async () => {
    const rx = await new WebhookReceiver().up();
    receivers.push(rx);
    rx.answer = (_b, attempt) => (attempt <= 2 ? 503 : 204);
    const { gw, url, http } = await startGateway(webhooks(rx.url));
    gateways.push(gw);
    expect(gw.commands.expectConsent, 'consent feature must be active (recogniser model present)').toBeDefined();

    const c = new TestCall(url);
    expect((await c.start({ callId: 'hook-consent', encoding: 'pcm16', sampleRate: 16000, callee: '+8613900139000' })).type).toBe('ready');
    const consent: Event = await consentAnswer(c, scenario('natural/001_audiocmn-YueTan_shi4.wav'));
    const summary = await c.hangup();
    const add = await fetch(`${http}/v1/dnc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ number: BLOCKED, reason: 'asked on the phone' }) });
    expect(add.status).toBe(201);
    const refused = new TestCall(url);
    expect(await refused.start({ callId: 'hook-refused', encoding: 'pcm16', sampleRate: 16000, callType: 'marketing', callee: BLOCKED })).toMatchObject({ type: 'rejected', reason: 'do_not_call' });

    await until(() => rx.accepted().length >= 4, 15_000, 'four events accepted');
    const byType = Object.fromEntries(rx.accepted().map((r) => [r.body.type, r]));
    expect(Object.keys(byType).sort()).toEqual(['call_summary', 'consent', 'dnc_added', 'rejected']);
    for (const r of rx.accepted()) {
      expectSigned(r);
      // Every attempt of one event carried the same id (the idempotency key) and body; the third was accepted.
      const attempts = rx.requests.filter((q) => q.body.id === r.body.id);
      expect(attempts.map((q) => q.headers['earshot-delivery-attempt'])).toEqual(['1', '2', '3']);
      expect(new Set(attempts.map((q) => q.raw)).size).toBe(1);
    }
    expect(byType.consent.body).toMatchObject({ type: 'consent', callId: 'hook-consent', data: { decision: consent.decision, evidenceId: consent.evidenceId, callee: '+8613900139000', transcript: consent.transcript } });
    expect(consent.evidenceId).toEqual(expect.any(String));
    expect(byType.call_summary.body.data).toMatchObject({ reason: 'hangup', callId: 'hook-consent', inboundMs: summary.inboundMs });
    expect(byType.dnc_added.body.data).toMatchObject({ number: BLOCKED, reason: 'asked on the phone', source: 'admin' });
    expect(byType.rejected.body).toMatchObject({ callId: 'hook-refused', data: { reason: 'do_not_call' } });

    // The last acknowledgement reaches the outbox with the dispatcher's next batched write.
    let counts: unknown = null;
    for (let i = 0; i < 100; i++) {
      counts = await (await fetch(`${http}/v1/webhooks`)).json();
      if ((counts as { counts: { delivered: number } }).counts.delivered === 4) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(counts).toEqual({ enabled: true, counts: { pending: 0, delivered: 4, dead: 0 } });
    const m = parseExposition(await (await fetch(`${http}/metrics`)).text());
    expect(total(m, 'earshot_webhook_delivery_failures_total', { event: 'consent', cause: 'http_5xx' })).toBeGreaterThanOrEqual(2);
    expect(total(m, 'earshot_webhook_deliveries_total', { event: 'consent' })).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('a receiver down across a gateway restart gets every event exactly as stored, once, soon after it returns', async () => {
    const rx = await new WebhookReceiver().up();
    receivers.push(rx);
    await rx.down(); // its port now refuses connections
    const first = await startGateway(webhooks(rx.url));
    gateways.push(first.gw);
    const c = new TestCall(first.url);
    expect((await c.start({ callId: 'outage-consent', encoding: 'pcm16', sampleRate: 16000, callee: '+8613900139001' })).type).toBe('ready');
    const consent: Event = await consentAnswer(c, scenario('natural/001_audiocmn-YueTan_shi4.wav'));
    // Written in the evidence record's transaction: in the outbox by the time the client hears the decision.
    const queued = (await (await fetch(`${first.http}/v1/webhooks/deliveries?state=pending`)).json()).deliveries as { type: string; body: { data: { evidenceId: string } } }[];
    expect(queued.find((d) => d.type === 'consent')?.body.data.evidenceId).toBe(consent.evidenceId);
    await c.hangup();
    for (const n of ['+8613800138101', '+8613800138102']) {
      const r = await fetch(`${first.http}/v1/dnc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ number: n }) });
      expect(r.status).toBe(201);
    }
    const refused = new TestCall(first.url);
    expect(await refused.start({ callId: 'outage-refused', encoding: 'pcm16', sampleRate: 16000, callType: 'marketing', callee: '+8613800138101' })).toMatchObject({ type: 'rejected' });
    let pending: { id: string; attempts: number; lastError: string | null }[] = [];
    for (let i = 0; i < 200 && !(pending.length === 5 && pending.every((p) => p.attempts >= 1)); i++) {
      pending = (await (await fetch(`${first.http}/v1/webhooks/deliveries?state=pending`)).json()).deliveries;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(pending.length, JSON.stringify(pending)).toBe(5);
    expect(pending.every((p) => p.attempts >= 1 && /ECONNREFUSED/.test(p.lastError ?? '')), JSON.stringify(pending)).toBe(true);
    // The backlog an operator alerts on (recounted at most once a second).
    let waiting = 0;
    for (let i = 0; i < 120 && waiting !== 5; i++) {
      waiting = total(parseExposition(await (await fetch(`${first.http}/metrics`)).text()), 'earshot_webhook_outbox_pending', {});
      if (waiting !== 5) await new Promise((r) => setTimeout(r, 50));
    }
    expect(waiting).toBe(5);
    await first.gw.stop(0);
    // The bytes each event was stored with, read from the database the next gateway resumes from.
    const db = openDatabase({ file: databasePath(first.dataDir), readonly: true });
    const stored = new Map((db.prepare('SELECT id, body FROM webhook_outbox').all() as { id: string; body: string }[]).map((r) => [r.id, r.body]));
    db.close();
    expect([...stored.keys()].sort()).toEqual(pending.map((p) => p.id).sort());

    const resumed = await startGateway({ ...webhooks(rx.url), dataDir: first.dataDir });
    gateways.push(resumed.gw);
    await rx.up();
    await until(() => rx.accepted().length >= 5, 10_000, 'the queued events delivered after the restart');
    // Give a duplicate time to show up: at-least-once must still be once here (nothing was in flight at the stop).
    await new Promise((r) => setTimeout(r, 500));
    expect(rx.requests.length).toBe(5);
    expect(rx.accepted().map((r) => r.body.type).sort()).toEqual(['call_summary', 'consent', 'dnc_added', 'dnc_added', 'rejected']);
    for (const r of rx.accepted()) {
      expectSigned(r);
      expect(r.raw).toBe(stored.get(r.body.id)); // byte for byte, under the id (idempotency key) it was stored with
      expect(Number(r.headers['earshot-delivery-attempt'])).toBeGreaterThan(1);
    }
    const hook = rx.accepted('consent')[0].body;
    expect(hook).toMatchObject({ callId: 'outage-consent', data: { decision: consent.decision, evidenceId: consent.evidenceId, transcript: consent.transcript } });
    expect((await (await fetch(`${resumed.http}/v1/evidence/${consent.evidenceId}`)).json()).decision).toBe(hook.data.decision);
  }, 60_000);

  it('dead-letter an event after its last attempt, list it, and deliver it on replay', async () => {
    const rx = await new WebhookReceiver().up();
    receivers.push(rx);
    rx.answer = () => 400;
    const { gw, http } = await startGateway(webhooks(rx.url, { maxAttempts: 2 }));
    gateways.push(gw);
    expect((await fetch(`${http}/v1/dnc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ number: '+8613800138201' }) })).status).toBe(201);
    let dead: { id: string; attempts: number; lastStatus: number; lastError: string }[] = [];
    for (let i = 0; i < 200 && !dead.length; i++) {
      await new Promise((r) => setTimeout(r, 25));
      dead = (await (await fetch(`${http}/v1/webhooks/deliveries?state=dead`)).json()).deliveries;
    }
    expect(dead).toMatchObject([{ attempts: 2, lastStatus: 400, lastError: 'HTTP 400 receiver says no' }]);
    expect(rx.requests.length).toBe(2);
    const m = parseExposition(await (await fetch(`${http}/metrics`)).text());
    expect(total(m, 'earshot_webhook_dead_letters_total', { event: 'dnc_added' })).toBeGreaterThanOrEqual(1);

    rx.answer = () => 200;
    const replay = await fetch(`${http}/v1/webhooks/deliveries/${dead[0].id}/replay`, { method: 'POST' });
    expect(replay.status).toBe(202);
    await until(() => rx.accepted().length === 1, 5000, 'the replayed event delivered');
    expect(rx.accepted()[0].body.id).toBe(dead[0].id);
    expectSigned(rx.accepted()[0]);
    expect((await fetch(`${http}/v1/webhooks/deliveries/${dead[0].id}/replay-nope`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${http}/v1/webhooks/deliveries/nope/replay`, { method: 'POST' })).status).toBe(404);
  }, 30_000);

  it('refuse to start with a URL and no secret: webhooks are never sent unsigned', async () => {
    await expect(startGateway({ webhooks: { url: 'http://127.0.0.1:9/x' } })).rejects.toThrow(/webhooks.secret/);
  });
});
