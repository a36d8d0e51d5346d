// One way to open a call on each of the gateway's wires from a test: the bench's wire clients (native ws, Twilio,
// AudioSocket, gRPC) plus a minimal Vonage client, behind one shape.
import WebSocket from 'ws';
import { getWire, wireTarget } from '../../bench/wires/index.js';
import type { GatewayEvent } from '../../bench/wires/types.js';
import type { Call } from '../../gateway/call/Call.js';
import type { Gateway } from '../../gateway/Gateway.js';
import { wirePorts } from '../../gateway/wires/index.js';

export const WIRES = ['native', 'twilio', 'vonage', 'audiosocket', 'grpc'] as const;
export type WireName = (typeof WIRES)[number];

export interface OpenCall {
  /** The gateway's side of the call (found by its wire, the only new call of that wire). */
  call: Call;
  /** One 20 ms inbound frame in the call's encoding (pcm16 at 16 kHz, μ-law at 8 kHz for Twilio). */
  frame: Uint8Array;
  send(frame: Uint8Array): void;
  /** Bytes the client has not handed to the kernel yet. */
  buffered(): number;
  events: GatewayEvent[];
  closed: Promise<string>;
  close(): void;
}

/** Opens a started call on `wire` against a gateway from startGateway (no apiToken, or `token`). */
export async function openCall(gw: Gateway, wsUrl: string, wire: WireName, callId: string, token: string | null = null): Promise<OpenCall> {
  const before = new Set(gw.calls.values());
  const events: GatewayEvent[] = [];
  let onClosed: (why: string) => void = () => undefined;
  const closed = new Promise<string>((r) => (onClosed = r));
  let client: Omit<OpenCall, 'call' | 'events' | 'closed'>;
  if (wire === 'vonage') {
    const ws = new WebSocket(`${wsUrl.replace('/v1/stream', '/v1/vonage')}${token ? `?token=${token}` : ''}`);
    ws.on('close', (code, reason) => onClosed(`${code} ${reason}`));
    ws.on('error', () => undefined);
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    ws.send(JSON.stringify({ event: 'websocket:connected', 'content-type': 'audio/l16;rate=16000', callId, callType: 'notification' }));
    client = { frame: new Uint8Array(640), send: (f) => ws.readyState === WebSocket.OPEN && ws.send(f), buffered: () => ws.bufferedAmount, close: () => ws.close() };
  } else {
    const ports = wirePorts(gw);
    const target = wire === 'native' ? wsUrl : wireTarget(wsUrl, { grpc: ports.grpc ?? null, audiosocket: ports.audiosocket ?? null });
    const w = getWire(wire === 'native' ? 'ws' : wire);
    const c = await w.connect(target, { onEvent: (ev) => events.push(ev), onAudio: () => undefined, onClose: (why) => onClosed(why) }, token);
    const narrow = wire === 'twilio';
    await c.start({ callId, language: 'zh', callType: 'notification', audio: narrow ? { encoding: 'mulaw', sampleRate: 8000 } : { encoding: 'pcm16', sampleRate: 16000 }, callee: '' });
    client = { frame: new Uint8Array(narrow ? 160 : 640).fill(narrow ? 0xff : 0), send: (f) => c.sendAudio(f), buffered: () => c.bufferedBytes(), close: () => c.close() };
  }
  let call: Call | undefined;
  for (let i = 0; i < 500 && !call; i++) {
    call = [...gw.calls.values()].find((c) => !before.has(c) && c.init.wire === wire);
    if (!call) await new Promise((r) => setTimeout(r, 10));
  }
  if (!call) throw new Error(`no ${wire} call appeared on the gateway`);
  return { ...client, call, events, closed };
}

/** Resolves with the call's summary event (observed on the gateway side, whatever the wire can carry). */
export function summaryOf(call: Call): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    if (call.isEnded) return resolve({ reason: 'already ended' });
    call.observe((ev) => {
      if (ev.type === 'call_summary') resolve(ev);
    });
  });
}

/** The summary of the call with this id, whenever it starts (polled every 5 ms). */
export function summaryWhenStarted(gw: Gateway, callId: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const t = setInterval(() => {
      const call = gw.calls.get(callId);
      if (!call) return;
      clearInterval(t);
      void summaryOf(call).then(resolve);
    }, 5);
  });
}
