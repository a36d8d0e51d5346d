// The bench's AudioSocket client against a real gateway: call metadata registered before the UUID, readiness from
// the SSE stream, μ-law runs transcoded to slin 8 kHz both ways, 16 kHz as 0x12, hangup through the control API
// with `call_summary` delivered before the one onClose.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, encode, type Encoding } from '../gateway/audio/codec.js';
import type { Gateway } from '../gateway/Gateway.js';
import { wirePorts } from '../gateway/wires/index.js';
import { audiosocketWire } from '../bench/wires/audiosocket.js';
import type { GatewayEvent } from '../bench/wires/types.js';
import { expectCleanEnd } from './helpers/benchWire.js';
import { CALLING_HOURS, startGateway } from './helpers/gateway.js';
import { until } from './helpers/until.js';

const TOKEN = 'bench-as-token';
let gw: Gateway;
let target: string;
let base: string;

beforeAll(async () => {
  const g = await startGateway({ asr: { model: '' }, apiToken: TOKEN, policy: { clock: CALLING_HOURS }, wires: { audiosocket: true, audiosocketPort: 0, grpc: false } });
  gw = g.gw;
  base = g.http.replace('http:', 'ws:');
  target = `${base}/?audiosocket=127.0.0.1:${wirePorts(gw).audiosocket}`;
}, 60_000);

afterAll(async () => {
  await gw?.stop(0);
});

describe('bench audiosocket wire', () => {
  const cases: { encoding: Encoding; sampleRate: 8000 | 16000; frameBytes: number }[] = [
    { encoding: 'mulaw', sampleRate: 8000, frameBytes: 160 },
    { encoding: 'pcm16', sampleRate: 16000, frameBytes: 640 },
  ];
  for (const { encoding, sampleRate, frameBytes } of cases) {
    it(`${encoding} ${sampleRate}: ready → prompt frames in the call's encoding → hangup, call_summary before onClose`, async () => {
      const events: GatewayEvent[] = [];
      const frames: Uint8Array[] = [];
      const closes: { reason: string; summarySeen: boolean }[] = [];
      const call = await audiosocketWire.connect(target, {
        onEvent: (e) => events.push(e),
        onAudio: (f) => frames.push(f),
        onClose: (reason) => closes.push({ reason, summarySeen: events.some((e) => e.type === 'call_summary') }),
      }, TOKEN);
      await call.start({ callId: `bench-as-${encoding}`, language: 'en', callType: 'notification', audio: { encoding, sampleRate }, callee: '+8613900000002' });
      const ready = events[0];
      expect(ready.type).toBe('ready');
      const uuid = String(ready.callId);
      expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const c = gw.calls.get(uuid)!;
      expect(c.format).toEqual({ encoding: 'pcm16', sampleRate });
      expect(c.init).toMatchObject({ language: 'en', callType: 'notification', callee: '+8613900000002' });

      const silence = encode(encoding, new Int16Array(sampleRate / 50));
      const tick = setInterval(() => call.sendAudio(silence), 20);
      const tone = new Int16Array(sampleRate * 0.5).map((_, i) => Math.round(4000 * Math.sin(i / 4)));
      try {
        call.play('p', Buffer.from(encode(encoding, tone)).toString('base64'), true);
        await until(() => events.some((e) => e.type === 'prompt_finished'), 5000, 'prompt_finished');
        await until(() => frames.length >= 25, 1000, 'all prompt frames');
        expect(frames).toHaveLength(25);
        expect(frames.every((f) => f.length === frameBytes)).toBe(true);
        // The prompt came back as it was sent: transcoding (μ-law ↔ slin) must not mangle or resample it.
        const back = decode(encoding, Buffer.concat(frames));
        const want = decode(encoding, encode(encoding, tone));
        expect(Math.max(...want.map((v, i) => Math.abs(v - back[i])))).toBeLessThanOrEqual(encoding === 'mulaw' ? 300 : 1);
        expect(c.t).toBeGreaterThan(300);
        call.hangup();
        await until(() => closes.length > 0, 5000, 'onClose');
      } finally {
        clearInterval(tick);
      }
      await expectCleanEnd(call, closes, events, uuid);
    }, 30_000);
  }

  it('says where the AudioSocket address goes when it is missing', async () => {
    await expect(audiosocketWire.connect(base, { onEvent: () => undefined, onAudio: () => undefined, onClose: () => undefined }, TOKEN)).rejects.toThrow(/audiosocket=host:port/);
  });
});
