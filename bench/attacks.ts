// Hostile clients, as the hardening tests (test/hostile-*.test.ts, through test/helpers/attack.ts) and the soak
// (bench/soak.ts) run them. Each is one attack from issue #13, made against a gateway at `url` (its native
// WebSocket URL) and reporting what the gateway answered; none of them judges the answer, the caller does.
// They run in a worker thread or a separate process, so that the attacker's own work never stalls the event loop
// of a gateway under test in the same process.
import { connect as h2connect, constants as H2 } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import * as protoLoader from '@grpc/proto-loader';
import WebSocket from 'ws';
import { encode } from '../gateway/audio/codec.js';

export interface AttackArgs {
  /** The gateway's native stream URL, ws://host:port/v1/stream. */
  url: string;
  token?: string;
  callId?: string;
  grpcPort?: number;
  audiosocketPort?: number;
  /** A file to upload as a recorded prompt (the hour of silence in FLAC). */
  uploadFile?: string;
  protoDir?: string;
}

export type Stop = () => boolean;
type Attack = (a: AttackArgs, stopped: Stop) => Promise<Record<string, unknown>>;

const httpOf = (a: AttackArgs) => a.url.replace(/^ws/, 'http').replace(/\/v1\/stream.*$/, '');
const portOf = (a: AttackArgs) => Number(new URL(a.url).port);
const withToken = (u: string, a: AttackArgs) => (a.token ? `${u}${u.includes('?') ? '&' : '?'}token=${encodeURIComponent(a.token)}` : u);
const auth = (a: AttackArgs): Record<string, string> => (a.token ? { authorization: `Bearer ${a.token}` } : {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tick = () => new Promise((r) => setImmediate(r));

/** The gRPC StreamCall definition, parsed once per proto directory (20–100 ms of the client's CPU per parse). */
const streamCalls = new Map<string, protoLoader.MethodDefinition<object, object>>();
function streamCallMethod(protoDir: string): protoLoader.MethodDefinition<object, object> {
  let m = streamCalls.get(protoDir);
  if (!m) {
    const def = protoLoader.loadSync('earshot/v1/earshot.proto', { keepCase: false, longs: Number, enums: String, defaults: false, oneofs: true, includeDirs: [protoDir] });
    m = (def['earshot.v1.Earshot'] as Record<string, protoLoader.MethodDefinition<object, object>>).StreamCall;
    streamCalls.set(protoDir, m);
  }
  return m;
}

/**
 * A raw HTTP/2 client's StreamCall request messages, each in gRPC's length-prefixed framing (a 0 compression flag,
 * the length, the body): what a client writes when it ignores grpc-js and its flow control.
 */
export function streamCallFramer(protoDir: string): (m: object) => Buffer {
  const method = streamCallMethod(protoDir);
  return (m) => {
    const body = method.requestSerialize(m);
    const b = Buffer.alloc(5 + body.length);
    b.writeUInt32BE(body.length, 1);
    body.copy(b, 5);
    return b;
  };
}

/** Does the attacks' one-off client-side work (parsing the gRPC proto) now, before the clock starts. */
export function preloadAttacks(a: AttackArgs): void {
  if (a.protoDir) streamCallMethod(a.protoDir);
}

/** A minimal native-protocol client: what it was sent, how it closed. */
class Client {
  readonly ws: WebSocket;
  readonly events: Record<string, unknown>[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('error', () => undefined);
    this.ws.on('message', (d, bin) => {
      if (!bin) {
        try {
          this.events.push(JSON.parse(String(d)));
        } catch {
          /* not ours to judge */
        }
      }
    });
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }
  opened(): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.OPEN) return resolve(true);
      this.ws.once('open', () => resolve(true));
      this.ws.once('close', () => resolve(false));
    });
  }
  send(o: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(o));
  }
  async start(callId: string): Promise<boolean> {
    if (!(await this.opened())) return false;
    this.send({ type: 'start', callId, callType: 'notification', audio: { encoding: 'pcm16', sampleRate: 16000 } });
    for (let i = 0; i < 500; i++) {
      if (this.events.some((e) => e.type === 'ready')) return true;
      if (this.events.some((e) => e.type === 'rejected' || e.type === 'error') || this.ws.readyState !== WebSocket.OPEN) return false;
      await sleep(10);
    }
    return false;
  }
  codes(): string[] {
    return this.events.filter((e) => e.type === 'error').map((e) => String(e.code));
  }
  closedWithin(ms: number): Promise<{ code: number; reason: string }> {
    return Promise.race([this.closed, sleep(ms).then(() => ({ code: 0, reason: 'still open' }))]);
  }
  socket(): Socket {
    return (this.ws as unknown as { _socket: Socket })._socket;
  }
}

/** Raw bytes on a new TCP connection; what came back before the server closed it (or `ms` passed). */
function raw(port: number, text: string | Buffer, ms = 3000): Promise<{ status: number; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const t = setTimeout(() => (s.destroy(), resolve({ status: status(got), closed: false })), ms);
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => (clearTimeout(t), resolve({ status: status(got), closed: true })));
    s.write(text);
  });
}
const status = (s: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(s)?.[1] ?? 0);

const upgrade = (path: string, token?: string) =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${token ? `Authorization: Bearer ${token}\r\n` : ''}\r\n`;

export const attacks: Record<string, Attack> = {
  /** Request targets a URL parser refuses, on upgrades and plain requests (item 1). */
  async badTargets(a) {
    const p = portOf(a);
    const out: number[] = [];
    for (const t of ['//', '///', '//@', 'http:']) out.push((await raw(p, upgrade(t))).status);
    out.push((await raw(p, 'GET // HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status);
    out.push((await fetch(`${httpOf(a)}/v1/prompts/%E0%A4%A`, { headers: auth(a) })).status);
    return { statuses: out };
  },

  /** No token, a wrong token, unknown paths and methods (item 9). */
  async unauthorized(a) {
    const h = httpOf(a);
    const wrong = { authorization: 'Bearer wrong' };
    const statuses: number[] = [];
    for (const [path, method] of [['/v1/calls', 'GET'], ['/metrics', 'GET'], ['/v1/dnc', 'POST'], ['/v1/prompts/x', 'PUT'], ['/no/such', 'GET'], ['/healthz', 'DELETE']] as const) {
      statuses.push((await fetch(`${h}${path}`, { method, headers: wrong })).status);
    }
    statuses.push((await raw(portOf(a), upgrade('/v1/stream'))).status);
    return { statuses };
  },

  /** Valid JSON that is not an object, where an object is expected (item 9). */
  async dncNull(a) {
    const statuses: number[] = [];
    for (const body of ['null', '[]', '"x"']) statuses.push((await fetch(`${httpOf(a)}/v1/dnc`, { method: 'POST', headers: { ...auth(a), 'content-type': 'application/json' }, body })).status);
    return { statuses };
  },

  /** A call sending audio as fast as it can (item 3). */
  async audioFlood(a, stopped) {
    const c = new Client(withToken(a.url, a));
    if (!(await c.start(a.callId ?? `flood-${Date.now()}`))) return { started: false, codes: c.codes() };
    const frame = encode('pcm16', new Int16Array(320));
    for (let i = 0; i < 30_000 && c.ws.readyState === WebSocket.OPEN && !stopped(); i++) {
      if (c.ws.bufferedAmount < 1 << 20) c.ws.send(frame);
      if (i % 50 === 49) await tick();
    }
    const closed = await c.closedWithin(5000);
    return { started: true, close: closed.code, codes: c.codes() };
  },

  /** A 4 MiB text frame, then two 2.5 MiB ones whose `type` the gateway echoes in its error (item 4). */
  async bigMessages(a) {
    const big = new Client(withToken(a.url, a));
    await big.opened();
    big.ws.send(JSON.stringify({ type: 'x'.repeat(4 * 1024 * 1024) }));
    const bigClose = (await big.closedWithin(10_000)).code;
    const echo = new Client(withToken(a.url, a));
    await echo.opened();
    const msg = JSON.stringify({ type: 'y'.repeat(2.5 * 1024 * 1024) });
    echo.ws.send(msg);
    echo.ws.send(msg);
    for (let i = 0; i < 250 && echo.codes().length < 2 && echo.ws.readyState === WebSocket.OPEN; i++) await sleep(20);
    // Refused from its header before any `start` (limits.maxStartMessageBytes), or answered with truncated echoes.
    const echoClose = echo.ws.readyState === WebSocket.OPEN ? 0 : (await echo.closedWithin(1000)).code;
    echo.ws.close();
    return { bigClose, echoClose, errors: echo.events.filter((e) => e.type === 'error').map((e) => ({ code: e.code, length: String(e.message).length })) };
  },

  /** 2.5 MiB messages back to back until the connection is closed (item 4). */
  async largeBackToBack(a) {
    const c = new Client(withToken(a.url, a));
    await c.opened();
    const msg = JSON.stringify({ type: 'q'.repeat(2.5 * 1024 * 1024) });
    let sent = 0;
    for (; sent < 40 && c.ws.readyState === WebSocket.OPEN; sent++) {
      c.ws.send(msg);
      await sleep(5);
    }
    const closed = await c.closedWithin(10_000);
    return { sent, close: closed.code, codes: c.codes() };
  },

  /** A started call, then thousands of tiny commands at once (item 4). */
  async manySmall(a) {
    const c = new Client(withToken(a.url, a));
    if (!(await c.start(a.callId ?? `small-${Date.now()}`))) return { started: false };
    for (let i = 0; i < 5000 && c.ws.readyState === WebSocket.OPEN; i++) c.send({ type: 'stop_prompt' });
    const closed = await c.closedWithin(10_000);
    return { started: true, close: closed.code, codes: c.codes() };
  },

  /** Sends junk (each answered with an error event) and reads nothing, until the gateway drops it (item 4). */
  async noReadFlood(a, stopped) {
    const c = new Client(withToken(a.url, a));
    if (a.callId) {
      if (!(await c.start(a.callId))) return { started: false };
    } else await c.opened();
    c.socket().pause();
    const junk = JSON.stringify({ type: 'z'.repeat(60) });
    let sent = 0;
    for (; sent < 300_000 && c.ws.readyState === WebSocket.OPEN && !stopped(); sent++) {
      c.ws.send(junk);
      if (sent % 500 === 499) await tick();
    }
    c.socket().resume();
    const closed = await c.closedWithin(10_000);
    return { sent, close: closed.code };
  },

  /** A subscriber that never reads a call's event stream, while the call makes many events (item 4). */
  async sseNoRead(a, stopped) {
    const callId = a.callId ?? `sse-${Date.now()}`;
    const c = new Client(withToken(a.url, a));
    if (!(await c.start(callId))) return { started: false };
    const sub = connect(portOf(a), '127.0.0.1');
    sub.on('error', () => undefined);
    await new Promise((res) => sub.once('connect', res));
    sub.write(`GET /v1/calls/${callId}/events HTTP/1.1\r\nHost: x\r\n${a.token ? `Authorization: Bearer ${a.token}\r\n` : ''}\r\n`);
    sub.pause();
    await sleep(100);
    const audio = Buffer.from(encode('pcm16', new Int16Array(320))).toString('base64');
    let pairs = 0;
    for (; pairs < 60_000 && !stopped() && c.ws.readyState === WebSocket.OPEN; pairs++) {
      c.send({ type: 'play', promptId: `p${pairs}`, audio });
      c.send({ type: 'stop_prompt' });
      // Slow enough for this client to keep reading its own events: only the subscriber is not reading.
      if (pairs % 50 === 49) await sleep(2);
    }
    c.send({ type: 'hangup' });
    // The client still has to read the backlog of its own events before the summary: on a loaded host (the test
    // suite's other files beside it) that took over the 3 s once allowed, so wait while its socket is open.
    for (let i = 0; i < 3000 && c.ws.readyState === WebSocket.OPEN && !c.events.some((e) => e.type === 'call_summary'); i++) await sleep(10);
    const summary = c.events.find((e) => e.type === 'call_summary');
    sub.destroy();
    c.ws.close();
    return { pairs, summaryReason: summary?.reason ?? null, codes: c.codes() };
  },

  /** A gRPC StreamCall from a raw HTTP/2 client that stops reading (no window updates) while errors pile up (item 4). */
  async grpcNoRead(a, stopped) {
    const frame = streamCallFramer(a.protoDir!);
    const session = h2connect(`http://127.0.0.1:${a.grpcPort}`, { settings: { initialWindowSize: 16 * 1024 } });
    session.on('error', () => undefined);
    const req = session.request({ [H2.HTTP2_HEADER_METHOD]: 'POST', [H2.HTTP2_HEADER_PATH]: '/earshot.v1.Earshot/StreamCall', 'content-type': 'application/grpc', te: 'trailers', ...auth(a) });
    req.on('error', () => undefined);
    let grpcStatus: number | null = null;
    req.on('trailers', (t) => (grpcStatus = Number(t['grpc-status'])));
    req.write(frame({ config: { callId: a.callId ?? `grpc-${Date.now()}`, audio: { encoding: 'pcm16', sampleRate: 16000 }, callType: 'notification' } }));
    await sleep(300);
    req.pause();
    const bad = frame({ play: { promptId: '' } });
    let sent = 0;
    for (; sent < 100_000 && !stopped() && !req.closed; sent++) {
      req.write(bad);
      if (sent % 200 === 199) await sleep(1);
    }
    req.resume();
    req.on('data', () => undefined);
    for (let i = 0; i < 500 && grpcStatus === null; i++) await sleep(10);
    session.destroy();
    return { sent, status: grpcStatus };
  },

  /** The hour of silence in a small FLAC, uploaded as a recorded prompt (item 5). */
  async hourFlac(a) {
    const t0 = performance.now();
    const r = await fetch(`${httpOf(a)}/v1/prompts/hour-${Date.now()}`, { method: 'PUT', headers: auth(a), body: new Uint8Array(readFileSync(a.uploadFile!)) });
    const body = (await r.json().catch(() => ({}))) as { error?: string };
    return { status: r.status, error: body.error, ms: Math.round(performance.now() - t0) };
  },

  /** A request body and a request's headers trickled in, a byte at a time (item 9). */
  async slowloris(a) {
    const p = portOf(a);
    const trickle = (first: string) =>
      new Promise<{ status: number; heldMs: number }>((resolve) => {
        const t0 = performance.now();
        const s = connect(p, '127.0.0.1');
        let got = '';
        s.on('data', (d) => (got += d.toString('latin1')));
        s.on('error', () => undefined);
        const timer = setInterval(() => s.writable && s.write('a'), 500);
        const cap = setTimeout(() => s.destroy(), 120_000);
        s.on('close', () => {
          clearInterval(timer);
          clearTimeout(cap);
          resolve({ status: status(got), heldMs: Math.round(performance.now() - t0) });
        });
        s.write(first);
      });
    const [body, headers] = await Promise.all([
      trickle(`PUT /v1/prompts/slow HTTP/1.1\r\nHost: x\r\n${a.token ? `Authorization: Bearer ${a.token}\r\n` : ''}Content-Length: 100000\r\n\r\n`),
      trickle('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: '),
    ]);
    return { body, headers };
  },

  /** Event streams waiting for calls that never come, more than the gateway allows (item 9). */
  async sseWaiters(a) {
    const controllers = Array.from({ length: 40 }, () => new AbortController());
    const statuses = await Promise.all(
      controllers.map((ac, i) =>
        fetch(`${httpOf(a)}/v1/calls/nobody-${Date.now()}-${i}/events?wait=3000`, { headers: auth(a), signal: ac.signal }).then(
          async (r) => (await r.arrayBuffer().catch(() => null), r.status),
          () => 0,
        ),
      ),
    );
    return { statuses };
  },

  /** Twilio: a stream with no credentials at all, and a 1 MiB message before `start` (item 8). */
  async twilioUnauthenticated(a) {
    const tw = a.url.replace('/v1/stream', '/v1/twilio');
    const one = (send: (ws: WebSocket) => void) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(tw);
        ws.on('error', () => undefined);
        ws.on('open', () => send(ws));
        ws.on('close', (code) => resolve(code));
        setTimeout(() => ws.terminate(), 15_000);
      });
    const unsigned = await one((ws) => ws.send(JSON.stringify({ event: 'start', streamSid: 'MZx', start: { callSid: `CA${Date.now()}`, customParameters: { callType: 'notification' } } })));
    const huge = await one((ws) => ws.send(JSON.stringify({ event: 'connected', junk: 'x'.repeat(1024 * 1024) })));
    return { unsigned, huge };
  },

  /** AudioSocket: garbage frames, a frame longer than its bytes, an unknown type (item 8). */
  async audiosocketJunk(a) {
    const one = (bytes: Buffer) =>
      new Promise<number>((resolve) => {
        const s = connect(a.audiosocketPort!, '127.0.0.1');
        let got = 0;
        s.on('data', (d) => (got += d.length));
        s.on('error', () => undefined);
        s.on('close', () => resolve(got));
        s.on('connect', () => s.write(bytes));
        setTimeout(() => s.destroy(), 12_000);
      });
    const results = await Promise.all([
      one(Buffer.from([0x42, 0x00, 0x01, 0x00])),
      one(Buffer.concat([Buffer.from([0x01, 0x00, 0x10]), Buffer.alloc(16, 7), Buffer.from([0x10, 0xff, 0xff]), Buffer.alloc(1000)])),
      one(Buffer.alloc(4096, 0xee)),
    ]);
    return { bytesBack: results };
  },
};

export async function runAttack(kind: string, args: AttackArgs, stopped: Stop = () => false): Promise<Record<string, unknown>> {
  const f = attacks[kind];
  if (!f) throw new Error(`unknown attack ${kind}`);
  return f(args, stopped);
}

type R = Record<string, any>;
const all = (xs: unknown, ok: (x: any) => boolean) => Array.isArray(xs) && xs.length > 0 && xs.every(ok);

/**
 * What each attack must get from a hardened gateway with an API token and default limits: a clear error or a
 * closed connection. Returns null when it did, else what it got instead.
 */
export function judge(kind: string, r: R): string | null {
  const checks: Record<string, () => boolean> = {
    badTargets: () => all(r.statuses, (s) => s === 400),
    unauthorized: () => all(r.statuses, (s) => s === 401),
    dncNull: () => all(r.statuses, (s) => s === 400),
    audioFlood: () => r.started && (r.codes as string[]).includes('audio_too_fast'),
    bigMessages: () => r.bigClose === 1009 && (r.echoClose === 1009 || all(r.errors, (e) => e.length < 200)),
    // Rate-limited after its burst (1008), or, before a `start`, refused from the first message's header (1009).
    largeBackToBack: () => r.close === 1008 || r.close === 1009,
    manySmall: () => r.close === 1008,
    noReadFlood: () => r.close === 1006 || r.close === 1008,
    // With the default message budget (the soak) the attacker's own call is ended as rate_limited before its
    // subscriber falls behind, sometimes before its summary reaches it: that too is a clear answer.
    sseNoRead: () => ['hangup', 'rate_limited', 'slow_consumer'].includes(r.summaryReason) || (Array.isArray(r.codes) && r.codes.includes('rate_limited')),
    grpcNoRead: () => r.status === 8,
    hourFlac: () => r.status === 400 && r.error === 'prompt_too_long',
    slowloris: () => [401, 408].includes(r.body.status) && r.headers.status === 408 && r.body.heldMs < 40_000 && r.headers.heldMs < 20_000,
    sseWaiters: () => all(r.statuses, (s) => s === 404 || s === 503),
    twilioUnauthenticated: () => r.unsigned === 4401 && r.huge === 1009,
    audiosocketJunk: () => Array.isArray(r.bytesBack) && r.bytesBack.length === 3,
  };
  const c = checks[kind];
  if (!c) return `no judge for ${kind}`;
  let ok = false;
  try {
    ok = c();
  } catch {
    ok = false;
  }
  return ok ? null : JSON.stringify(r).slice(0, 300);
}
