// Event ids and resumable streams on a real gateway (token set, no recogniser): a real barge-in call from
// ../shared/audio at real time, its per-call stream dropped after `prompt_started` and resumed with Last-Event-ID
// (during the call and after it ended), GET /v1/events following every call with filters, a refused call on it, its
// resume, and the bounds and errors (bad ids, ids from another process, unknown types, the stream cap, the token).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/Gateway.js';
import { TestCall } from './helpers/client.js';
import { startGateway } from './helpers/gateway.js';
import { bargeInCall, scenario, type Event } from './helpers/realCall.js';

const TOKEN = 'event-streams-token';
let gw: Gateway;
let http: string;
let url: string;

interface Message {
  id?: string;
  event: string;
  data: any;
}

/** An SSE stream read message by message; `close()` drops the connection as a crashing client would. */
class Stream {
  readonly messages: Message[] = [];
  status = 0;
  private readonly ac = new AbortController();
  readonly done: Promise<void>;
  private waiters: (() => void)[] = [];

  constructor(path: string, headers: Record<string, string> = {}) {
    this.done = (async () => {
      const res = await fetch(`${http}${path}`, { headers: { authorization: `Bearer ${TOKEN}`, ...headers }, signal: this.ac.signal });
      this.status = res.status;
      if (res.status !== 200) return void (this.messages.push({ event: 'http', data: await res.json() }), this.wake());
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const field = (name: string) => [...block.matchAll(/^(\w+): ?(.*)$/gm)].find((m) => m[1] === name)?.[2];
          const data = field('data');
          if (data === undefined) continue; // a comment
          this.messages.push({ id: field('id'), event: field('event') ?? 'message', data: JSON.parse(data) });
          this.wake();
        }
      }
      this.wake();
    })();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once a message matches (or the stream ended without one: then it throws). */
  async until(pred: (m: Message) => boolean, timeoutMs = 15_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    let ended = false;
    void this.done.then(() => (ended = true));
    for (;;) {
      const m = this.messages.find(pred);
      if (m) return m;
      if (ended || Date.now() > deadline) throw new Error(`no such message; got ${this.messages.map((x) => x.event).join(',')}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  close(): void {
    this.ac.abort();
  }
}

const stream = (path: string, headers?: Record<string, string>) => new Stream(path, headers);

beforeAll(async () => {
  ({ gw, http, url } = await startGateway({ apiToken: TOKEN, asr: { model: '' }, events: { maxStreams: 3 } }));
  url = `${url}?token=${TOKEN}`;
}, 60_000);

afterAll(async () => {
  await gw?.stop(0);
});

describe('event streams', () => {
  it('a dropped call stream resumes with Last-Event-ID, during the call and after it ended, missing nothing', async () => {
    const all = stream('/v1/events');
    const filtered = stream('/v1/events?type=barge_in,call_summary&type=rejected&callId=ev-bargein,ev-refused');
    const first = stream('/v1/calls/ev-bargein/events?wait=10000');
    await new Promise((r) => setTimeout(r, 100));
    const call = bargeInCall(url, 'ev-bargein', scenario('bargein/s01_caller.wav'));
    const started = await first.until((m) => m.event === 'prompt_started');
    first.close(); // the subscriber crashes after prompt_started
    await first.done;
    const seen = first.messages.slice(0, first.messages.indexOf(started) + 1);
    expect(seen[0]).toMatchObject({ event: 'ready', data: { type: 'ready', callId: 'ev-bargein' } });
    expect(seen.every((m) => m.id && m.id.includes('-'))).toBe(true);

    // Back while the call goes on: what it missed, then live events to the summary, and no event twice.
    await new Promise((r) => setTimeout(r, 300));
    const resumed = stream('/v1/calls/ev-bargein/events', { 'last-event-id': started.id! });
    const c: TestCall = await call;
    await resumed.done;
    const wire: Event[] = c.rx.events;
    const got = [...seen, ...resumed.messages];
    const plain = ({ at: _at, ...e }: Event) => e;
    expect(got.slice(1).map((m) => m.data)).toEqual(wire.filter((e) => e.type !== 'ready').map(plain));
    expect(resumed.messages.map((m) => m.event)).toContain('barge_in');
    expect(resumed.messages.at(-1)!.event).toBe('call_summary');
    const ids = got.map((m) => Number(m.id!.split('-')[1]));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);

    // The call has ended: a dialer that comes back later still gets the rest (here: from prompt_started on).
    const late = stream(`/v1/calls/ev-bargein/events?lastEventId=${encodeURIComponent(started.id!)}`);
    await late.done;
    expect(late.messages.map((m) => m.data)).toEqual(resumed.messages.map((m) => m.data));
    // Resuming after the last event: nothing more, the stream ends at once.
    const none = stream('/v1/calls/ev-bargein/events', { 'last-event-id': resumed.messages.at(-1)!.id! });
    await none.done;
    expect(none.messages).toEqual([]);

    // A refused start is on the stream of every call too.
    const callee = '+8613900002222';
    const dnc = await fetch(`${http}/v1/dnc`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ number: callee, reason: 'test' }) });
    expect(dnc.status).toBe(201);
    const d = new TestCall(url);
    expect(await d.start({ callId: 'ev-refused', encoding: 'pcm16', sampleRate: 16000, callType: 'marketing', callee })).toMatchObject({ type: 'rejected', reason: 'do_not_call' });

    // GET /v1/events saw all of it, as {callId, event}; the filtered stream only what it asked for.
    await all.until((m) => m.data.callId === 'ev-refused');
    await filtered.until((m) => m.data.callId === 'ev-refused');
    const ofCall = all.messages.filter((m) => m.data.callId === 'ev-bargein');
    expect(ofCall.map((m) => m.data.event)).toEqual(got.map((m) => m.data));
    expect(ofCall.map((m) => m.id)).toEqual(got.map((m) => m.id));
    expect(all.messages.every((m) => m.event === m.data.event.type)).toBe(true);
    expect(filtered.messages.map((m) => `${m.data.callId}:${m.event}`)).toEqual([
      ...wire.filter((e) => e.type === 'barge_in').map(() => 'ev-bargein:barge_in'),
      'ev-bargein:call_summary',
      'ev-refused:rejected',
    ]);

    // /v1/events resumed after its first message: the same messages that followed it.
    const again = stream('/v1/events', { 'last-event-id': all.messages[0].id! });
    await again.until((m) => m.data.callId === 'ev-refused');
    expect(again.messages.map((m) => m.id)).toEqual(all.messages.slice(1).map((m) => m.id));
    for (const s of [all, filtered, again]) s.close();
    await Promise.all([all.done, filtered.done, again.done]);
  }, 60_000);

  it('an id from before a restart resumes with a gap message first; malformed ids and unknown types get 400', async () => {
    await new Promise((r) => setTimeout(r, 200)); // the last test's streams are closed on the gateway's side too
    const foreign = stream('/v1/events', { 'last-event-id': 'zzzzzz-5' });
    const gap = await foreign.until(() => true);
    expect(gap).toMatchObject({ event: 'gap', data: { lastEventId: 'zzzzzz-5' } });
    expect(gap.id).toBeUndefined();
    foreign.close();
    await foreign.done;
    const callGap = stream('/v1/calls/ev-bargein/events', { 'last-event-id': 'zzzzzz-5' });
    await callGap.done;
    expect(callGap.messages[0].event).toBe('gap');
    expect(callGap.messages.at(-1)!.event).toBe('call_summary');

    for (const [path, headers] of [
      ['/v1/events', { 'last-event-id': 'not an id' }],
      ['/v1/calls/ev-bargein/events', { 'last-event-id': '12' }],
      ['/v1/events?type=barge_in,nonsense', {}],
      [`/v1/events?callId=${Array.from({ length: 101 }, (_, i) => `c${i}`).join(',')}`, {}],
    ] as const) {
      const s = stream(path, headers);
      await s.done;
      expect(s.status, path).toBe(400);
    }
    const anon = await fetch(`${http}/v1/events`);
    expect(anon.status).toBe(401);
  });

  it('streams of every call are capped: one more gets 503, and a closed one frees its place', async () => {
    const open = [stream('/v1/events'), stream('/v1/events'), stream('/v1/events')];
    await new Promise((r) => setTimeout(r, 200));
    const extra = stream('/v1/events');
    await extra.done;
    expect(extra.status).toBe(503);
    expect(extra.messages[0].data.error).toBe('too_many_streams');
    open[0].close();
    await open[0].done;
    await new Promise((r) => setTimeout(r, 100));
    const next = stream('/v1/events');
    await new Promise((r) => setTimeout(r, 200));
    expect(next.status).toBe(200);
    for (const s of [...open, next]) s.close();
  });
});
