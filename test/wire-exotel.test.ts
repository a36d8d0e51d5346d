// The Exotel wire (/v1/exotel) driven as Exotel documents its Voicebot applet, by the bench's far end
// (bench/wires/exotel.ts): Basic credentials, connected/start/media (100 ms of base64 PCM)/mark/stop, 100 ms media
// chunks back, marks, clear. The 30 dev barge-in scenarios at 8 kHz give the native wire's outcomes, clear within
// 20 ms of each commit; then what a broken far end sends.
import { describe, expect, it } from 'vitest';
import { exotelWire } from '../bench/wires/exotel.js';
import { basic } from '../bench/wires/platform.js';
import { RawStream, command, drive, params, tone, useGateway } from './helpers/platformCalls.js';
import { expectBrokenStreamsClosed, expectCleanHangup, expectRefusedWithoutToken, expectStarted, expectStopClearsNow, withLineSilence } from './helpers/platformChecks.js';
import { itGivesNativeOutcomes } from './helpers/platformScenarios.js';
import { until } from './helpers/until.js';

const TOKEN = 'exotel-wire-token';
const g = useGateway(TOKEN);

const start = (callSid: string, over: Record<string, unknown> = {}, custom: Record<string, unknown> = { callType: 'notification' }) => ({
  event: 'start',
  sequence_number: '1',
  stream_sid: 'MZ1',
  start: { stream_sid: 'MZ1', call_sid: callSid, account_sid: 'AC1', custom_parameters: custom, media_format: { encoding: 'audio/x-raw', sample_rate: '8000', bit_rate: '16' }, ...over },
});

describe('Exotel wire', () => {
  // Exotel sends the caller 100 ms at a time (its far end does too): the bounds widen by those 80 ms.
  itGivesNativeOutcomes(exotelWire, g, TOKEN, 'clear', 100);

  it('takes call_sid as the call id and the custom parameters as fields; sends 100 ms media chunks in multiples of 320 bytes; marks become prompt_heard; clear on stop_prompt', async () => {
    const p = params('CA-exotel-1', { language: 'en', callee: '+919876543210' });
    const d = await drive(exotelWire, g.base, TOKEN, p);
    expectStarted(g.gw, p, 'exotel', { encoding: 'pcm16', sampleRate: 8000 }, { exotel: { callSid: 'CA-exotel-1' } });
    await withLineSilence(d, async () => {
      // 630 ms: six chunks of 100 ms (1600 bytes of PCM) and the last 30 ms (480 bytes) padded to 640, a multiple of
      // 320; the far end hands them on in the run's μ-law, half the bytes.
      d.call.play('p1', tone(p, 630), true);
      const heard = await d.waitFor('prompt_heard');
      expect(heard).toMatchObject({ promptId: 'p1', complete: true });
      expect(d.frames.map((f) => f.bytes.byteLength)).toEqual([800, 800, 800, 800, 800, 800, 320]);
      d.call.play('long', tone(p, 3000), true);
      await until(() => d.frames.length >= 12, 3000, 'some of the second prompt');
      await expectStopClearsNow(d, { http: g.http, token: TOKEN, callId: 'CA-exotel-1', settleMs: 250 });
      await expectCleanHangup(d);
    });
  }, 30_000);

  it('takes the URL\'s sample-rate and parameters, the spellings Exotel\'s pages disagree on, and a stop as the end of the call', async () => {
    const s = await new RawStream(`${g.base}/v1/exotel?sample-rate=16000&callType=notification&callId=crm-4713`, { headers: basic('key', TOKEN) }).open();
    s.send({ event: 'connected' });
    s.send({ event: 'start', sequence_number: 1, streamSid: 'MZ2', start: { callSid: 'CA2', custom_parameters: {}, media_format: { encoding: 'raw' } } });
    await until(() => g.gw.calls.has('crm-4713'), 3000, 'call crm-4713');
    const call = g.gw.calls.get('crm-4713')!;
    expect(call.format).toEqual({ encoding: 'pcm16', sampleRate: 16000 });
    s.send({ event: 'media', sequence_number: 2, streamSid: 'MZ2', media: { chunk: 1, timestamp: 100, payload: Buffer.alloc(3200).toString('base64') } });
    // Track=both (the beta guide) interleaves the callee's side, which is not caller audio.
    s.send({ event: 'media', sequence_number: 3, streamSid: 'MZ2', media: { track: 'outbound', chunk: 1, timestamp: 100, payload: Buffer.alloc(3200).toString('base64') } });
    s.send({ event: 'media', sequence_number: 4, streamSid: 'MZ2', media: { track: 'inbound', chunk: 2, timestamp: 200, payload: Buffer.alloc(3200).toString('base64') } });
    s.send({ event: 'stop', sequence_number: 5, streamSid: 'MZ2', stop: { call_sid: 'CA2', reason: 'callended' } });
    await until(() => call.isEnded, 3000, 'call ended by stop');
    // 200 ms of caller audio: the outbound chunk between the two was not taken for the caller's.
    expect(call.t).toBe(200);
    await s.closed;
  });

  it('refuses a stream without the token, and ends only the broken stream with the reason in the close frame', async () => {
    await expectRefusedWithoutToken(g.gw, `${g.base}/v1/exotel`, { headers: basic('key', 'wrong') }, start('CA-refused'), 'CA-refused');
    await expectBrokenStreamsClosed(g.gw, `${g.base}/v1/exotel?token=${TOKEN}`, [
      { name: '24 kHz', first: start('CA-b1', { media_format: { encoding: 'audio/x-raw', sample_rate: '24000' } }), code: /^unsupported_audio.*8000 or 16000/ },
      { name: 'opus', first: start('CA-b2', { media_format: { encoding: 'opus', sample_rate: '8000' } }), code: /^unsupported_audio/ },
      { name: 'media before start', first: { event: 'media', stream_sid: 'MZ1', media: { payload: '' } }, code: /^not_started/ },
      { name: 'binary', first: Buffer.alloc(320), code: /^binary_frame/ },
      { name: 'bad base64', first: start('CA-b3'), then: { event: 'media', stream_sid: 'MZ1', media: { payload: '***' } }, code: /^bad_base64/ },
      { name: 'another stream', first: start('CA-b4'), then: { event: 'media', stream_sid: 'MZ9', media: { payload: '' } }, code: /^unknown_stream/, close: 4404 },
    ]);
  });
});
