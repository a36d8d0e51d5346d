// `bargeIn.content.enabled: wideband` (gateway/perRate.ts): a call decides once, from its own rate, whether its
// pauses take content verdicts — the content feature attaches its probe only where the call says so. And
// `bargeIn.interruption.enabled: withContent` (the default): the classifier only on calls a content probe listens to.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call } from '../gateway/call/Call.js';
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

/** Starts a call on gateway `g`, reads `what` of its Call once started, hangs up. */
async function onCall<T>(g: { gw: Gateway; url: string }, start: { callId: string; encoding: 'pcm16' | 'mulaw'; sampleRate: number; language?: 'zh' | 'en' }, what: (c: Call) => T): Promise<T> {
  const c = new TestCall(g.url);
  await c.opened();
  await c.start(start);
  const call = g.gw.calls.get(start.callId);
  expect(call).toBeDefined();
  const v = what(call!);
  await c.hangup();
  c.close();
  return v;
}

describe('content verdicts per rate', () => {
  it('wideband: a 16 kHz call takes them, an 8 kHz μ-law call does not', async () => {
    expect(await onCall({ gw, url }, { callId: 'rate-16k', encoding: 'pcm16', sampleRate: 16000 }, (c) => c.takesContentVerdicts)).toBe(true);
    expect(await onCall({ gw, url }, { callId: 'rate-8k', encoding: 'mulaw', sampleRate: 8000 }, (c) => c.takesContentVerdicts)).toBe(false);
  });
});

describe('the interruption classifier with content decisions (bargeIn.interruption.enabled: withContent, the default)', () => {
  const classifier = (c: Call) => c.bargeInClassifier;
  it('is off on a call no content probe listens to (no recogniser here), on where one does', async () => {
    expect(await onCall({ gw, url }, { callId: 'cls-no-asr', encoding: 'pcm16', sampleRate: 16000 }, classifier)).toBe(null);
    const withAsr = await startGateway({});
    try {
      expect(await onCall(withAsr, { callId: 'cls-zh', encoding: 'pcm16', sampleRate: 16000 }, classifier)).toBe('interruption');
      // The recogniser serves Mandarin: an English call gets no probe, so no classifier either.
      expect(await onCall(withAsr, { callId: 'cls-en', encoding: 'pcm16', sampleRate: 16000, language: 'en' }, classifier)).toBe(null);
    } finally {
      await withAsr.gw.stop(0);
    }
  });
});
