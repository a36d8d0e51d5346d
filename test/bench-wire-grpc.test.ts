// The bench's gRPC wire client against a real gateway: events arrive as the native JSON, prompt audio as frames,
// the stream closes once (OK after call_summary); a bad token rejects start with UNAUTHENTICATED.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcWire } from '../bench/wires/grpc.js';
import { wireTarget } from '../bench/wires/index.js';
import type { GatewayEvent } from '../bench/wires/types.js';
import type { Gateway } from '../gateway/Gateway.js';
import { wirePorts } from '../gateway/wires/index.js';
import { CALLING_HOURS, startGateway } from './helpers/gateway.js';

const TOKEN = 'bench-grpc-token';
let gw: Gateway;
let target: string;

beforeAll(async () => {
  const g = await startGateway({ asr: { model: '' }, apiToken: TOKEN, policy: { clock: CALLING_HOURS }, wires: { grpcPort: 0, grpcHost: '127.0.0.1' } });
  gw = g.gw;
  target = wireTarget(g.url, { grpc: wirePorts(gw).grpc!, audiosocket: null });
}, 60_000);

afterAll(async () => {
  await gw?.stop(0);
});

function recorder() {
  const events: GatewayEvent[] = [];
  const frames: Uint8Array[] = [];
  const closes: string[] = [];
  let onFrame: (() => void) | null = null;
  let onSummary: (() => void) | null = null;
  const handlers = {
    onEvent: (ev: GatewayEvent) => (events.push(ev), ev.type === 'call_summary' && onSummary?.()),
    onAudio: (f: Uint8Array) => (frames.push(f), onFrame?.()),
    onClose: (r: string) => void closes.push(r),
  };
  const firstFrame = () => new Promise<void>((r) => (frames.length ? r() : (onFrame = r)));
  const summary = () => new Promise<void>((r) => (events.some((e) => e.type === 'call_summary') ? r() : (onSummary = r)));
  return { events, frames, closes, handlers, firstFrame, summary };
}

describe('bench grpc wire', () => {
  it('start → play → prompt frames → hangup → call_summary → one OK close', async () => {
    const rec = recorder();
    const call = await grpcWire.connect(target, rec.handlers, TOKEN);
    await call.start({ callId: 'bench-grpc-1', language: 'zh', callType: 'notification', audio: { encoding: 'pcm16', sampleRate: 16000 }, callee: '+8613900000001' });
    const tone = new Int16Array(16000).map((_, i) => Math.round(3000 * Math.sin(i / 5)));
    call.play('p1', Buffer.from(tone.buffer).toString('base64'), true);
    await rec.firstFrame();
    expect(rec.frames[0]!.length).toBe(640); // 20 ms of pcm16 at 16 kHz
    call.sendAudio(new Uint8Array(640));
    call.hangup();
    await rec.summary();
    call.close();
    await new Promise((r) => setTimeout(r, 200));
    expect(rec.events.map((e) => e.type)).toEqual(expect.arrayContaining(['ready', 'prompt_started', 'call_summary']));
    expect(rec.events.find((e) => e.type === 'prompt_started')?.promptId).toBe('p1');
    expect(rec.closes).toEqual(['ok']);
  }, 20_000);

  it('a wrong token rejects start with UNAUTHENTICATED and closes once', async () => {
    const rec = recorder();
    const call = await grpcWire.connect(target, rec.handlers, 'wrong');
    await expect(call.start({ callId: 'bench-grpc-2', language: 'zh', callType: 'notification', audio: { encoding: 'pcm16', sampleRate: 16000 }, callee: '+8613900000002' })).rejects.toThrow(/UNAUTHENTICATED/);
    call.close();
    expect(rec.closes).toHaveLength(1);
  }, 20_000);
});
