// The bench's Twilio Media Streams client against a real gateway: readiness synthesised from the SSE stream, prompt
// audio from `media` messages, marks echoed so the gateway reports the prompt heard, hangup through the control API
// with `call_summary` delivered before onClose, and the refusals a user can hit (wrong format, wrong token).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '../gateway/audio/codec.js';
import type { Gateway } from '../gateway/Gateway.js';
import { twilioWire } from '../bench/wires/twilio.js';
import type { GatewayEvent, StartParams } from '../bench/wires/types.js';
import { expectCleanEnd } from './helpers/benchWire.js';
import { CALLING_HOURS, startGateway } from './helpers/gateway.js';
import { until } from './helpers/until.js';

const TOKEN = 'bench-twilio-token';
let gw: Gateway;
let base: string;

beforeAll(async () => {
  const g = await startGateway({ asr: { model: '' }, apiToken: TOKEN, policy: { clock: CALLING_HOURS }, wires: { audiosocket: false, grpc: false } });
  gw = g.gw;
  base = g.http.replace('http:', 'ws:');
}, 60_000);

afterAll(async () => {
  await gw?.stop(0);
});

function params(callId: string, over: Partial<StartParams> = {}): StartParams {
  return { callId, language: 'zh', callType: 'notification', audio: { encoding: 'mulaw', sampleRate: 8000 }, callee: '+8613900000001', ...over };
}

describe('bench twilio wire', () => {
  it('ready → prompt frames → mark echoes → hangup, with call_summary before the one onClose', async () => {
    const events: GatewayEvent[] = [];
    const frames: Uint8Array[] = [];
    const closes: { reason: string; summarySeen: boolean }[] = [];
    const call = await twilioWire.connect(base, {
      onEvent: (e) => events.push(e),
      onAudio: (f) => frames.push(f),
      onClose: (reason) => closes.push({ reason, summarySeen: events.some((e) => e.type === 'call_summary') }),
    }, TOKEN);
    await call.start(params('bench-tw-1'));
    expect(events[0]).toMatchObject({ type: 'ready', callId: 'bench-tw-1', t: 0 });
    expect(gw.calls.get('bench-tw-1')?.format).toEqual({ encoding: 'mulaw', sampleRate: 8000 });

    const silence = encode('mulaw', new Int16Array(160));
    const tick = setInterval(() => call.sendAudio(silence), 20);
    try {
      const tone = new Int16Array(8000 * 0.6).map((_, i) => Math.round(4000 * Math.sin(i / 4)));
      call.play('p', Buffer.from(encode('mulaw', tone)).toString('base64'), true);
      await until(() => events.some((e) => e.type === 'prompt_heard'), 5000, 'prompt_heard');
      expect(frames.length).toBe(30);
      expect(frames.every((f) => f.length === 160)).toBe(true);
      // Marks were echoed when the audio before them had played: the gateway counts the whole prompt heard.
      expect(events.find((e) => e.type === 'prompt_heard')).toMatchObject({ promptId: 'p', heardMs: 600, complete: true });
      expect(gw.calls.get('bench-tw-1')!.t).toBeGreaterThan(400);
      call.hangup();
      await until(() => closes.length > 0, 5000, 'onClose');
    } finally {
      clearInterval(tick);
    }
    await expectCleanEnd(call, closes, events, 'bench-tw-1');
  }, 30_000);

  it('expect_consent without a recogniser becomes the error event the native wire sends', async () => {
    const events: GatewayEvent[] = [];
    const call = await twilioWire.connect(base, { onEvent: (e) => events.push(e), onAudio: () => undefined, onClose: () => undefined }, TOKEN);
    await call.start(params('bench-tw-2'));
    call.expectConsent('q');
    await until(() => events.some((e) => e.type === 'error'), 3000, 'error event');
    expect(events.find((e) => e.type === 'error')).toMatchObject({ code: 'consent_unavailable' });
    call.hangup();
    await until(() => events.some((e) => e.type === 'call_summary'), 3000, 'call_summary');
    call.close();
  }, 15_000);

  it('refuses a non-μ-law run with a pointer to --rate 8k, and reports a wrong token as a failed start', async () => {
    const h = { onEvent: () => undefined, onAudio: () => undefined, onClose: () => undefined };
    const wide = await twilioWire.connect(base, h, TOKEN);
    await expect(wide.start(params('bench-tw-3', { audio: { encoding: 'pcm16', sampleRate: 16000 } }))).rejects.toThrow(/--rate 8k/);
    wide.close();
    const bad = await twilioWire.connect(base, h, 'wrong-token');
    await expect(bad.start(params('bench-tw-4'))).rejects.toThrow(/401/);
    bad.close();
    expect(gw.calls.has('bench-tw-4')).toBe(false);
  }, 20_000);

  it('a call refused at start fails its start with the gateway\'s reason, read from the event stream', async () => {
    const callee = '+8613900002222';
    const added = await fetch(base.replace('ws:', 'http:') + '/v1/dnc', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ number: callee }) });
    expect(added.status).toBe(201);
    const events: GatewayEvent[] = [];
    const call = await twilioWire.connect(base, { onEvent: (e) => events.push(e), onAudio: () => undefined, onClose: () => undefined }, TOKEN);
    // The reason itself, not the start timeout ("no ready within …") the old polling client ended in.
    await expect(call.start(params('bench-tw-5', { callType: 'marketing', callee }))).rejects.toThrow(/rejected: (do_not_call|calling_hours)/);
    expect(events.find((e) => e.type === 'rejected')).toMatchObject({ callId: 'bench-tw-5' });
    call.close();
  }, 20_000);
});
