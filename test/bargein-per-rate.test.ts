// `bargeIn.content.enabled: wideband` (gateway/perRate.ts): a call decides once, from its own rate, whether its
// pauses take content verdicts — the content feature attaches its probe only where the call says so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/Gateway.js';
import { TestCall } from './helpers/client.js';
import { startGateway } from './helpers/gateway.js';

let gw: Gateway;
let url: string;

beforeAll(async () => {
  ({ gw, url } = await startGateway({ asr: { model: '' }, bargeIn: { content: { enabled: 'wideband' } } }));
});

afterAll(async () => {
  await gw?.stop(0);
});

async function takesContentVerdicts(callId: string, encoding: 'pcm16' | 'mulaw', sampleRate: number): Promise<boolean> {
  const c = new TestCall(url);
  await c.opened();
  await c.start({ callId, encoding, sampleRate });
  const call = gw.calls.get(callId);
  expect(call).toBeDefined();
  const on = call!.takesContentVerdicts;
  await c.hangup();
  c.close();
  return on;
}

describe('content verdicts per rate', () => {
  it('wideband: a 16 kHz call takes them, an 8 kHz μ-law call does not', async () => {
    expect(await takesContentVerdicts('rate-16k', 'pcm16', 16000)).toBe(true);
    expect(await takesContentVerdicts('rate-8k', 'mulaw', 8000)).toBe(false);
  });
});
