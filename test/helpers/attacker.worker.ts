// Hostile clients, run in a worker thread so that their own work (building, masking and sending floods) does not
// stall the event loop of the gateway under test, which in a test runs in the test's process: the normal call
// beside an attack then measures the gateway, not the attacker. Each attack gets `{ kind, args }` and posts back
// `{ result }` (or `{ error }`); the parent may post 'stop'.
import { connect as h2connect, constants as H2 } from 'node:http2';
import { connect } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import * as protoLoader from '@grpc/proto-loader';
import WebSocket from 'ws';
import { PROTO_DIR } from '../../gateway/wires/grpc.js';
import { b64, TestCall } from './client.js';

let stopped = false;
parentPort!.on('message', (m) => {
  if (m === 'stop') stopped = true;
});
const tick = () => new Promise((r) => setImmediate(r));
const socketOf = (c: TestCall) => (c.ws as unknown as { _socket: import('node:net').Socket })._socket;
const closedWithin = (c: TestCall, ms: number) => Promise.race([c.closed, new Promise<{ code: number; reason: string }>((r) => setTimeout(() => r({ code: 0, reason: 'still open' }), ms))]);

type Args = Record<string, unknown> & { url: string };

const attacks: Record<string, (a: Args) => Promise<unknown>> = {
  /** A 4 MiB text frame, then two 2.5 MiB ones whose `type` the gateway echoes in its error. */
  async bigMessages(a) {
    const big = new TestCall(a.url);
    await big.opened();
    big.ws.send(JSON.stringify({ type: 'x'.repeat(4 * 1024 * 1024) }));
    const bigClose = (await closedWithin(big, 10_000)).code;
    const echo = new TestCall(a.url);
    await echo.opened();
    const msg = JSON.stringify({ type: 'y'.repeat(2.5 * 1024 * 1024) });
    echo.ws.send(msg);
    echo.ws.send(msg);
    for (let i = 0; i < 250 && echo.events('error').length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    echo.close();
    return { bigClose, errors: echo.events('error').map((e) => ({ code: e.code, length: String(e.message).length })) };
  },

  /** 2.5 MiB messages back to back until the connection is closed. */
  async largeBackToBack(a) {
    const c = new TestCall(a.url);
    await c.opened();
    const msg = JSON.stringify({ type: 'q'.repeat(2.5 * 1024 * 1024) });
    let sent = 0;
    for (; sent < 40 && c.ws.readyState === WebSocket.OPEN; sent++) {
      c.ws.send(msg);
      await new Promise((r) => setTimeout(r, 5));
    }
    const closed = await closedWithin(c, 10_000);
    return { sent, close: closed.code, codes: c.events('error').map((e) => e.code) };
  },

  /** A started call, then thousands of tiny commands at once. */
  async manySmall(a) {
    const c = new TestCall(a.url);
    const r = await c.start({ callId: String(a.callId), encoding: 'pcm16', sampleRate: 16000 });
    if (r.type !== 'ready') throw new Error(`not ready: ${r.type}`);
    for (let i = 0; i < 5000 && c.ws.readyState === WebSocket.OPEN; i++) c.send({ type: 'stop_prompt' });
    const closed = await closedWithin(c, 10_000);
    return { close: closed.code, codes: c.events('error').map((e) => e.code) };
  },

  /** Sends junk (each answered with an error event) and reads nothing, until the gateway drops it. */
  async noReadFlood(a) {
    const c = new TestCall(a.url);
    if (a.callId) {
      const r = await c.start({ callId: String(a.callId), encoding: 'pcm16', sampleRate: 16000 });
      if (r.type !== 'ready') throw new Error(`not ready: ${r.type}`);
    } else await c.opened();
    socketOf(c).pause();
    const junk = JSON.stringify({ type: 'z'.repeat(60) });
    let sent = 0;
    for (; sent < 300_000 && c.ws.readyState === WebSocket.OPEN && !stopped; sent++) {
      c.ws.send(junk);
      if (sent % 500 === 499) await tick();
    }
    socketOf(c).resume();
    const closed = await closedWithin(c, 10_000);
    return { sent, close: closed.code };
  },

  /** A subscriber that never reads the call's event stream, while the call itself makes many events. */
  async sseNoRead(a) {
    const c = new TestCall(a.url);
    const r = await c.start({ callId: String(a.callId), encoding: 'pcm16', sampleRate: 16000 });
    if (r.type !== 'ready') throw new Error(`not ready: ${r.type}`);
    const http = new URL(a.url);
    const sub = connect(Number(http.port), http.hostname);
    sub.on('error', () => undefined);
    await new Promise((res) => sub.once('connect', res));
    sub.write(`GET /v1/calls/${String(a.callId)}/events HTTP/1.1\r\nHost: x\r\n\r\n`);
    sub.pause();
    await new Promise((res) => setTimeout(res, 100));
    // Each play and stop_prompt is a prompt_started and a prompt_finished that every observer sees.
    const audio = b64('pcm16', new Int16Array(320));
    let pairs = 0;
    for (; pairs < 60_000 && !stopped && c.ws.readyState === WebSocket.OPEN; pairs++) {
      c.send({ type: 'play', promptId: `p${pairs}`, audio });
      c.send({ type: 'stop_prompt' });
      if (pairs % 200 === 199) await new Promise((res) => setTimeout(res, 1));
    }
    const summary = await c.hangup().catch(() => null);
    sub.destroy();
    return { pairs, summaryReason: summary?.reason ?? null };
  },

  /** A gRPC StreamCall from a raw HTTP/2 client that stops reading (no window updates) while its errors pile up. */
  async grpcNoRead(a) {
    const def = protoLoader.loadSync('earshot/v1/earshot.proto', { keepCase: false, longs: Number, enums: String, defaults: false, oneofs: true, includeDirs: [PROTO_DIR] });
    const method = (def['earshot.v1.Earshot'] as Record<string, protoLoader.MethodDefinition<object, object>>).StreamCall;
    const frame = (m: object) => {
      const body = method.requestSerialize(m);
      const b = Buffer.alloc(5 + body.length);
      b.writeUInt32BE(body.length, 1);
      body.copy(b, 5);
      return b;
    };
    const session = h2connect(`http://127.0.0.1:${Number(a.grpcPort)}`, { settings: { initialWindowSize: 16 * 1024 } });
    session.on('error', () => undefined);
    const req = session.request({ [H2.HTTP2_HEADER_METHOD]: 'POST', [H2.HTTP2_HEADER_PATH]: '/earshot.v1.Earshot/StreamCall', 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => undefined);
    let status: number | null = null;
    req.on('trailers', (t) => (status = Number(t['grpc-status'])));
    req.write(frame({ config: { callId: String(a.callId), audio: { encoding: 'pcm16', sampleRate: 16000 }, callType: 'notification' } }));
    await new Promise((r) => setTimeout(r, 300));
    req.pause();
    const bad = frame({ play: { promptId: '' } });
    let sent = 0;
    for (; sent < 100_000 && !stopped && !req.closed; sent++) {
      req.write(bad);
      if (sent % 200 === 199) await new Promise((r) => setTimeout(r, 1));
    }
    req.resume();
    for (let i = 0; i < 500 && status === null; i++) await new Promise((r) => setTimeout(r, 10));
    session.destroy();
    return { sent, status };
  },
};

const { kind, args } = workerData as { kind: string; args: Args };
attacks[kind](args).then(
  (result) => parentPort!.postMessage({ result }),
  (e: Error) => parentPort!.postMessage({ error: e.stack ?? e.message }),
);
