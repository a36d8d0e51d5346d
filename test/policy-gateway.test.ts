// Call policy at `start` through the gateway: calling hours in the callee's zones, caps, the do-not-call admin API
// and the call records over HTTP. The policy clock is frozen with `policy.clock` and moved per test.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/Gateway.js';
import { parseClock, PolicyFeature } from '../gateway/features/policy.js';
import { startGateway } from './helpers/gateway.js';
import { TestCall } from './helpers/client.js';

let gw: Gateway;
let url: string;
let http: string;
let k = 0;

// 20:30 in Shanghai: after marketing hours (09–20), inside notification hours (08–21).
const EVENING = 'fixed:2026-11-30T12:30:00Z';
const clockTo = (iso: string) => {
  (gw.plugins.find((p) => p instanceof PolicyFeature) as PolicyFeature).now = () => new Date(iso);
};

beforeAll(async () => {
  ({ gw, url, http } = await startGateway({ asr: { model: '' }, policy: { clock: EVENING } }));
}, 60_000);

beforeEach(() => clockTo(EVENING.slice(6)));

afterAll(async () => {
  await gw?.stop(1000);
});

async function start(extra: Record<string, unknown>) {
  const c = new TestCall(url);
  const callId = `pol-${++k}-${Date.now()}`;
  const r = await c.start({ callId, encoding: 'pcm16', sampleRate: 16000, ...extra });
  if (r.type === 'ready') await c.hangup();
  return { ...r, callId };
}

const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${http}${path}`, { method, headers: body !== undefined ? { 'content-type': 'application/json' } : {}, body: body !== undefined ? JSON.stringify(body) : undefined });
  return { status: res.status, body: (await res.json()) as any };
};

describe('policy at start', () => {
  it('calling hours in the callee zone: marketing refused at 20:30 Shanghai, whatever timeZone the client names; notification allowed', async () => {
    expect(await start({ callType: 'marketing', callee: '+8613700000001' })).toMatchObject({ type: 'rejected', reason: 'calling_hours' });
    expect(await start({ callType: 'marketing', callee: '+8613700000002', timeZone: 'Europe/London' })).toMatchObject({ type: 'rejected', reason: 'calling_hours' });
    expect(await start({ callType: 'notification', callee: '+8613700000003' })).toMatchObject({ type: 'ready' });
  });

  it('replays the finding: a +86 callee at 01:39 with timeZone New York is refused; a calleeless notification too', async () => {
    clockTo('2026-01-14T17:39:00Z'); // 01:39 in Shanghai, 12:39 in New York
    const r = await start({ callType: 'marketing', callee: '+8613700000004', timeZone: 'America/New_York' });
    expect(r).toMatchObject({ type: 'rejected', reason: 'calling_hours' });
    const rec = await api('GET', `/v1/calls/${r.callId}/record`);
    expect(rec.body.policyChecks[0].reason).toContain('01:39 in Asia/Shanghai');
    expect(await start({ callType: 'notification', callee: '+8613700000004', timeZone: 'America/New_York' })).toMatchObject({ type: 'rejected', reason: 'calling_hours' });
    // A notification without a callee may not ring at night either (policy.withoutCallee.notification: within_hours).
    expect(await start({ callType: 'notification', timeZone: 'America/New_York' })).toMatchObject({ type: 'rejected', reason: 'calling_hours' });
    clockTo('2026-01-14T03:00:00Z'); // 11:00 in Shanghai
    expect(await start({ callType: 'notification' })).toMatchObject({ type: 'ready' });
  });

  it('replays the finding: every spelling of a listed number is refused do_not_call', async () => {
    clockTo('2026-01-14T03:00:00Z'); // 11:00 in Shanghai
    const add = await api('POST', '/v1/dnc', { number: '+8613800138000', reason: 'asked by email' });
    expect(add.status).toBe(201);
    for (const callee of ['+8613800138000', '13800138000', '8613800138000', '+86 138-0013-8000', '0086 13800138000']) {
      expect(await start({ callType: 'marketing', callee }), callee).toMatchObject({ type: 'rejected', reason: 'do_not_call' });
    }
    expect((await api('DELETE', `/v1/dnc/13800138000`)).body).toEqual({ removed: true, number: '+8613800138000' });
  });

  it('replays the finding: the three spellings share one frequency cap, and the call knows its callee in E.164', async () => {
    clockTo('2026-01-14T03:00:00Z');
    const first = await start({ callType: 'marketing', callee: '13800138001' });
    expect(first).toMatchObject({ type: 'ready' });
    expect(await start({ callType: 'marketing', callee: '8613800138001' })).toMatchObject({ type: 'rejected', reason: 'frequency_cap' });
    expect(await start({ callType: 'marketing', callee: '+8613800138001' })).toMatchObject({ type: 'rejected', reason: 'frequency_cap' });
    const list = await api('GET', `/v1/records?callee=13800138001`);
    expect(list.body.records).toHaveLength(3);
    expect(new Set(list.body.records.map((r: any) => r.callee))).toEqual(new Set(['+8613800138001']));
    expect((await api('GET', `/v1/calls/${first.callId}/record`)).body).toMatchObject({ callee: '+8613800138001', outcome: 'hung_up' });
  });

  it('a marketing call must name a valid, unambiguous callee', async () => {
    clockTo('2026-01-14T03:00:00Z');
    expect(await start({ callType: 'marketing' })).toMatchObject({ type: 'rejected', reason: 'missing_callee' });
    expect(await start({ callType: 'marketing', callee: '12345' })).toMatchObject({ type: 'rejected', reason: 'missing_callee' });
  });

  it('caps: one marketing call per 24 h per callee; notifications have their own looser cap', async () => {
    clockTo('2026-01-14T03:00:00Z');
    const number = '+8613700000010';
    expect(await start({ callType: 'marketing', callee: number })).toMatchObject({ type: 'ready' });
    const second = await start({ callType: 'marketing', callee: '+86 137-0000-0010' });
    expect(second).toMatchObject({ type: 'rejected', reason: 'frequency_cap' });
    expect(await start({ callType: 'notification', callee: number })).toMatchObject({ type: 'ready' });
    const rec = await api('GET', `/v1/calls/${second.callId}/record`);
    expect(rec.status).toBe(200);
    expect(rec.body).toMatchObject({ outcome: 'rejected_by_policy', callee: number, policyChecks: [expect.objectContaining({ allowed: false, code: 'frequency_cap' })] });
    const list = await api('GET', `/v1/records?callee=${encodeURIComponent(number)}`);
    expect(list.body.records.map((r: any) => r.outcome).sort()).toEqual(['hung_up', 'hung_up', 'rejected_by_policy']);
  });

  it('do-not-call admin API: add, list, block, remove, unblock; bad bodies are 400', async () => {
    clockTo('2026-01-14T03:00:00Z');
    const number = '+8613700000020';
    expect((await api('POST', '/v1/dnc', { number: 'not a number' })).status).toBe(400);
    expect((await api('POST', '/v1/dnc', null)).status).toBe(400);
    expect((await api('POST', '/v1/dnc', [1])).status).toBe(400);
    const add = await api('POST', '/v1/dnc', { number: '137 0000 0020', reason: 'asked by email' });
    expect(add.status).toBe(201);
    expect(add.body).toMatchObject({ number, source: 'admin', reason: 'asked by email' });
    expect((await api('GET', '/v1/dnc')).body.entries).toContainEqual(expect.objectContaining({ number }));
    expect(await start({ callType: 'marketing', callee: number })).toMatchObject({ type: 'rejected', reason: 'do_not_call' });
    // The list does not block notifications by default (policy.dncBlocksNotifications).
    expect(await start({ callType: 'notification', callee: number })).toMatchObject({ type: 'ready' });
    expect((await api('DELETE', `/v1/dnc/${encodeURIComponent(number)}`)).status).toBe(200);
    expect((await api('DELETE', `/v1/dnc/${encodeURIComponent(number)}`)).status).toBe(404);
    expect(await start({ callType: 'marketing', callee: number })).toMatchObject({ type: 'ready' });
  });

  it('unknown record is 404; the clock option is validated', async () => {
    expect((await api('GET', '/v1/calls/nope/record')).status).toBe(404);
    expect(parseClock('fixed:2026-11-30T03:00:00Z')().toISOString()).toBe('2026-11-30T03:00:00.000Z');
    expect(() => parseClock('fixed:yesterday')).toThrow(/policy\.clock/);
    expect(() => parseClock(42)).toThrow(/policy\.clock/);
  });
});
