// The Telnyx wire (/v1/telnyx) driven as Telnyx's media streaming documents it, by the bench's Telnyx far end
// (bench/wires/telnyx.ts): stream_auth_token as its header, connected → start (call_control_id, custom_parameters,
// media_format) → base64 RTP payloads, PCMU or big-endian L16, media/mark/clear back. Then what a broken far end sends.
import { describe, expect, it } from 'vitest';
import { telnyxWire } from '../bench/wires/telnyx.js';
import { expectCleanEnd } from './helpers/benchWire.js';
import { expectOnlyBrokenStreamsEnd, expectStarted, expectStopClears, type BrokenCase } from './helpers/platformChecks.js';
import { command, drive, params, RawStream, tone, useGateway } from './helpers/platformCalls.js';
import { until } from './helpers/until.js';

const TOKEN = 'telnyx-wire-token';
/** What Telnyx's call control ids look like (they are the id its Call Control API takes). */
const CONTROL_ID = 'v2:T02llQxIyaRkhfRKxgAP8nY511EhFLizdvdUKJiSw8d6A9BborherQ';
const g = useGateway(TOKEN);

const start = (over: Record<string, unknown> = {}, custom: Record<string, unknown> = {}) => ({
  event: 'start',
  sequence_number: '1',
  stream_id: 'S-1',
  start: { call_control_id: `v2:${Math.random().toString(36).slice(2)}`, from: '+1', to: '+2', custom_parameters: { callType: 'notification', ...custom }, media_format: { encoding: 'PCMU', sample_rate: 8000, channels: 1 }, ...over },
});
const media = (payload: string) => ({ event: 'media', sequence_number: '2', stream_id: 'S-1', media: { track: 'inbound', chunk: '1', timestamp: '20', payload } });

describe('telnyx wire', () => {
  it('takes the call_control_id as the call id and call type, language and callee from custom_parameters; plays PCMU; marks become prompt_heard', async () => {
    const p = params(CONTROL_ID, { language: 'en', callType: 'notification', callee: '+8613900000007' });
    const d = await drive(telnyxWire, g.base, TOKEN, p);
    expectStarted(g.gw, p, 'telnyx', { encoding: 'mulaw', sampleRate: 8000 }, { telnyx: { callControlId: CONTROL_ID } });
    const stop = d.silence();
    try {
      d.call.play('p1', tone(p, 600), true);
      const heard = await d.waitFor('prompt_heard');
      expect(d.frames.length).toBe(30);
      expect(d.frames.every((f) => f.bytes.length === 160)).toBe(true);
      expect(heard).toMatchObject({ promptId: 'p1', heardMs: 600, complete: true });
      // Paced, not sent at once: 600 ms of prompt arrives over about 600 ms (a loaded machine only stretches it).
      expect(d.frames.at(-1)!.wall - d.frames[0].wall).toBeGreaterThan(400);
      d.call.hangup();
      await until(() => d.closes.length > 0, 5000, 'onClose');
    } finally {
      stop();
    }
    await expectCleanEnd(d.call, d.closes, d.events, CONTROL_ID);
  }, 30_000);

  it('carries 16 kHz L16 big-endian both ways, empties Telnyx\'s queue with clear when a prompt is stopped, and reports only what played', async () => {
    // Telnyx's L16 is big-endian on the wire: the far end swaps it back, so sample-for-sample equality checks the swap.
    await expectStopClears({ gw: g.gw, wire: telnyxWire, base: g.base, http: g.http, token: TOKEN, callId: 'tx-call-2' });
  }, 30_000);

  it('names the call by a callId custom parameter, ignores the outbound track, and ends the call on stop', async () => {
    const s = await new RawStream(`${g.base}/v1/telnyx?token=${TOKEN}`).open();
    s.send({ event: 'connected', version: '1.0.0' });
    // custom_parameters as the API takes them (a list of name/value); the object form is read as well.
    s.send(start({ custom_parameters: [{ name: 'callType', value: 'notification' }, { name: 'callId', value: 'crm-4712' }, { name: 'campaign', value: 'x' }] }));
    await until(() => g.gw.calls.has('crm-4712'), 3000, 'call crm-4712');
    const call = g.gw.calls.get('crm-4712')!;
    expect(call.init.extra).toMatchObject({ telnyx: { streamId: 'S-1', customParameters: { campaign: 'x' } } });
    s.send({ ...media(Buffer.alloc(160, 0xff).toString('base64')), media: { track: 'outbound', payload: 'not base64 at all!' } });
    s.send(media(Buffer.alloc(160, 0xff).toString('base64')));
    s.send({ event: 'dtmf', stream_id: 'S-1', dtmf: { digit: '5' } });
    s.send({ event: 'stop', sequence_number: '5', stream_id: 'S-1' });
    expect((await s.closed).code).toBe(1000);
    expect(call.isEnded).toBe(true);
  });

  it('accepts the token as stream_auth_token header, bearer or ?token=, and refuses a stream without it before reading anything', async () => {
    for (const headers of [{ 'x-telnyx-streaming-auth-token': TOKEN }, { authorization: `Bearer ${TOKEN}` }] as Record<string, string>[]) {
      const ok = await new RawStream(`${g.base}/v1/telnyx`, { headers }).open();
      const m = start();
      ok.send(m);
      await until(() => g.gw.calls.has(m.start.call_control_id), 3000, 'authorised call');
      ok.ws.close();
      await ok.closed;
    }
    for (const headers of [{}, { 'x-telnyx-streaming-auth-token': 'wrong' }, { authorization: 'Bearer wrong' }] as Record<string, string>[]) {
      const bad = new RawStream(`${g.base}/v1/telnyx`, { headers });
      const m = start();
      bad.ws.on('open', () => bad.send(m));
      expect((await bad.closed).code).toBe(4401);
      expect(g.gw.calls.has(m.start.call_control_id)).toBe(false);
    }
  });

  it('ends only the broken stream, with the reason in the close frame, while another call carries on', async () => {
    const url = `${g.base}/v1/telnyx?token=${TOKEN}`;
    const l16 = { media_format: { encoding: 'L16', sample_rate: 16000, channels: 1 } };
    const cases: BrokenCase[] = [
      { name: 'not JSON', first: '{"event": "start"', code: /^malformed_json/ },
      { name: 'binary', first: Buffer.alloc(160), code: /^binary_frame/ },
      { name: 'G722', first: start({ media_format: { encoding: 'G722', sample_rate: 16000 } }), code: /^unsupported_audio.*PCMU, PCMA or L16/ },
      { name: 'L16 at 24 kHz', first: start({ media_format: { encoding: 'L16', sample_rate: 24000 } }), code: /^unsupported_audio.*8000 or 16000/ },
      { name: 'two channels', first: start({ media_format: { encoding: 'PCMU', sample_rate: 8000, channels: 2 } }), code: /^unsupported_audio.*inbound_track/ },
      { name: 'media before start', first: media(Buffer.alloc(160).toString('base64')), code: /^not_started/ },
      { name: 'bad base64', first: start(), then: media('***'), code: /^bad_base64/ },
      { name: 'half an L16 sample', first: start(l16), then: media(Buffer.alloc(321).toString('base64')), code: /^odd_length/ },
      { name: 'two seconds in one frame', first: start(), then: media(Buffer.alloc(16000).toString('base64')), code: /^frame_too_long/ },
      { name: 'a call id the control API cannot carry', first: start({ call_control_id: 'a b/c' }), code: /^invalid_start/ },
    ];
    await expectOnlyBrokenStreamsEnd({ gw: g.gw, wire: telnyxWire, base: g.base, token: TOKEN, url, cases });
  }, 30_000);
});
