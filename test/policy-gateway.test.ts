// Call policy at `start` through the gateway: calling hours in the callee's zone, caps, the do-not-call admin API
// and the call records over HTTP. The policy clock is frozen with `policy.clock`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/Gateway.js';
import { parseClock } from '../gateway/features/policy.js';
import { startGateway } from './helpers/gateway.js';
import { TestCall } from './helpers/client.js';

let gw: Gateway;
let url: string;
let http: string;
let k = 0;

beforeAll(async () => {
  // 20:30 in Shanghai: after marketing hours (09–20), inside notification hours (08–21).
  ({ gw, url, http } = await startGateway({ policy: { clock: 'fixed:2026-11-30T12:30:00Z' } }));
}, 60_000);

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
  const res = await fetch(`${http}${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  return { status: res.status, body: (await res.json()) as any };
};

describe('policy at start', () => {
  it('calling hours in the callee zone: marketing refused at 20:30 Shanghai, allowed at 13:30 London; notification allowed', async () => {
    expect(await start({ callType: 'marketing', callee: '+8613700000001' })).toMatchObject({ type: 'rejected', reason: 'calling_hours' });
    expect(await start({ callType: 'marketing', callee: '+8613700000002', timeZone: 'Europe/London' })).toMatchObject({ type: 'ready' });
    expect(await start({ callType: 'notification', callee: '+8613700000003' })).toMatchObject({ type: 'ready' });
  });

  it('a marketing call must name its callee', async () => {
    expect(await start({ callType: 'marketing', timeZone: 'Europe/London' })).toMatchObject({ type: 'rejected', reason: 'missing_callee' });
  });

  it('caps: one marketing call per 24 h per callee; notifications have their own looser cap', async () => {
    const number = '+8613700000010';
    expect(await start({ callType: 'marketing', callee: number, timeZone: 'Europe/London' })).toMatchObject({ type: 'ready' });
    const second = await start({ callType: 'marketing', callee: '+86 137-0000-0010', timeZone: 'Europe/London' });
    expect(second).toMatchObject({ type: 'rejected', reason: 'frequency_cap' });
    expect(await start({ callType: 'notification', callee: number })).toMatchObject({ type: 'ready' });
    const rec = await api('GET', `/v1/calls/${second.callId}/record`);
    expect(rec.status).toBe(200);
    expect(rec.body).toMatchObject({ outcome: 'rejected_by_policy', callee: number, policyChecks: [expect.objectContaining({ allowed: false, code: 'frequency_cap' })] });
    const list = await api('GET', `/v1/records?callee=${encodeURIComponent(number)}`);
    expect(list.body.records.map((r: any) => r.outcome).sort()).toEqual(['hung_up', 'hung_up', 'rejected_by_policy']);
  });

  it('do-not-call admin API: add, list, block, remove, unblock', async () => {
    const number = '+8613700000020';
    expect((await api('POST', '/v1/dnc', { number: 'not a number' })).status).toBe(400);
    const add = await api('POST', '/v1/dnc', { number: '+86 137 0000 0020', reason: 'asked by email' });
    expect(add.status).toBe(201);
    expect(add.body).toMatchObject({ number, source: 'admin', reason: 'asked by email' });
    expect((await api('GET', '/v1/dnc')).body.entries).toContainEqual(expect.objectContaining({ number }));
    expect(await start({ callType: 'marketing', callee: number, timeZone: 'Europe/London' })).toMatchObject({ type: 'rejected', reason: 'do_not_call' });
    // The list does not block notifications by default (policy.dncBlocksNotifications).
    expect(await start({ callType: 'notification', callee: number })).toMatchObject({ type: 'ready' });
    expect((await api('DELETE', `/v1/dnc/${encodeURIComponent(number)}`)).status).toBe(200);
    expect((await api('DELETE', `/v1/dnc/${encodeURIComponent(number)}`)).status).toBe(404);
    expect(await start({ callType: 'marketing', callee: number, timeZone: 'Europe/London' })).toMatchObject({ type: 'ready' });
  });

  it('unknown record is 404; the clock option is validated', async () => {
    expect((await api('GET', '/v1/calls/nope/record')).status).toBe(404);
    expect(parseClock('fixed:2026-11-30T03:00:00Z')().toISOString()).toBe('2026-11-30T03:00:00.000Z');
    expect(() => parseClock('fixed:yesterday')).toThrow(/policy\.clock/);
    expect(() => parseClock(42)).toThrow(/policy\.clock/);
  });
});
