// The FreeSWITCH wire (/v1/freeswitch) driven as mod_audio_fork and mod_audio_stream document it, by the bench's far
// ends (bench/wires/freeswitch.ts): metadata first, L16 both ways in, playAudio / streamAudio files back, killAudio on
// barge-in. The 30 dev barge-in scenarios at 8 kHz give the native wire's outcomes; then what a broken far end sends.
import { describe, expect, it } from 'vitest';
import { freeswitchStreamWire, freeswitchWire } from '../bench/wires/freeswitch.js';
import { basic } from '../bench/wires/platform.js';
import { RawStream, command, drive, params, tone, useGateway } from './helpers/platformCalls.js';
import { expectBrokenStreamsClosed, expectCleanHangup, expectRefusedWithoutToken, expectStarted, expectStopClearsNow, withLineSilence } from './helpers/platformChecks.js';
import { itGivesNativeOutcomes } from './helpers/platformScenarios.js';
import { until } from './helpers/until.js';

const TOKEN = 'freeswitch-wire-token';
const g = useGateway(TOKEN);

const meta = (over: Record<string, unknown> = {}) => ({ uuid: `fs-${Math.random().toString(36).slice(2)}`, sampleRate: 8000, callType: 'notification', ...over });

describe('FreeSWITCH wire', () => {
  itGivesNativeOutcomes(freeswitchWire, g, TOKEN, 'killAudio');

  it('mod_audio_fork: the channel uuid is the call id, fields come from the metadata, prompts go back as 100 ms playAudio files, stop_prompt sends killAudio', async () => {
    const p = params('fs-call-1', { language: 'en', callee: '+8613900000008' });
    const d = await drive(freeswitchWire, g.base, TOKEN, p);
    expectStarted(g.gw, p, 'freeswitch', { encoding: 'pcm16', sampleRate: 8000 }, { freeswitch: { uuid: 'fs-call-1', module: 'mod_audio_fork' } });
    await withLineSilence(d, async () => {
      d.call.play('long', tone(p, 3000), true);
      await until(() => d.frames.length >= 3, 3000, 'three files');
      // One file per 100 ms of audio (800 μ-law bytes once converted back by the far end). That the first leaves as
      // the prompt starts (the playout runs a file ahead of its clock) is measured by the bench's first audio.
      expect(d.frames.slice(0, 3).map((f) => f.bytes.byteLength)).toEqual([800, 800, 800]);
      await expectStopClearsNow(d, { http: g.http, token: TOKEN, callId: 'fs-call-1', settleMs: 300 });
      await expectCleanHangup(d);
    });
  }, 30_000);

  it('mod_audio_stream (no subprotocol, token in an extra header): prompts go back as streamAudio files and a whole prompt ends with its last, shorter file', async () => {
    const p = params('fs-call-2', { audio: { encoding: 'pcm16', sampleRate: 16000 }, callee: '+8613900000011' });
    const d = await drive(freeswitchStreamWire, g.base, TOKEN, p);
    expect(g.gw.calls.get('fs-call-2')!.init.extra).toMatchObject({ freeswitch: { module: 'mod_audio_stream' } });
    await withLineSilence(d, async () => {
      // 450 ms: four files of 100 ms (3200 bytes at 16 kHz) and the last 50 ms, padded to whole 20 ms frames.
      d.call.play('p', tone(p, 450), true);
      await d.waitFor('prompt_finished');
      await until(() => d.frames.length >= 5, 2000, 'files');
      expect(d.frames.map((f) => f.bytes.byteLength)).toEqual([3200, 3200, 3200, 3200, 1920]);
      await expectCleanHangup(d);
    });
  }, 30_000);

  it('accepts the token as Basic password, bearer or ?token= and refuses a stream without it', async () => {
    for (const [url, headers] of [[`${g.base}/v1/freeswitch`, basic('fs', TOKEN)], [`${g.base}/v1/freeswitch?token=${TOKEN}`, {}]] as const) {
      const ok = await new RawStream(url, { protocol: 'audio.drachtio.org', headers }).open();
      const m = meta();
      ok.send(m);
      await until(() => g.gw.calls.has(m.uuid), 3000, 'authorised call');
      ok.ws.close();
      await ok.closed;
    }
    const m = meta();
    await expectRefusedWithoutToken(g.gw, `${g.base}/v1/freeswitch`, { headers: basic('fs', 'wrong') }, m, m.uuid);
  });

  it('ends only the broken stream, with the reason in the close frame', async () => {
    await expectBrokenStreamsClosed(g.gw, `${g.base}/v1/freeswitch?token=${TOKEN}`, [
      { name: 'metadata not JSON', first: 'callType=notification', code: /^malformed_json/ },
      { name: 'no rate', first: meta({ sampleRate: undefined }), code: /^unsupported_audio.*8000 or 16000/ },
      { name: 'stereo', first: meta({ mix: 'stereo' }), code: /^unsupported_audio.*mono/ },
      { name: 'unknown playback', first: meta({ playback: 'binary' }), code: /^invalid_start.*playAudio/ },
      { name: 'neither uuid nor callId', first: meta({ uuid: undefined }), code: /^invalid_start/ },
    ], { protocol: 'audio.drachtio.org' });
  });
});
