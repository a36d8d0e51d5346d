// Limits on what a client can hold (issue #13, item 9): a request or its headers trickled in are cut off, the
// connections on the port are capped, so are event streams waiting for calls that do not exist, calls have a
// maximum duration, maxCalls comes from the machine, and /readyz tells its detail only to authorised callers.
import { connect, type Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../gateway/config.js';
import type { Gateway } from '../gateway/Gateway.js';
import { besideNormalCall } from './helpers/bystander.js';
import { TestCall } from './helpers/client.js';
import { startGateway } from './helpers/gateway.js';
import { statusOf } from './helpers/raw.js';

const TOKEN = 'limits-token';
let g: { gw: Gateway; url: string; http: string };
let port: number;

beforeAll(async () => {
  g = await startGateway({ asr: { model: '' }, apiToken: TOKEN, limits: { requestTimeoutMs: 2000, headersTimeoutMs: 1500, maxPendingEventStreams: 3 } });
  port = Number(new URL(g.http).port);
});

afterAll(async () => {
  await g?.gw.stop(0);
});

const target = () => ({ url: `${g.url}?token=${TOKEN}`, http: g.http });

/** Opens a raw connection, writes `first`, then one byte every `everyMs`; resolves with what came back and when it closed. */
function trickle(first: string, everyMs: number): Promise<{ response: string; closedAfterMs: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s: Socket = connect(port, '127.0.0.1');
    let response = '';
    s.on('data', (d) => (response += d.toString('latin1')));
    s.on('error', () => undefined);
    const timer = setInterval(() => s.writable && s.write('a'), everyMs);
    s.on('close', () => {
      clearInterval(timer);
      resolve({ response, closedAfterMs: performance.now() - t0 });
    });
    s.write(first);
  });
}

describe('slow clients', () => {
  it('a body trickled in (unauthenticated) is answered 408 and closed at the request timeout, not held for minutes', async () => {
    const r = await besideNormalCall(target(), 'beside-trickle', () => trickle('PUT /v1/prompts/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n', 200));
    expect(r.closedAfterMs).toBeLessThan(2000 + 2500);
    // The request was refused at once (401: no token) or timed out (408); either way it was not held.
    expect([401, 408]).toContain(statusOf(r.response));
  }, 30_000);

  it('headers trickled in are cut off at the headers timeout', async () => {
    const r = await trickle('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ', 200);
    expect(r.closedAfterMs).toBeLessThan(1500 + 2500);
    expect(statusOf(r.response)).toBe(408);
  }, 30_000);
});

describe('connections and waiters', () => {
  it('past maxConnections new connections are closed at once; freed slots are usable again', async () => {
    const small = await startGateway({ asr: { model: '' }, limits: { maxConnections: 4 } });
    try {
      const p = Number(new URL(small.http).port);
      const held = await Promise.all(
        [0, 1, 2, 3].map(() => new Promise<Socket>((resolve) => {
          const s = connect(p, '127.0.0.1', () => resolve(s));
          s.on('error', () => undefined);
        })),
      );
      await new Promise((r) => setTimeout(r, 100));
      const refused = await fetch(`${small.http}/healthz`).then((r) => r.status, () => 0);
      expect(refused).toBe(0);
      for (const s of held) s.destroy();
      await new Promise((r) => setTimeout(r, 200));
      expect((await fetch(`${small.http}/healthz`)).status).toBe(200);
    } finally {
      await small.gw.stop(0);
    }
  });

  it('event streams waiting for calls that never start are capped (503), and the cap frees as they go', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const waiting = [0, 1, 2].map((i) => {
      const ac = new AbortController();
      const done = fetch(`${g.http}/v1/calls/nobody-${i}/events?wait=60000`, { headers: auth, signal: ac.signal }).catch(() => null);
      return { ac, done };
    });
    await new Promise((r) => setTimeout(r, 200));
    const extra = await fetch(`${g.http}/v1/calls/nobody-x/events?wait=60000`, { headers: auth });
    expect(extra.status).toBe(503);
    expect(((await extra.json()) as { error: string }).error).toBe('too_many_waiting');
    for (const w of waiting) w.ac.abort();
    await Promise.all(waiting.map((w) => w.done));
    await new Promise((r) => setTimeout(r, 200));
    const after = await fetch(`${g.http}/v1/calls/nobody-y/events?wait=100`, { headers: auth });
    expect(after.status).toBe(404); // waited, nobody came: no longer refused for capacity
  });
});

describe('calls', () => {
  it('a call longer than maxCallMs is ended with max_duration', async () => {
    const short = await startGateway({ asr: { model: '' }, limits: { maxCallMs: 1500 } });
    try {
      const c = new TestCall(short.url);
      expect((await c.start({ callId: 'too-long', encoding: 'pcm16', sampleRate: 16000 })).type).toBe('ready');
      const t0 = performance.now();
      const streaming = c.stream(new Int16Array(16000 * 5), 'pcm16', 16000, 1);
      const err = await c.waitFor((e) => e.type === 'error' && e.code === 'max_duration', 5000);
      expect(err.code).toBe('max_duration');
      expect(performance.now() - t0).toBeLessThan(1500 + 1500); // the sweep runs every second
      expect((await c.waitFor('call_summary')).reason).toBe('max_duration');
      await streaming;
    } finally {
      await short.gw.stop(0);
    }
  }, 15_000);

  it('maxCalls defaults from the core count (64 per core), and EARSHOT_MAX_CALLS overrides it', () => {
    expect(loadConfig({}, {}).limits.maxCalls).toBe(64 * availableParallelism());
    expect(loadConfig({ EARSHOT_MAX_CALLS: '37' }, {}).limits.maxCalls).toBe(37);
  });
});

describe('/readyz', () => {
  it('answers anyone with ready or not, and only authorised callers with the model detail', async () => {
    const anon = await fetch(`${g.http}/readyz`);
    expect(anon.status).toBe(200);
    expect(await anon.json()).toEqual({ ready: true });
    const full = (await (await fetch(`${g.http}/readyz`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { models: { id: string; source?: string }[] };
    expect(full.models.find((m) => m.id === 'silero-vad-v5')?.source).toBeTruthy();
  });
});
