// gateway/call/warmUp.ts: synthetic calls through the call path before /readyz, seen by no feature.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warmUpCalls, warmUpCallsOnce } from '../gateway/call/warmUp.js';
import { loadConfig } from '../gateway/config.js';
import type { Gateway } from '../gateway/Gateway.js';
import { registry } from '../gateway/ops/metrics.js';
import { startGateway } from './helpers/gateway.js';

let gw: Gateway;
let http: string;

beforeAll(async () => {
  ({ gw, http } = await startGateway());
});

afterAll(async () => {
  await gw?.stop(0);
});

async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await registry.getSingleMetric(name)?.get()) as { values: { value: number; labels: Record<string, string> }[] } | undefined;
  return (m?.values ?? []).filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

describe('call path warm-up', () => {
  it('runs prompt, echo, a pause and a commit at both rates, and leaves no call, record or event behind', async () => {
    const calls0 = await counter('earshot_calls_total', { wire: 'warm-up' });
    const pauses0 = await counter('earshot_bargein_pauses_total');
    const commits0 = await counter('earshot_bargeins_total');
    const r = await warmUpCalls({ config: gw.config, listen: gw.listen, pacer: gw.pacer, log: gw.log }, 4, 2);
    expect(r.calls).toBe(4);
    expect(r.inboundFrames).toBe(4 * 100);
    expect(r.promptFrames).toBeGreaterThan(4 * 20);
    // At real time (the inbound budget would end a faster call): two seconds, not much more.
    expect(r.ms).toBeGreaterThanOrEqual(1900);
    expect(await counter('earshot_calls_total', { wire: 'warm-up' })).toBe(calls0 + 4);
    expect(await counter('earshot_bargein_pauses_total')).toBeGreaterThan(pauses0);
    expect(await counter('earshot_bargeins_total')).toBeGreaterThan(commits0);
    expect(gw.calls.size).toBe(0);
    const live = await (await fetch(`${http}/v1/calls`)).json();
    expect(live.calls).toEqual([]);
    const recs = await (await fetch(`${http}/v1/records`)).json();
    expect(recs.records).toEqual([]);
  });

  it('runs once per process: a second gateway awaits the first warm-up instead of running its own', async () => {
    const svc = { config: gw.config, listen: gw.listen, pacer: gw.pacer, log: gw.log };
    const a = await warmUpCallsOnce(svc, 2, 1);
    const b = await warmUpCallsOnce(svc, 2, 1);
    expect(b.ran).toBe(false);
    expect(b.inboundFrames).toBe(a.inboundFrames);
  });

  it('is 16 calls by default, set from EARSHOT_WARM_UP_CALLS (0: off), bounded', () => {
    expect(loadConfig({}).ops.warmUpCalls).toBe(16);
    expect(loadConfig({ EARSHOT_WARM_UP_CALLS: '0' }).ops.warmUpCalls).toBe(0);
    expect(() => loadConfig({ EARSHOT_WARM_UP_CALLS: '65' })).toThrow();
  });
});
