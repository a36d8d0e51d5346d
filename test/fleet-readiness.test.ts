// What a load balancer and an autoscaler read from one instance: /readyz turns 503 at limits.maxCalls and while
// draining (calls in progress go on), POST /v1/drain waits for the calls to end, and /metrics exports the calls in
// progress and the capacity ratio.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/Gateway.js';
import { TestCall } from './helpers/client.js';
import { startGateway } from './helpers/gateway.js';

let gw: Gateway;
let url: string;
let http: string;

beforeAll(async () => {
  ({ gw, url, http } = await startGateway({ asr: { model: '' }, limits: { maxCalls: 2 }, shutdownGraceMs: 5000 }));
});
afterAll(async () => {
  await gw?.stop(0);
});

async function ready(): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${http}/readyz`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${http}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((s, m) => s + Number(m[1]), 0);
}

async function call(id: string): Promise<TestCall> {
  const c = new TestCall(url);
  const ev = await c.start({ callId: id, encoding: 'pcm16', sampleRate: 16000 });
  expect(ev.type).toBe('ready');
  return c;
}

describe('readiness and capacity', () => {
  it('is not ready at maxCalls, and ready again once a call ends; the capacity ratio follows', async () => {
    expect(await ready()).toMatchObject({ status: 200, body: { full: false, calls: 0, maxCalls: 2 } });
    const a = await call('cap-a');
    expect(await metric('earshot_capacity_ratio')).toBe(0.5);
    const b = await call('cap-b');
    expect(await ready()).toMatchObject({ status: 503, body: { full: true, calls: 2, draining: false } });
    expect(await metric('earshot_active_calls')).toBe(2);
    expect(await metric('earshot_capacity_ratio')).toBe(1);
    const third = new TestCall(url);
    expect(await third.start({ callId: 'cap-c', encoding: 'pcm16', sampleRate: 16000 })).toMatchObject({ type: 'rejected', reason: 'capacity' });
    await a.hangup();
    a.close();
    expect(await ready()).toMatchObject({ status: 200, body: { full: false, calls: 1 } });
    await b.hangup();
    b.close();
    expect(await metric('earshot_capacity_ratio')).toBe(0);
  });

  it('a drain refuses new calls and answers once the calls in progress have ended', async () => {
    const a = await call('drain-a');
    let answered: Record<string, unknown> | null = null;
    const drain = fetch(`${http}/v1/drain`, { method: 'POST' }).then(async (r) => (answered = (await r.json()) as Record<string, unknown>));
    await new Promise((r) => setTimeout(r, 300));
    expect(await ready()).toMatchObject({ status: 503, body: { draining: true } });
    const late = new TestCall(url);
    const refused = await late.start({ callId: 'drain-b', encoding: 'pcm16', sampleRate: 16000 }).catch(() => ({ type: 'refused at upgrade' }));
    expect(['rejected', 'refused at upgrade']).toContain(refused.type);
    expect(answered).toBeNull(); // still waiting for drain-a
    a.send({ type: 'stop_prompt' }); // the call in progress is still served
    await a.hangup();
    await drain;
    expect(answered).toEqual({ drained: true, calls: 0 });
  });
});
