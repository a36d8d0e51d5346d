// Clients that send much and read nothing (issue #13, item 4): every message to a client checks the socket's
// buffer (events too, not only audio), echoed strings are truncated, messages over the text-frame limit are
// refused while they are read, one connection's message rate is bounded, and an event-stream (SSE) subscriber
// that never reads is dropped — while a normal call beside barges in within budget.
import * as grpc from '@grpc/grpc-js';
import { connect as h2connect, constants as H2 } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../gateway/config.js';
import { sseWriter } from '../gateway/control/sse.js';
import type { Gateway } from '../gateway/Gateway.js';
import { rootLogger } from '../gateway/ops/log.js';
import { registry } from '../gateway/ops/metrics.js';
import { PROTO_DIR } from '../gateway/wires/grpc.js';
import { wirePorts } from '../gateway/wires/index.js';
import { streamCallFramer } from '../bench/attacks.js';
import { attack } from './helpers/attack.js';
import { besideNormalCall } from './helpers/bystander.js';
import { startGateway } from './helpers/gateway.js';
import { summaryWhenStarted } from './helpers/wireClients.js';
import WebSocket from 'ws';

/** A native client that has started a call (`ready`): its events, and how its connection closed. */
async function startedClient(url: string, callId: string): Promise<{ ws: WebSocket; events: Record<string, unknown>[]; closed: Promise<number> }> {
  const ws = new WebSocket(url);
  const events: Record<string, unknown>[] = [];
  ws.on('message', (d, bin) => {
    if (!bin) events.push(JSON.parse(String(d)));
  });
  ws.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(JSON.stringify({ type: 'start', callId, callType: 'notification', audio: { encoding: 'pcm16', sampleRate: 16000 } }));
  for (let i = 0; i < 500 && !events.some((e) => e.type === 'ready'); i++) await new Promise((r) => setTimeout(r, 10));
  expect(events.some((e) => e.type === 'ready')).toBe(true);
  return { ws, events, closed };
}

/** Default limits: the text-frame cap and the per-connection message budget apply. */
let gw: Gateway;
let url: string;
let http: string;
/** No message budget (it would stop the floods below first): what is left to catch them is the buffer check. */
let open: { gw: Gateway; url: string; http: string };

beforeAll(async () => {
  ({ gw, url, http } = await startGateway({ asr: { model: '' } }));
  open = await startGateway({ asr: { model: '' }, limits: { maxMessagesPerSecond: 1_000_000, maxInboundBytesPerSecond: 1_000_000_000 } });
});

afterAll(async () => {
  await gw?.stop(0);
  await open?.gw.stop(0);
});

async function errorCount(code: string): Promise<number> {
  const m = await registry.getSingleMetric('earshot_call_errors_total')!.get();
  return m.values.find((v) => v.labels.code === code)?.value ?? 0;
}

describe('text frames and message rate', () => {
  it('a message over the 3 MiB text-frame limit is refused while it is read (1009); before start, so is one over 64 KiB, unparsed', async () => {
    const parsedBefore = await errorCount('not_started');
    const r = await besideNormalCall({ url, http }, 'beside-big', () => attack<{ bigClose: number; echoClose: number; errors: { code: string; length: number }[] }>('bigMessages', { url }).done);
    expect(r.bigClose).toBe(1009);
    // Refused from its header (limits.maxStartMessageBytes): no error event, so it was never parsed. Were ws's
    // receiver field gone (gateway/wires/shared/messageCap.ts), it would be answered `not_started` instead.
    expect(r.echoClose).toBe(1009);
    expect(r.errors).toEqual([]);
    expect(await errorCount('not_started')).toBe(parsedBefore);
  }, 30_000);

  it('in a call, large echoed types come back truncated', async () => {
    const c = await startedClient(url, 'big-echo');
    const msg = JSON.stringify({ type: 'y'.repeat(2.5 * 1024 * 1024) });
    c.ws.send(msg);
    c.ws.send(msg);
    for (let i = 0; i < 500 && c.events.filter((e) => e.type === 'error').length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const errors = c.events.filter((e) => e.type === 'error');
    expect(errors).toHaveLength(2);
    for (const e of errors) expect(String(e.message).length).toBeLessThan(200);
    c.ws.close();
  }, 30_000);

  it('before start, a connection sending large messages back to back is refused at the first (1009)', async () => {
    const r = await besideNormalCall({ url, http }, 'beside-rate', () => attack<{ sent: number; close: number; codes: string[] }>('largeBackToBack', { url }).done);
    expect(r.close).toBe(1009);
    expect(r.codes).toEqual([]);
  }, 30_000);

  it('in a call, large messages back to back are cut off as rate_limited after the burst', async () => {
    const c = await startedClient(url, 'big-rate');
    const msg = JSON.stringify({ type: 'q'.repeat(2.5 * 1024 * 1024) });
    for (let i = 0; i < 40 && c.ws.readyState === WebSocket.OPEN; i++) {
      c.ws.send(msg);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await c.closed).toBe(1008);
    const codes = c.events.filter((e) => e.type === 'error').map((e) => e.code);
    expect(codes).toContain('rate_limited');
    // At most its burst (2 × maxMessageBytes = 6 MiB: two 2.5 MiB messages) was read before it was cut off.
    expect(codes.filter((x) => x === 'unknown_message').length).toBeLessThanOrEqual(2);
  }, 30_000);

  it('many small messages: the call is ended as rate_limited after five seconds’ worth at once', async () => {
    const summary = summaryWhenStarted(gw, 'many-small');
    const r = await attack<{ close: number }>('manySmall', { url, callId: 'many-small' }).done;
    expect((await summary).reason).toBe('rate_limited');
    expect(r.close).toBe(1008);
  }, 30_000);
});

describe('a connection cut off is read no further', () => {
  // What a client goes on sending after its answer must stay with it (flow control), not be read and dropped by the
  // gateway until the connection goes: the native flood below once had ~95,000 messages read after its cut-off,
  // ~0.5 s of the event loop per connection (ws resumes a socket paused under it whenever its parser drains; the wires
  // pause through ws), and a gRPC client that reads nothing had every message decoded until its status got out.
  async function discarded(wire: string): Promise<number> {
    const m = await registry.getSingleMetric('earshot_messages_discarded_total')!.get();
    return m.values.find((v) => v.labels.wire === wire)?.value ?? 0;
  }

  it('native: after rate_limited, few of the flood’s messages are read', async () => {
    const before = await discarded('native');
    const summary = summaryWhenStarted(gw, 'cut-off-native');
    const r = await attack<{ sent: number }>('noReadFlood', { url, callId: 'cut-off-native' }).done;
    expect((await summary).reason).toBe('rate_limited');
    expect(r.sent).toBeGreaterThan(50_000); // the flood went on after its answer…
    expect((await discarded('native')) - before).toBeLessThan(10_000); // …and stayed with the client
  }, 60_000);

  it('gRPC: a client that does not read, once answered, is read no further', async () => {
    // As bench/attacks.ts grpcNoRead: a 16 KiB window and nothing read, so its status cannot reach it.
    const frame = streamCallFramer(PROTO_DIR);
    const summary = summaryWhenStarted(gw, 'cut-off-grpc');
    const session = h2connect(`http://127.0.0.1:${wirePorts(gw).grpc}`, { settings: { initialWindowSize: 16 * 1024 } });
    session.on('error', () => undefined);
    const req = session.request({ [H2.HTTP2_HEADER_METHOD]: 'POST', [H2.HTTP2_HEADER_PATH]: '/earshot.v1.Earshot/StreamCall', 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => undefined);
    req.write(frame({ config: { callId: 'cut-off-grpc', audio: { encoding: 'pcm16', sampleRate: 16000 }, callType: 'notification' } }));
    await new Promise((r) => setTimeout(r, 300));
    req.pause();
    const bad = frame({ play: { promptId: '' } }); // each answered with an error event it never reads
    for (let i = 0; i < 1500; i++) req.write(bad);
    expect(['slow_consumer', 'resource_exhausted']).toContain((await summary).reason); // answered: its events backed up, or its budget ran out
    let taken = 0;
    const big = frame({ audio: Buffer.alloc(4096) });
    for (let i = 0; i < 512; i++) req.write(big, (e) => void (e || taken++)); // 2 MiB after its answer
    await new Promise((r) => setTimeout(r, 300));
    // Read on, the gateway took all 512 in a few ms; paused, what its stream window holds (64 KiB) at most.
    expect(taken).toBeLessThan(64);
    session.destroy();
  }, 30_000);
});

describe('a client that sends and never reads', () => {
  // These floods run with the message budget off (it would end them first), so they cost the gateway's event loop
  // what they cost: what is checked is that memory stays bounded and the gateway answers, not the latency of a
  // call beside them (that is the message budget's job, checked above with default limits).
  it('native, before start: its error events back up and the connection is dropped, with the gateway memory bounded', async () => {
    const before = await errorCount('slow_consumer');
    const rss0 = process.memoryUsage().rss;
    const a = attack<{ sent: number; close: number }>('noReadFlood', { url: open.url });
    for (let i = 0; i < 1500 && (await errorCount('slow_consumer')) === before; i++) await new Promise((res) => setTimeout(res, 20));
    a.stop();
    const r = await a.done;
    expect((await fetch(`${open.http}/healthz`)).status).toBe(200);
    expect(await errorCount('slow_consumer')).toBeGreaterThan(before);
    expect(r.close).toBe(1006); // terminated: no closing handshake with a client that does not read
    expect(process.memoryUsage().rss - rss0).toBeLessThan(150 * 1024 * 1024);
  }, 60_000);

  it('native, in a call: the call fails as slow_consumer when its events back up', async () => {
    const summary = summaryWhenStarted(open.gw, 'noread-call');
    const a = attack('noReadFlood', { url: open.url, callId: 'noread-call' });
    const s = await summary;
    a.stop();
    await a.done;
    expect(s.reason).toBe('slow_consumer');
  }, 60_000);

  it('an SSE subscriber that never reads is dropped; the call and its own client go on', async () => {
    const before = await errorCount('sse_slow_consumer');
    const a = attack<{ pairs: number; summaryReason: string | null }>('sseNoRead', { url: open.url, callId: 'sse-noread' });
    for (let i = 0; i < 3000 && (await errorCount('sse_slow_consumer')) === before; i++) await new Promise((res) => setTimeout(res, 20));
    const callEndedWhenDropped = open.gw.calls.get('sse-noread')?.isEnded;
    a.stop();
    const r = await a.done;
    expect((await fetch(`${open.http}/healthz`)).status).toBe(200);
    expect(await errorCount('sse_slow_consumer')).toBeGreaterThan(before);
    // Only the subscriber went: the call was live when its stream was dropped, and went on to its own hangup.
    expect(callEndedWhenDropped).toBe(false);
    expect(r.summaryReason).toBe('hangup');
  }, 90_000);

  it('gRPC: a StreamCall whose client stops reading (no HTTP/2 window updates) while its events pile up fails as slow_consumer', async () => {
    const summary = summaryWhenStarted(open.gw, 'grpc-noread');
    const r = await besideNormalCall(open, 'beside-grpc', () => attack<{ status: number | null }>('grpcNoRead', { grpcPort: wirePorts(open.gw).grpc, callId: 'grpc-noread', url: open.url }).done);
    expect((await summary).reason).toBe('slow_consumer');
    expect(r.status).toBe(grpc.status.RESOURCE_EXHAUSTED);
  }, 60_000);
});

describe('sseWriter', () => {
  it('writes while the reader keeps up and drops the stream, once, when it falls behind', () => {
    const config = ConfigSchema.parse({ playout: { maxSocketBufferBytes: 8192 } });
    const res = { writableLength: 0, destroyed: false, written: [] as string[], write(t: string) { this.written.push(t); this.writableLength += t.length; return true; }, destroy() { this.destroyed = true; return this; } };
    let drops = 0;
    const write = sseWriter({ config, log: rootLogger }, res as never, 'c', () => drops++);
    for (let i = 0; i < 100; i++) write('x'.repeat(1000));
    expect(res.destroyed).toBe(true);
    expect(drops).toBe(1);
    expect(res.written.length).toBe(9); // up to the limit, then nothing more
  });
});
