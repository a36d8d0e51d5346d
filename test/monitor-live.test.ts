// The monitor's live view of one call (GET /ui/calls/:callId/live) on a bare HTTP server with a stand-in call: its
// timeline first, its frames twelve to a message, its events at once, and at its end the frames that had not yet
// filled a message (the plot shows how the call ended), then `end`, and the stream closes.
import { createServer, type Server } from 'node:http';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FrameSample } from '../gateway/call/Call.js';
import type { CallEvent } from '../gateway/call/events.js';
import { MonitorFeature } from '../gateway/features/monitor.js';
import { Router } from '../gateway/ops/http.js';

class StandInCall {
  readonly init = { wire: 'native', callee: '+8613900139000', callType: 'marketing' };
  readonly startedAt = Date.now();
  isEnded = false;
  readonly observers = new Set<(ev: CallEvent) => void>();
  readonly taps = new Set<(f: FrameSample) => void>();
  constructor(readonly id: string) {}
  observe(fn: (ev: CallEvent) => void) {
    this.observers.add(fn);
    return () => this.observers.delete(fn);
  }
  tapFrames(fn: (f: FrameSample) => void) {
    this.taps.add(fn);
    return () => this.taps.delete(fn);
  }
  emit(ev: CallEvent) {
    for (const o of [...this.observers]) o(ev);
  }
}

const router = new Router();
const calls = new Map<string, StandInCall>();
const monitor = new MonitorFeature();
let server: Server;
let base: string;

beforeAll(async () => {
  await monitor.start({ router, log: pino({ level: 'silent' }), calls, config: { playout: { maxSocketBufferBytes: 1 << 20 } } } as never);
  server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = router.match(req.method ?? 'GET', url.pathname);
    if (!m || m === 'method') return void res.writeHead(404).end();
    await m.route.handler(req, res, m.params, url);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await monitor.stop();
  await new Promise((r) => server.close(r));
});

/** The SSE messages of a stream, as [event, data], until the server closes it. */
async function messages(res: Response): Promise<[string, string][]> {
  const text = await res.text();
  return text.split('\n\n').filter((m) => m.startsWith('event:')).map((m) => {
    const [ev, data] = m.split('\n');
    return [ev.slice('event: '.length), data.slice('data: '.length)];
  });
}

describe('monitor live view', () => {
  it('sends frames twelve to a message, and the last few before the end of the call', async () => {
    const call = new StandInCall('c1');
    calls.set(call.id, call);
    monitor.callStarted(call as never);
    call.emit({ type: 'prompt_started', promptId: 'greet', t: 10 });
    const res = await fetch(`${base}/ui/calls/c1/live`);
    expect(res.status).toBe(200);
    // The view is open once its tap is: then 15 frames, an event, the summary.
    while (!call.taps.size) await new Promise((r) => setTimeout(r, 5));
    for (let i = 1; i <= 15; i++) for (const tap of call.taps) tap({ t: i * 32, prob: 0.5, echo: false, levelDb: -30 });
    call.emit({ type: 'speech_started', onsetT: 400, t: 480 });
    call.emit({ type: 'call_summary', reason: 'hangup', t: 500 } as unknown as CallEvent);
    const got = await messages(res);
    expect(got.map(([e]) => e)).toEqual(['timeline', 'frames', 'call', 'frames', 'call', 'end']);
    expect(JSON.parse(got[0][1]).events.map((e: CallEvent) => e.type)).toEqual(['prompt_started']);
    expect(JSON.parse(got[1][1])).toHaveLength(12);
    expect(JSON.parse(got[3][1]).map((f: number[]) => f[0])).toEqual([416, 448, 480]);
    expect(JSON.parse(got[4][1]).event.type).toBe('call_summary');
    expect(call.taps.size).toBe(0); // the call stops handing out frames once nobody watches
  });

  it('watches several calls over one stream: frames of all of them in one message, a call’s end closes only its view', async () => {
    const a = new StandInCall('w1');
    const b = new StandInCall('w2');
    for (const c of [a, b]) {
      calls.set(c.id, c);
      monitor.callStarted(c as never);
      c.emit({ type: 'prompt_started', promptId: 'greet', t: 10 });
    }
    const ac = new AbortController();
    const res = await fetch(`${base}/ui/watch`, { signal: ac.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    const until = async (re: RegExp) => {
      while (!re.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    };
    await until(/event: hello\n/);
    const { watchId } = JSON.parse(/event: hello\ndata: (.*)\n/.exec(text)![1]);
    for (const c of [a, b]) expect((await fetch(`${base}/ui/watch/${watchId}/calls/${c.id}`, { method: 'PUT' })).status).toBe(200);
    expect(a.taps.size + b.taps.size).toBe(2);
    for (let i = 1; i <= 5; i++) for (const c of [a, b]) for (const tap of c.taps) tap({ t: i * 32, prob: 0.5, echo: false, levelDb: -30 });
    a.emit({ type: 'barge_in', promptId: 'greet', playedMs: 100, onsetT: 50, t: 170 } as unknown as CallEvent);
    // One frames message (within 384 ms) with both calls' five frames.
    await until(/event: frames\ndata: .*\n\n/);
    const frames = JSON.parse(/event: frames\ndata: (.*)\n/.exec(text)![1]);
    expect(Object.keys(frames).sort()).toEqual(['w1', 'w2']);
    expect(frames.w1).toHaveLength(5);
    expect(text).toMatch(/event: call\ndata: \{"callId":"w1","event":\{"type":"barge_in"/);
    expect((text.match(/event: timeline\n/g) ?? []).length).toBe(2);
    // w1 ends: its last frames, its summary and its end; w2's view goes on on the same stream.
    for (const tap of a.taps) tap({ t: 192, prob: 0.1, echo: false, levelDb: -40 });
    a.emit({ type: 'call_summary', reason: 'hangup', t: 200 } as unknown as CallEvent);
    await until(/event: end\ndata: \{"callId":"w1"\}/);
    expect(text).toMatch(/event: frames\ndata: \{"w1":\[\[192,/);
    expect(a.taps.size).toBe(0);
    expect(b.taps.size).toBe(1);
    expect(await (await fetch(`${base}/ui/watch/${watchId}/calls/w2`, { method: 'DELETE' })).json()).toMatchObject({ watching: 0 });
    expect(b.taps.size).toBe(0);
    ac.abort();
  });
});
