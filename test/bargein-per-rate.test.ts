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

/** Which frame classifier a fresh call of gateway `g` decides its barge-ins with. */
async function classifierOf(g: { gw: Gateway; url: string }, callId: string, language?: 'zh' | 'en'): Promise<string | null> {
  const c = new TestCall(g.url);
  await c.opened();
  await c.start({ callId, encoding: 'pcm16', sampleRate: 16000, ...(language ? { language } : {}) });
  const call = g.gw.calls.get(callId);
  expect(call).toBeDefined();
  const kind = call!.bargeInClassifier;
  await c.hangup();
  c.close();
  return kind;
}

describe('the interruption classifier with content decisions (bargeIn.interruption.enabled: withContent, the default)', () => {
  it('is off on a call no content probe listens to (no recogniser here), on where one does', async () => {
    expect(await classifierOf({ gw, url }, 'cls-no-asr')).toBe(null);
    const withAsr = await startGateway({});
    try {
      expect(await classifierOf(withAsr, 'cls-zh')).toBe('interruption');
      // The recogniser serves Mandarin: an English call gets no probe, so no classifier either.
      expect(await classifierOf(withAsr, 'cls-en', 'en')).toBe(null);
    } finally {
      await withAsr.gw.stop(0);
    }
  });
});
