// Property-based fuzzing of every listener's parser (issue #13): the native WebSocket protocol, Twilio Media
// Streams, Vonage, AudioSocket frames, gRPC messages (decoded and raw), and the HTTP routes with their bodies.
// Each target gets generated input, mostly near-valid (the messages' own shapes with wrong, missing, huge or
// hostile field values) plus raw garbage, and must answer every connection with a clear error or a close:
//   - no crash: an exception out of a handler fails the run (vitest reports it), and so does any internal error a
//     handler caught (`internal` errors counted, HTTP 500s);
//   - no hang: every run must finish within RUN_TIMEOUT_MS, and /healthz must answer after each target;
//   - no unbounded growth: after each target no call, waiter or registration is left behind, and RSS stays bounded.
// Time per target: FUZZ_MS (default 1500 ms, ~12 s for the file in `npm test`); `npm run fuzz` runs a minute each.
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { connect as h2connect, constants as H2 } from 'node:http2';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/Gateway.js';
import { registry } from '../gateway/ops/metrics.js';
import { loadProtos } from '../gateway/wires/grpc.js';
import { wirePorts } from '../gateway/wires/index.js';
import { CALLING_HOURS, startGateway } from './helpers/gateway.js';

const FUZZ_MS = Number(process.env.FUZZ_MS ?? 1500);
const RUN_TIMEOUT_MS = 5000;
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const TOKEN = 'fuzz-token';

let gw: Gateway;
let wsUrl: string;
let http: string;
let port: number;

beforeAll(async () => {
  // Short start/idle timeouts, so that what a run leaves open is cleaned up by the gateway itself in good time.
  ({ gw, url: wsUrl, http } = await startGateway({
    asr: { model: '' },
    apiToken: TOKEN,
    policy: { clock: CALLING_HOURS },
    limits: { startTimeoutMs: 1000, idleTimeoutMs: 2000, maxMessageBytes: 256 * 1024 },
  }));
  port = Number(new URL(http).port);
});

afterAll(async () => {
  await gw?.stop(0);
});

async function counter(name: string, label: string, value: string): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return m?.values.filter((v) => v.labels[label] === value).reduce((a, v) => a + v.value, 0) ?? 0;
}

const internalErrors = async () => (await counter('earshot_call_errors_total', 'code', 'internal')) + (await counter('earshot_call_errors_total', 'code', 'grpc_INTERNAL'));

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`hang: ${what} did not finish in ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS))]);
}

/** Runs `prop` for FUZZ_MS, then checks the gateway is healthy, holds nothing, and caught no internal error. */
async function fuzz<T>(name: string, arb: fc.Arbitrary<T>, run: (input: T) => Promise<void>): Promise<void> {
  const internal0 = await internalErrors();
  const rss0 = process.memoryUsage().rss;
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(arb, async (input) => {
      runs++;
      await withTimeout(run(input), name);
    }),
    { numRuns: 1_000_000, seed: SEED, plugins: [fc.interruptAfterTimeLimit(FUZZ_MS)], endOnFailure: true },
  );
  process.stdout.write(`[fuzz] ${name}: ${runs} runs in ${FUZZ_MS} ms\n`);
  expect(runs).toBeGreaterThan(0);
  // Whatever the runs opened is gone once the gateway's own timeouts have run.
  for (let i = 0; i < 400 && gw.calls.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect([...gw.calls.keys()], 'calls left behind').toEqual([]);
  expect((await withTimeout(fetch(`${http}/healthz`), 'healthz')).status).toBe(200);
  expect(await internalErrors(), 'internal errors caught by handlers').toBe(internal0);
  expect(process.memoryUsage().rss - rss0, 'RSS growth').toBeLessThan(300 * 1024 * 1024);
}

// --- generators -----------------------------------------------------------------------------------------------

/** Strings that have broken parsers before: empty, huge, control characters, percent garbage, path tricks. */
/** encodeURIComponent, except that a lone surrogate (which it throws on) is replaced first. */
const encode = (s: string) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '\ufffd'));

const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', ' ', '\u0000', '\uffff', '\ud800', '//', '%E0%A4%A', '../../etc/passwd', '__proto__', 'constructor', 'NaN', '-1', '1e309', '0x10'),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.nat({ max: 5000 }).map((n) => 'x'.repeat(n)),
);
const anyJson = fc.jsonValue({ maxDepth: 3 });
const value = fc.oneof(nasty, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), anyJson);
const bytes = fc.uint8Array({ maxLength: 2048 });
const callId = fc.oneof(fc.stringMatching(/^[\w.:@-]{1,20}$/), nasty);

/** A native protocol message: a valid shape with some fields replaced, or anything at all. */
const nativeMessage = fc.oneof(
  fc.record({
    type: fc.constant('start'),
    callId,
    language: fc.oneof(fc.constantFrom('zh', 'en'), value),
    callType: fc.oneof(fc.constantFrom('marketing', 'notification'), value),
    audio: fc.oneof(fc.record({ encoding: fc.oneof(fc.constantFrom('pcm16', 'mulaw', 'alaw'), value), sampleRate: fc.oneof(fc.constantFrom(8000, 16000), value) }), value),
    callee: fc.oneof(fc.constantFrom('+8613800138000', '13800138000'), value),
    timeZone: fc.oneof(fc.constantFrom('Asia/Shanghai', 'Mars/Olympus'), value),
    bargeIn: fc.oneof(fc.dictionary(fc.constantFrom('pauseThreshold', 'commitMinSpeechMs', 'x'), value), value),
  }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constantFrom('play', 'say', 'expect_consent', 'dtmf', 'stop_prompt', 'hangup'), promptId: value, audio: fc.oneof(bytes.map((b) => Buffer.from(b).toString('base64')), value), text: value, interruptible: value, voice: value, slots: fc.oneof(fc.dictionary(nasty, value), value), windowMs: value, digit: value }, { requiredKeys: ['type'] }),
  fc.record({ type: value }),
  anyJson,
);
const wsFrame = fc.oneof(
  nativeMessage.map((m) => ({ text: JSON.stringify(m) })),
  nasty.map((t) => ({ text: t })),
  bytes.map((b) => ({ binary: b })),
);

async function wsSession(path: string, frames: ({ text: string } | { binary: Uint8Array })[], query = `?token=${TOKEN}`): Promise<void> {
  const ws = new WebSocket(`${wsUrl.replace('/v1/stream', path)}${query}`);
  const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
  ws.on('error', () => undefined);
  ws.on('message', () => undefined);
  await new Promise<void>((resolve) => {
    ws.once('open', () => resolve());
    ws.once('close', () => resolve());
  });
  for (const f of frames) {
    if (ws.readyState !== WebSocket.OPEN) break;
    if ('text' in f) ws.send(f.text);
    else ws.send(f.binary, { binary: true });
  }
  // The gateway has handled everything sent once it answers a ping sent after it (or it closed the socket).
  if (ws.readyState === WebSocket.OPEN) {
    await new Promise<void>((resolve) => {
      ws.once('pong', () => resolve());
      ws.once('close', () => resolve());
      ws.ping();
    });
    ws.close();
  }
  await closed;
}

// --- targets ----------------------------------------------------------------------------------------------------

describe('fuzz', () => {
  it('native WebSocket protocol', async () => {
    await fuzz('native', fc.array(wsFrame, { maxLength: 12 }), (frames) => wsSession('/v1/stream', frames));
  }, FUZZ_MS + 60_000);

  it('Twilio Media Streams', async () => {
    const event = fc.oneof(
      fc.record({
        event: fc.constant('start'),
        sequenceNumber: value,
        streamSid: fc.oneof(fc.constant('MZfuzz'), value),
        start: fc.oneof(fc.record({ callSid: fc.oneof(callId, value), accountSid: value, tracks: value, customParameters: fc.oneof(fc.dictionary(fc.constantFrom('token', 'callId', 'callType', 'callee', 'language', 'script', 'x'), fc.oneof(fc.constant(TOKEN), fc.constant('notification'), nasty)), value), mediaFormat: fc.oneof(fc.record({ encoding: fc.oneof(fc.constant('audio/x-mulaw'), value), sampleRate: fc.oneof(fc.constant(8000), value) }), value) }, { requiredKeys: [] }), value),
      }, { requiredKeys: ['event'] }),
      fc.record({ event: fc.constantFrom('media', 'mark', 'dtmf', 'stop', 'connected', 'clear'), streamSid: fc.oneof(fc.constant('MZfuzz'), value), sequenceNumber: value, media: fc.oneof(fc.record({ track: value, payload: fc.oneof(bytes.map((b) => Buffer.from(b).toString('base64')), value), chunk: value, timestamp: value }), value), mark: fc.oneof(fc.record({ name: fc.oneof(fc.constant('es|100|e|p'), nasty) }), value), dtmf: fc.oneof(fc.record({ digit: value }), value) }, { requiredKeys: ['event'] }),
      anyJson,
    );
    const frame = fc.oneof(event.map((e) => ({ text: JSON.stringify(e) })), nasty.map((t) => ({ text: t })), bytes.map((b) => ({ binary: b })));
    await fuzz('twilio', fc.array(frame, { maxLength: 12 }), (frames) => wsSession('/v1/twilio', frames, ''));
  }, FUZZ_MS + 60_000);

  it('Vonage', async () => {
    const meta = fc.record({
      event: fc.oneof(fc.constantFrom('websocket:connected', 'websocket:notify', 'websocket:dtmf'), value),
      'content-type': fc.oneof(fc.constantFrom('audio/l16;rate=16000', 'audio/l16;rate=8000', 'audio/l16;rate=44100'), value),
      callId: fc.oneof(callId, value),
      callType: fc.oneof(fc.constant('notification'), value),
      payload: value,
      digit: value,
    }, { requiredKeys: ['event'] });
    const frame = fc.oneof(meta.map((m) => ({ text: JSON.stringify(m) })), nasty.map((t) => ({ text: t })), bytes.map((b) => ({ binary: b })), fc.nat({ max: 400 }).map((n) => ({ binary: new Uint8Array(n * 2) })));
    await fuzz('vonage', fc.array(frame, { maxLength: 12 }), (frames) => wsSession('/v1/vonage', frames));
  }, FUZZ_MS + 60_000);

  it('AudioSocket frames, split at any byte', async () => {
    const asFrame = fc.oneof(
      fc.record({ type: fc.constantFrom(0x00, 0x01, 0x03, 0x10, 0x11, 0x12, 0x13, 0x16, 0xff), payload: bytes }).map(({ type, payload }) => {
        const b = Buffer.alloc(3 + payload.length);
        b[0] = type;
        b.writeUInt16BE(payload.length, 1);
        b.set(payload, 3);
        return b;
      }),
      fc.record({ type: fc.integer({ min: 0, max: 255 }), len: fc.integer({ min: 0, max: 65535 }), payload: bytes }).map(({ type, len, payload }) => Buffer.concat([Buffer.from([type, len >> 8, len & 255]), Buffer.from(payload)])),
      bytes.map((b) => Buffer.from(b)),
    );
    const session = fc.record({ frames: fc.array(asFrame, { maxLength: 10 }), cuts: fc.array(fc.nat(), { maxLength: 6 }) });
    await fuzz('audiosocket', session, async ({ frames, cuts }) => {
      const all = Buffer.concat(frames);
      const points = [...new Set(cuts.map((c) => (all.length ? c % all.length : 0)))].sort((a, b) => a - b);
      const s: Socket = connect(wirePorts(gw).audiosocket!, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('data', () => undefined);
      const closed = new Promise<void>((resolve) => s.on('close', () => resolve()));
      await new Promise<void>((resolve) => {
        s.once('connect', () => resolve());
        s.once('close', () => resolve());
      });
      let at = 0;
      for (const p of [...points, all.length]) {
        if (s.destroyed) break;
        s.write(all.subarray(at, p));
        at = p;
        await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setTimeout(r, 5));
      s.end();
      await closed;
    });
  }, FUZZ_MS + 60_000);

  it('gRPC StreamCall messages, decoded and as raw bytes', async () => {
    const { earshot } = loadProtos();
    const client = new (earshot.Earshot as grpc.ServiceClientConstructor)(`127.0.0.1:${wirePorts(gw).grpc}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      StreamCall(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, unknown>;
    };
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${TOKEN}`);
    const str = fc.oneof(nasty, fc.constantFrom('pcm16', 'mulaw', 'zh', 'notification'));
    const num = fc.oneof(fc.constantFrom(8000, 16000, 0), fc.integer({ min: -1e6, max: 1e6 }));
    const req = fc.oneof(
      fc.record({ config: fc.record({ callId: callId.filter((s) => typeof s === 'string'), language: str, callType: str, audio: fc.record({ encoding: str, sampleRate: num }), callee: str, timeZone: str, script: str, bargeIn: fc.dictionary(fc.constantFrom('pauseThreshold', 'pauseMinSpeechMs', 'commitMinSpeechMs', 'resumeAfterSilenceMs'), fc.double({ min: -10, max: 5000, noNaN: true })) }, { requiredKeys: [] }) }),
      fc.record({ audio: bytes.map((b) => Buffer.from(b)) }),
      fc.record({ play: fc.record({ promptId: str, audio: bytes.map((b) => Buffer.from(b)), interruptible: fc.boolean() }, { requiredKeys: [] }) }),
      fc.record({ say: fc.record({ promptId: str, text: str, voice: str }, { requiredKeys: [] }) }),
      fc.record({ expectConsent: fc.record({ promptId: str, windowMs: num }, { requiredKeys: [] }) }),
      fc.record({ dtmf: fc.record({ digit: str }, { requiredKeys: [] }) }),
      fc.constantFrom({ stopPrompt: {} }, { hangup: {} }, {}),
    );
    await fuzz('grpc', fc.array(req, { maxLength: 10 }), async (reqs) => {
      const stream = client.StreamCall(md);
      const done = new Promise<void>((resolve) => {
        stream.on('status', () => resolve());
        stream.on('error', () => resolve());
      });
      stream.on('data', () => undefined);
      for (const r of reqs) stream.write(r);
      stream.end();
      await done;
    });
    // Raw HTTP/2 DATA that is not a valid message (bad length prefixes, garbage protobuf): a status, never a crash.
    const session = h2connect(`http://127.0.0.1:${wirePorts(gw).grpc}`);
    session.on('error', () => undefined);
    await fuzz('grpc-raw', fc.array(bytes, { minLength: 1, maxLength: 4 }), async (chunks) => {
      const r = session.request({ [H2.HTTP2_HEADER_METHOD]: 'POST', [H2.HTTP2_HEADER_PATH]: '/earshot.v1.Earshot/StreamCall', 'content-type': 'application/grpc', te: 'trailers', authorization: `Bearer ${TOKEN}` });
      r.on('error', () => undefined);
      r.on('data', () => undefined);
      const ended = new Promise<void>((resolve) => r.on('close', () => resolve()));
      for (const c of chunks) r.write(c);
      r.end();
      await ended;
    });
    session.destroy();
    client.close();
  }, 2 * FUZZ_MS + 60_000);

  it('HTTP routes and bodies', async () => {
    const segment = fc.oneof(fc.stringMatching(/^[\w.:@-]{1,12}$/), nasty.map(encode), fc.constantFrom('%E0%A4%A', '%', '%zz', '..', ''));
    const path = fc.oneof(
      fc.tuple(fc.constantFrom('/v1/calls/:id/play', '/v1/calls/:id/say', '/v1/calls/:id/hangup', '/v1/calls/:id/dtmf', '/v1/calls/:id/expect_consent', '/v1/calls/:id/stop_prompt', '/v1/calls/:id/events', '/v1/calls/:id/record', '/v1/calls/:id/evidence', '/v1/prompts/:id', '/v1/prompts', '/v1/dnc', '/v1/dnc/:id', '/v1/records', '/v1/evidence/:id', '/v1/evidence/:id/audio', '/v1/audiosocket/calls', '/v1/calls', '/healthz', '/readyz', '/metrics'), segment).map(([p, s]) => p.replace(':id', s)),
      fc.array(segment, { maxLength: 5 }).map((xs) => `/${xs.join('/')}`),
      fc.constantFrom('//', '///x', '/v1//calls', '/?', '/%'),
    );
    const query = fc.oneof(fc.constant(''), fc.constantFrom('?wait=100', '?wait=-1', '?wait=1e9', '?limit=NaN&offset=-5', '?loudness=off', '?loudness=1000', '?callee=%00'), nasty.map((s) => `?${encode(s)}=${encode(s)}`));
    const body = fc.oneof(fc.constant(undefined), anyJson.map((j) => JSON.stringify(j)), nativeMessage.map((m) => JSON.stringify(m)), nasty, bytes.map((b) => Buffer.from(b)));
    const request = fc.record({ method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'), path, query, body, auth: fc.boolean() });
    await fuzz('http', request, async (r) => {
      const headers: Record<string, string> = r.auth ? { authorization: `Bearer ${TOKEN}` } : {};
      const hasBody = r.body !== undefined && r.method !== 'GET';
      const res = await fetch(`${http}${r.path}${r.query}`, { method: r.method, headers, body: hasBody ? (r.body as string | Uint8Array) as BodyInit : undefined, signal: AbortSignal.timeout(RUN_TIMEOUT_MS - 500) });
      // An event stream for a live call would stay open: reading a few bytes of it is enough.
      if (res.headers.get('content-type')?.startsWith('text/event-stream')) await res.body?.cancel();
      else await res.arrayBuffer();
      expect(res.status, `${r.method} ${r.path}${r.query}`).not.toBe(500);
      expect(res.status).toBeGreaterThanOrEqual(200);
      expect(res.status).toBeLessThan(600);
      if (!r.auth && !['/healthz', '/readyz'].includes(r.path)) expect(res.status, `${r.method} ${r.path} without a token`).toBeGreaterThanOrEqual(400);
    });
  }, FUZZ_MS + 60_000);
});
