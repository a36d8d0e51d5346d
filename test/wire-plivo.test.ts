// The Plivo wire (/v1/plivo) driven as Plivo's bidirectional audio streams document it, by the bench's Plivo far
// end (bench/wires/plivo.ts): ?token= in the stream URL, `start` with the call UUID, mediaFormat and extra_headers,
// base64 μ-law or L16, playAudio/checkpoint/clearAudio back and playedStream/clearedAudio answers. Then what a
// broken far end sends.
import { describe, expect, it } from 'vitest';
import { plivoWire } from '../bench/wires/plivo.js';
import { plivoExtraHeaders } from '../gateway/wires/plivo.js';
import { expectCleanEnd } from './helpers/benchWire.js';
import { expectCleanHangup, expectOnlyBrokenStreamsEnd, expectStarted, expectStopClears, type BrokenCase } from './helpers/platformChecks.js';
import { command, drive, params, RawStream, tone, useGateway } from './helpers/platformCalls.js';
import { until } from './helpers/until.js';

const TOKEN = 'plivo-wire-token';
/** Plivo's call ids are UUIDs (what its Call API takes). */
const CALL_UUID = '9f3c1a52-7f1e-4c55-8a3a-0c6a7e5d2b10';
const g = useGateway(TOKEN);

const start = (over: Record<string, unknown> = {}, extra = 'callType=notification') => ({
  event: 'start',
  sequenceNumber: 1,
  start: { callId: `pl-${Math.random().toString(36).slice(2)}`, streamId: 'st-1', accountId: 'MA1', tracks: ['inbound'], mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000 }, ...over },
  extra_headers: extra,
});
const media = (payload: string) => ({ event: 'media', sequenceNumber: 2, streamId: 'st-1', media: { track: 'inbound', timestamp: '1', chunk: 1, payload } });

describe('plivo wire', () => {
  it('reads extraHeaders as Plivo sends them', () => {
    expect(plivoExtraHeaders('callType=notification;language=en;callee=8613900000007')).toEqual({ callType: 'notification', language: 'en', callee: '8613900000007' });
    expect(plivoExtraHeaders({ a: '1', b: 2 })).toEqual({ a: '1' });
    expect(plivoExtraHeaders(undefined)).toEqual({});
  });

  it('takes the call UUID as the call id and call type, language and callee (with its +) from extraHeaders; plays μ-law; checkpoints become prompt_heard', async () => {
    const p = params(CALL_UUID, { language: 'en', callType: 'notification', callee: '+8613900000007' });
    const d = await drive(plivoWire, g.base, TOKEN, p);
    expectStarted(g.gw, p, 'plivo', { encoding: 'mulaw', sampleRate: 8000 }, { plivo: { callId: CALL_UUID } });
    const stop = d.silence();
    try {
      d.call.play('p1', tone(p, 600), true);
      const heard = await d.waitFor('prompt_heard');
      expect(d.frames.length).toBe(30);
      expect(heard).toMatchObject({ promptId: 'p1', heardMs: 600, complete: true });
      // Paced, not sent at once: 600 ms of prompt arrives over about 600 ms (a loaded machine only stretches it).
      expect(d.frames.at(-1)!.wall - d.frames[0].wall).toBeGreaterThan(400);
      await expectCleanHangup(d);
    } finally {
      stop();
    }
    await expectCleanEnd(d.call, d.closes, d.events, CALL_UUID);
  }, 30_000);

  it('plays 16 kHz L16, empties Plivo\'s buffer with clearAudio when a prompt is stopped, and closes prompt_heard on clearedAudio', async () => {
    // Plivo never answers the checkpoints behind cleared audio: its clearedAudio closes the prompt.
    await expectStopClears({ gw: g.gw, wire: plivoWire, base: g.base, http: g.http, token: TOKEN, callId: 'pl-call-2' });
  }, 30_000);

  it('names the call by a callId from the stream URL, lets extraHeaders override the URL, and ends the call on stop', async () => {
    const s = await new RawStream(`${g.base}/v1/plivo?token=${TOKEN}&callId=crm-4713&language=zh`).open();
    s.send(start({}, 'callType=notification;language=en;campaign=x'));
    await until(() => g.gw.calls.has('crm-4713'), 3000, 'call crm-4713');
    const call = g.gw.calls.get('crm-4713')!;
    expect(call.init).toMatchObject({ language: 'en', callType: 'notification' });
    expect(call.init.extra).toMatchObject({ plivo: { streamId: 'st-1', extraHeaders: { campaign: 'x' } } });
    s.send(media(Buffer.alloc(160, 0xff).toString('base64')));
    s.send({ event: 'dtmf', sequenceNumber: 3, streamId: 'st-1', dtmf: { digit: '5', track: 'inbound' } });
    s.send({ event: 'stop', sequenceNumber: 4, streamId: 'st-1' });
    expect((await s.closed).code).toBe(1000);
    expect(call.isEnded).toBe(true);
  });

  it('accepts the token as ?token=, bearer or Basic, and refuses a stream without it before reading anything', async () => {
    const basicAuth = `Basic ${Buffer.from(`plivo:${TOKEN}`).toString('base64')}`;
    for (const [url, headers] of [[`${g.base}/v1/plivo?token=${TOKEN}`, {}], [`${g.base}/v1/plivo`, { authorization: `Bearer ${TOKEN}` }], [`${g.base}/v1/plivo`, { authorization: basicAuth }]] as [string, Record<string, string>][]) {
      const ok = await new RawStream(url, { headers }).open();
      const m = start();
      ok.send(m);
      await until(() => g.gw.calls.has(m.start.callId), 3000, 'authorised call');
      ok.ws.close();
      await ok.closed;
    }
    for (const url of [`${g.base}/v1/plivo`, `${g.base}/v1/plivo?token=wrong`]) {
      const bad = new RawStream(url);
      const m = start();
      bad.ws.on('open', () => bad.send(m));
      expect((await bad.closed).code).toBe(4401);
      expect(g.gw.calls.has(m.start.callId)).toBe(false);
    }
  });

  it('ends only the broken stream, with the reason in the close frame, while another call carries on', async () => {
    const url = `${g.base}/v1/plivo?token=${TOKEN}`;
    const l16 = { mediaFormat: { encoding: 'audio/x-l16', sampleRate: 16000 } };
    const cases: BrokenCase[] = [
      { name: 'not JSON', first: '{"event": "start"', code: /^malformed_json/ },
      { name: 'binary', first: Buffer.alloc(160), code: /^binary_frame/ },
      { name: 'μ-law at 16 kHz', first: start({ mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 16000 } }), code: /^unsupported_audio.*8000/ },
      { name: 'L16 at 24 kHz', first: start({ mediaFormat: { encoding: 'audio/x-l16', sampleRate: 24000 } }), code: /^unsupported_audio.*rate=8000 or rate=16000/ },
      { name: 'opus', first: start({ mediaFormat: { encoding: 'audio/opus', sampleRate: 16000 } }), code: /^unsupported_audio.*contentType/ },
      { name: 'media before start', first: media(Buffer.alloc(160).toString('base64')), code: /^not_started/ },
      { name: 'bad base64', first: start(), then: media('***'), code: /^bad_base64/ },
      { name: 'half an L16 sample', first: start(l16), then: media(Buffer.alloc(321).toString('base64')), code: /^odd_length/ },
      { name: 'two seconds in one frame', first: start(), then: media(Buffer.alloc(16000).toString('base64')), code: /^frame_too_long/ },
      { name: 'a call type earshot does not know', first: start({}, 'callType=survey'), code: /^invalid_start/ },
    ];
    await expectOnlyBrokenStreamsEnd({ gw: g.gw, wire: plivoWire, base: g.base, token: TOKEN, url, cases });
  }, 30_000);
});
