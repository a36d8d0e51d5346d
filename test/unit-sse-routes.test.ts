// The event-stream routes (control/callEvents.ts, control/allEvents.ts) over real HTTP, without models or audio:
// a router, a call registry and an event log as the gateway wires them, and stand-in calls whose events the test
// emits. Framing and ids, resume and gaps, the refusal announced to a waiting stream, filters, bad input, the cap.
// (test/event-streams.test.ts does the same around real calls on a real gateway.)
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallRegistry } from '../gateway/call/CallRegistry.js';
import { EventLog } from '../gateway/call/EventLog.js';
import type { CallEvent } from '../gateway/call/events.js';
import { loadConfig } from '../gateway/config.js';
import { registerControlApi } from '../gateway/control/routes.js';
import { HttpError, Router, sendJson } from '../gateway/ops/http.js';
import { rootLogger } from '../gateway/ops/log.js';

const config = loadConfig({}, { events: { maxStreams: 2, replayPerCall: 16 } });
const calls = new CallRegistry(10);
const events = new EventLog(config.events).record(calls);
const router = new Router();
let server: Server;
let base: string;

/** A stand-in call: registered like a real one; the test emits its events. */
class FakeCall {
  isEnded = false;
  private observers: ((ev: CallEvent) => void)[] = [];
  constructor(readonly id: string) {
    calls.register(this as never);
  }
  observe(fn: (ev: CallEvent) => void) {
    this.observers.push(fn);
    return () => undefined;
  }
  emit(ev: CallEvent) {
    for (const o of this.observers) o(ev);
  }
  prompt(promptId: string, t: number) {
    this.emit({ type: 'prompt_started', promptId, t });
  }
  end() {
    this.emit({ type: 'call_summary', callId: this.id, reason: 'hangup', t: 100, inboundMs: 100, wallMs: 100, echo: { locked: false, delayMs: null }, prompts: [], bargeIns: [], pausesResumed: 0, inboundFrameMs: { p50: null, p95: null, max: null, n: 0 }, vadFrameMs: { p50: null, p95: null, max: null, n: 0 }, firstAudioMs: { p50: null, p95: null, n: 0 } });
    this.isEnded = true;
    calls.unregister(this as never);
  }
}

interface Msg { id?: string; event: string; data: any }

/** Reads a stream until `count` messages (or its end); then drops it. */
async function read(path: string, opts: { headers?: Record<string, string>; count?: number; during?: () => void } = {}): Promise<{ status: number; messages: Msg[]; raw: string }> {
  const ac = new AbortController();
  const res = await fetch(`${base}${path}`, { headers: opts.headers, signal: ac.signal });
  if (res.status !== 200) return { status: res.status, messages: [{ event: 'http', data: await res.json() }], raw: '' };
  opts.during?.();
  const reader = res.body!.getReader();
  let raw = '';
  const messages: Msg[] = [];
  while (messages.length < (opts.count ?? Infinity)) {
    const { value, done } = await reader.read();
    if (done) break;
    raw += new TextDecoder().decode(value);
    messages.length = 0;
    for (const block of raw.split('\n\n').slice(0, -1)) {
      const f = (k: string) => [...block.matchAll(/^(\w+): ?(.*)$/gm)].find((m) => m[1] === k)?.[2];
      if (f('data') !== undefined) messages.push({ id: f('id'), event: f('event')!, data: JSON.parse(f('data')!) });
    }
  }
  ac.abort();
  return { status: 200, messages: messages.slice(0, opts.count), raw };
}

beforeAll(async () => {
  registerControlApi({ config, log: rootLogger, router, calls, events } as never);
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const m = router.match(req.method!, url.pathname);
    if (!m || m === 'method') return sendJson(res, 404, { error: 'not_found' });
    Promise.resolve()
      .then(() => m.route.handler(req, res, m.params, url))
      .catch((e) => (e instanceof HttpError ? sendJson(res, e.status, { error: e.code, message: e.message }) : sendJson(res, 500, { error: String(e) })));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe('a call’s event stream', () => {
  it('carries ids, resumes after a drop with Last-Event-ID, and after the call ended with ?lastEventId=', async () => {
    const call = new FakeCall('u-1');
    call.prompt('a', 10);
    const first = await read('/v1/calls/u-1/events', { count: 2, during: () => call.prompt('b', 20) });
    expect(first.messages.map((m) => m.event)).toEqual(['ready', 'prompt_started']);
    expect(first.messages[1].data).toEqual({ type: 'prompt_started', promptId: 'b', t: 20 });
    expect(first.raw).toMatch(/^id: [0-9a-z]+-\d+\nevent: ready\ndata: /m);
    call.prompt('c', 30); // missed while disconnected
    const resumed = read('/v1/calls/u-1/events', { headers: { 'last-event-id': first.messages[1].id! }, during: () => call.end() });
    const r = await resumed;
    expect(r.messages.map((m) => m.data.promptId ?? m.event)).toEqual(['c', 'call_summary']);
    // After `ready`: `a` too, played before the first stream opened (a fresh stream starts at `ready`, then live).
    const late = await read(`/v1/calls/u-1/events?lastEventId=${first.messages[0].id}`);
    expect(late.messages.map((m) => m.data.promptId ?? m.event)).toEqual(['a', 'b', 'c', 'call_summary']);
    // Resuming after the call's last event: nothing more, and the stream ends at once.
    const none = await read('/v1/calls/u-1/events', { headers: { 'last-event-id': late.messages.at(-1)!.id! } });
    expect(none).toMatchObject({ status: 200, messages: [] });
    expect((await read('/v1/calls/u-1/events')).status).toBe(404); // ended, no resume point: as before
  });

  it('says so with a gap when the resume point was evicted or is from another process', async () => {
    const call = new FakeCall('u-gap');
    const ready = await read('/v1/calls/u-gap/events', { count: 1 });
    for (let i = 0; i < 20; i++) call.prompt(`p${i}`, i);
    const r = await read('/v1/calls/u-gap/events', { headers: { 'last-event-id': ready.messages[0].id! }, count: 17 });
    expect(r.messages[0]).toMatchObject({ event: 'gap', id: undefined, data: { lastEventId: ready.messages[0].id } });
    expect(r.messages.slice(1).map((m) => m.data.promptId)).toEqual(Array.from({ length: 16 }, (_, i) => `p${i + 4}`));
    expect(r.messages[0].data.oldestId).toBe(r.messages[1].id);
    const foreign = await read('/v1/calls/u-gap/events', { headers: { 'last-event-id': 'zz-1' }, count: 1 });
    expect(foreign.messages[0].event).toBe('gap');
    expect((await read('/v1/calls/u-gap/events', { headers: { 'last-event-id': 'nonsense' } })).messages[0].data.error).toBe('invalid_last_event_id');
    call.end();
  });

  it('a stream waiting for its call gets the refusal with its id', async () => {
    // A waiting stream's headers go out when its call starts or is refused: the refusal comes while fetch waits.
    setTimeout(() => calls.announceRejected('u-refused', 'do_not_call'), 100);
    const r = await read('/v1/calls/u-refused/events?wait=5000');
    expect(r.messages).toEqual([{ id: expect.stringMatching(/^[0-9a-z]+-\d+$/), event: 'rejected', data: { type: 'rejected', callId: 'u-refused', reason: 'do_not_call', t: 0 } }]);
    setTimeout(() => new FakeCall('u-later').prompt('x', 5), 100);
    const waiting = await read('/v1/calls/u-later/events?wait=5000', { count: 2 });
    expect(waiting.messages.map((m) => m.event)).toEqual(['ready', 'prompt_started']);
    (calls.get('u-later') as unknown as FakeCall).end();
  });
});

describe('the stream of every call', () => {
  it('carries every call’s events as {callId, event}, filtered by type and call, and resumes', async () => {
    const [a, b] = [new FakeCall('all-a'), new FakeCall('all-b')];
    const every = read('/v1/events', { count: 4, during: () => setTimeout(() => (a.prompt('pa', 1), b.prompt('pb', 2), a.end(), b.end()), 20) });
    const only = read('/v1/events?type=call_summary,prompt_started&callId=all-b', { count: 2 });
    const e = await every;
    expect(e.messages.map((m) => `${m.data.callId}:${m.event}`)).toEqual(['all-a:prompt_started', 'all-b:prompt_started', 'all-a:call_summary', 'all-b:call_summary']);
    expect(e.messages[0].data).toEqual({ callId: 'all-a', event: { type: 'prompt_started', promptId: 'pa', t: 1 } });
    expect((await only).messages.map((m) => `${m.data.callId}:${m.event}`)).toEqual(['all-b:prompt_started', 'all-b:call_summary']);
    await new Promise((r) => setTimeout(r, 100)); // the two streams above are closed (events.maxStreams is 2 here)
    const again = await read('/v1/events?callId=all-a,all-b', { headers: { 'last-event-id': e.messages[0].id! }, count: 3 });
    expect(again.status).toBe(200);
    expect(again.messages.map((m) => m.id)).toEqual(e.messages.slice(1).map((m) => m.id));
  });

  it('refuses unknown types, malformed ids and streams past the cap', async () => {
    expect((await read('/v1/events?type=nope')).status).toBe(400);
    expect((await read('/v1/events', { headers: { 'last-event-id': '1' } })).status).toBe(400);
    const held = [fetch(`${base}/v1/events`), fetch(`${base}/v1/events`)];
    const open = await Promise.all(held);
    expect(open.map((r) => r.status)).toEqual([200, 200]);
    const extra = await fetch(`${base}/v1/events`);
    expect(extra.status).toBe(503);
    expect(extra.headers.get('retry-after')).toBe('5');
    await open[0].body!.cancel();
    await new Promise((r) => setTimeout(r, 100));
    const next = await fetch(`${base}/v1/events`);
    expect(next.status).toBe(200);
    await Promise.all([open[1].body!.cancel(), next.body!.cancel()]);
  });
});
