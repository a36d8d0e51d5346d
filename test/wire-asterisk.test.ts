// The Asterisk WebSocket-channel wire (/v1/asterisk) driven as chan_websocket documents it, by the bench's far end
// (bench/wires/asterisk.ts: an outgoing websocket_client, f(json), ulaw/slin16), then with plain-text control as
// Asterisk sends by default, then what a broken far end sends. The 30 dev barge-in scenarios at 8 kHz give the
// native wire's outcomes, FLUSH_MEDIA within 20 ms of each commit.
import { describe, expect, it } from 'vitest';
import { asteriskWire } from '../bench/wires/asterisk.js';
import { basic } from '../bench/wires/platform.js';
import { RawStream, command, drive, params, serverEvents, tone, useGateway } from './helpers/platformCalls.js';
import { expectBrokenStreamsClosed, expectCleanHangup, expectRefusedWithoutToken, expectStarted, expectStopClearsNow, withLineSilence } from './helpers/platformChecks.js';
import { itGivesNativeOutcomes } from './helpers/platformScenarios.js';
import { until } from './helpers/until.js';

const TOKEN = 'asterisk-wire-token';
const g = useGateway(TOKEN);

const plainStart = (channelId: string, format = 'ulaw', frame = 160) =>
  `MEDIA_START connection_id:2b4b7a3e-0d6c-4f0e-9a51-5c1f0e6a7d21 channel:WebSocket/earshot/0x7f3a channel_id:${channelId} format:${format} optimal_frame_size:${frame} ptime:20`;

describe('Asterisk chan_websocket wire', () => {
  itGivesNativeOutcomes(asteriskWire, g, TOKEN, 'FLUSH_MEDIA');

  it('f(json): the channel_id is the call id, channel variables name the call\'s fields, ulaw goes back in whole frames, MARK_MEDIA becomes prompt_heard', async () => {
    const p = params('pbx1-1733400000.7', { language: 'en', callee: '+8613900000009' });
    const d = await drive(asteriskWire, g.base, TOKEN, p);
    expectStarted(g.gw, p, 'asterisk', { encoding: 'mulaw', sampleRate: 8000 }, { asterisk: { channelId: p.callId, format: 'ulaw', control: 'json' } });
    await withLineSilence(d, async () => {
      d.call.play('p1', tone(p, 600), true);
      const heard = await d.waitFor('prompt_heard');
      expect(heard).toMatchObject({ promptId: 'p1', heardMs: 600, complete: true });
      expect(d.frames.map((f) => f.bytes.byteLength)).toEqual(new Array(30).fill(160));
      d.call.play('long', tone(p, 3000), true);
      await until(() => d.frames.length >= 45, 3000, 'some of the second prompt');
      await expectStopClearsNow(d, { http: g.http, token: TOKEN, callId: p.callId, settleMs: 200 });
      await expectCleanHangup(d);
    });
  }, 30_000);

  it('plain-text control (Asterisk\'s default): fields from the dialstring\'s v() query, a prompt\'s tail padded to a whole frame, plain FLUSH_MEDIA / MARK_MEDIA', async () => {
    const s = await new RawStream(`${g.base}/v1/asterisk?callId=crm-4712&callType=notification&callee=%2B8613900000010&language=zh`, { protocol: 'media', headers: basic('asterisk', TOKEN) }).open();
    expect(s.ws.protocol).toBe('media');
    s.send(plainStart('pbx1-1733400000.8', 'slin', 320));
    await until(() => g.gw.calls.has('crm-4712'), 3000, 'call crm-4712');
    const call = g.gw.calls.get('crm-4712')!;
    expect(call.format).toEqual({ encoding: 'pcm16', sampleRate: 8000 });
    expect(call.init).toMatchObject({ callee: '+8613900000010', callType: 'notification' });
    expect(call.init.extra).toMatchObject({ asterisk: { channelId: 'pbx1-1733400000.8', control: 'plain-text' } });
    const server = serverEvents(g.gw, 'crm-4712');
    const silence = setInterval(() => s.send(Buffer.alloc(320)), 20);
    try {
      // 590 ms: the last 10 ms are half a frame.
      const p = params('x', { audio: { encoding: 'pcm16', sampleRate: 8000 } });
      expect(await command(g.http, TOKEN, 'crm-4712', 'play', { promptId: 'odd', audio: tone(p, 590), interruptible: true })).toBe(202);
      await until(() => server.some((e) => e.type === 'prompt_finished'), 3000, 'prompt_finished');
      await new Promise((r) => setTimeout(r, 50));
      const media = s.received.filter((m): m is Buffer => Buffer.isBuffer(m));
      expect(media.every((b) => b.byteLength % 320 === 0)).toBe(true);
      expect(media.reduce((n, b) => n + b.byteLength, 0)).toBe(30 * 320);
      expect([...media.at(-1)!.subarray(160)].every((x) => x === 0)).toBe(true);
      const marks = s.received.filter((m): m is string => typeof m === 'string' && m.startsWith('MARK_MEDIA '));
      expect(marks.length).toBeGreaterThan(0);
      for (const m of marks) s.send(`MEDIA_MARK_PROCESSED correlation_id:${m.split(' ')[1]}`);
      await until(() => server.some((e) => e.type === 'prompt_heard'), 2000, 'prompt_heard');
      expect(server.find((e) => e.type === 'prompt_heard')!.ev).toMatchObject({ promptId: 'odd', complete: true });
      expect(await command(g.http, TOKEN, 'crm-4712', 'play', { promptId: 'long', audio: tone(p, 3000), interruptible: true })).toBe(202);
      await new Promise((r) => setTimeout(r, 300));
      expect(await command(g.http, TOKEN, 'crm-4712', 'stop_prompt')).toBe(202);
      await until(() => s.received.includes('FLUSH_MEDIA'), 2000, 'FLUSH_MEDIA');
    } finally {
      clearInterval(silence);
    }
    s.ws.close();
    await s.closed;
  }, 30_000);

  it('refuses a stream without the token, and ends only the broken stream with the reason in the close frame', async () => {
    await expectRefusedWithoutToken(g.gw, `${g.base}/v1/asterisk`, { protocol: 'media', headers: basic('asterisk', 'wrong') }, plainStart('pbx1-refused.1'), 'pbx1-refused.1');
    await expectBrokenStreamsClosed(g.gw, `${g.base}/v1/asterisk?token=${TOKEN}&callType=notification`, [
      { name: 'opus', first: plainStart('pbx1-b.1', 'opus', 0), code: /^unsupported_audio.*ulaw/ },
      { name: 'no frame size', first: plainStart('pbx1-b.2').replace('optimal_frame_size:160', 'optimal_frame_size:x'), code: /^invalid_start/ },
      { name: 'not an event', first: 'hello asterisk', code: /^invalid_message/ },
      { name: 'media before MEDIA_START', first: Buffer.alloc(160), code: /^not_started/ },
      { name: 'two seconds in one frame', first: plainStart('pbx1-b.3'), then: Buffer.alloc(16000), code: /^frame_too_long/ },
    ], { protocol: 'media' });
  });
});
