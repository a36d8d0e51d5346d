// HTTP control API: POST /v1/calls/:id/{play,say,stop_prompt,expect_consent,hangup,dtmf} and the SSE event stream,
// against a call on the native wire.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '../gateway/audio/codec.js';
import type { Gateway } from '../gateway/Gateway.js';
import { TestCall } from './helpers/client.js';
import { CALLING_HOURS, startGateway } from './helpers/gateway.js';

const TOKEN = 'control-test-token';
let gw: Gateway;
let http: string;
let url: string;

async function post(path: string, body: unknown, token: string | null = TOKEN, raw?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(`${http}${path}`, { method: 'POST', headers, body: raw ?? JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  // A fixed policy clock inside calling hours: a marketing call is refused for what the test means (do-not-call),
  // never for calling hours at whatever time the suite happens to run.
  ({ gw, http, url } = await startGateway({ asr: { model: '' }, apiToken: TOKEN, policy: { clock: CALLING_HOURS } }));
}, 60_000);

afterAll(async () => {
  await gw?.stop(0);
});

describe('HTTP control API', () => {
  it('commands answer 202 / 400 / 401 / 404 with clear JSON errors, and SSE streams the call to its summary', async () => {
    const c = new TestCall(url, { authorization: `Bearer ${TOKEN}` });
    expect((await c.start({ callId: 'ctl-1', encoding: 'pcm16', sampleRate: 16000 })).type).toBe('ready');

    const sse = await fetch(`${http}/v1/calls/ctl-1/events?token=${TOKEN}`);
    expect(sse.status).toBe(200);
    expect(sse.headers.get('content-type')).toMatch(/text\/event-stream/);
    const text = sse.text();

    const audio = Buffer.from(encode('pcm16', new Int16Array(16000))).toString('base64');
    expect((await post('/v1/calls/nope/play', { promptId: 'p', audio })).status).toBe(404);
    expect((await post('/v1/calls/ctl-1/play', { promptId: 'p', audio }, null)).status).toBe(401);
    const badB64 = await post('/v1/calls/ctl-1/play', { promptId: 'p', audio: 'a*b=' });
    expect(badB64).toMatchObject({ status: 400, body: { error: 'bad_base64' } });
    expect((await post('/v1/calls/ctl-1/play', { audio })).body.error).toBe('invalid_message');
    expect((await post('/v1/calls/ctl-1/play', null, TOKEN, '{oops')).body.error).toBe('malformed_json');
    expect((await post('/v1/calls/ctl-1/dtmf', { digit: 'x' })).status).toBe(400);
    // This gateway has speech synthesis (the syllable voice) and no recogniser: say is accepted, consent is not.
    const say = await post('/v1/calls/ctl-1/say', { promptId: 's', text: '你好' });
    expect(say, JSON.stringify(say.body)).toMatchObject({ status: 202, body: { ok: true, command: 'say' } });
    const consent = await post('/v1/calls/ctl-1/expect_consent', {});
    expect(consent).toMatchObject({ status: 501, body: { error: 'consent_unavailable' } });

    const streaming = c.stream(new Int16Array(16000 * 2), 'pcm16', 16000);
    expect(await post('/v1/calls/ctl-1/play', { promptId: 'p', audio })).toMatchObject({ status: 202, body: { ok: true, command: 'play' } });
    await c.waitFor('prompt_started');
    expect((await post('/v1/calls/ctl-1/stop_prompt', {})).status).toBe(202);
    const fin = await c.waitFor('prompt_finished');
    expect(fin).toMatchObject({ promptId: 'p', interrupted: true, reason: 'stop_prompt' });
    expect((await post('/v1/calls/ctl-1/hangup', {})).status).toBe(202);
    await c.closed;
    await streaming;

    const body = await text; // the stream ends by itself at call_summary
    const types = [...body.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    expect(types).toContain('prompt_started');
    expect(types).toContain('prompt_finished');
    expect(types[types.length - 1]).toBe('call_summary');
    expect((await post('/v1/calls/ctl-1/hangup', {})).status).toBe(404);
    expect((await fetch(`${http}/v1/calls/ctl-1/events?token=${TOKEN}`)).status).toBe(404);
  }, 30_000);

  it('an SSE client that disconnects does not disturb the call', async () => {
    const c = new TestCall(url, { authorization: `Bearer ${TOKEN}` });
    await c.start({ callId: 'ctl-2', encoding: 'pcm16', sampleRate: 16000 });
    const ac = new AbortController();
    const sse = await fetch(`${http}/v1/calls/ctl-2/events`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: ac.signal });
    expect(sse.status).toBe(200);
    ac.abort();
    await new Promise((r) => setTimeout(r, 100));
    await c.stream(new Int16Array(16000 * 0.5), 'pcm16', 16000);
    expect(gw.calls.get('ctl-2')?.isEnded).toBe(false);
    const summary = await c.hangup();
    expect(summary.reason).toBe('hangup');
  }, 20_000);

  it('an event stream opened before its call (?wait=) begins with ready, or carries the refusal and its reason', async () => {
    const sseText = (id: string, wait = 5000) => fetch(`${http}/v1/calls/${id}/events?wait=${wait}&token=${TOKEN}`).then(async (r) => ({ status: r.status, body: await r.text() }));
    const events = (body: string) => [...body.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]) as { type: string; reason?: string });

    // Subscribed first, started after: ready, then the call's events to its summary.
    const early = sseText('ctl-early');
    await new Promise((r) => setTimeout(r, 100));
    const c = new TestCall(url, { authorization: `Bearer ${TOKEN}` });
    expect((await c.start({ callId: 'ctl-early', encoding: 'pcm16', sampleRate: 16000 })).type).toBe('ready');
    await c.hangup();
    const got = await early;
    expect(got.status).toBe(200);
    const types = events(got.body).map((e) => e.type);
    expect(types[0]).toBe('ready');
    expect(types[types.length - 1]).toBe('call_summary');

    // Refused at start (the callee is on the do-not-call list): the stream says why, then ends.
    const callee = '+8613900001111';
    expect((await post('/v1/dnc', { number: callee, reason: 'test' })).status).toBe(201);
    const refused = sseText('ctl-dnc');
    await new Promise((r) => setTimeout(r, 100));
    const d = new TestCall(url, { authorization: `Bearer ${TOKEN}` });
    const answer = await d.start({ callId: 'ctl-dnc', encoding: 'pcm16', sampleRate: 16000, callType: 'marketing', callee });
    expect(answer).toMatchObject({ type: 'rejected', reason: 'do_not_call' });
    const r = await refused;
    expect(r.status).toBe(200);
    expect(events(r.body)).toEqual([expect.objectContaining({ type: 'rejected', reason: 'do_not_call' })]);
    // A subscriber that comes just after the refusal still learns it (no 15 s wait for a call that will not come).
    expect(events((await sseText('ctl-dnc')).body)).toEqual([expect.objectContaining({ type: 'rejected', reason: 'do_not_call' })]);

    // Nothing within the wait: 404; a bad wait: 400; no wait: 404 at once, as before.
    expect((await sseText('ctl-never', 200)).status).toBe(404);
    expect((await sseText('ctl-never', 999_999)).status).toBe(400);
    expect((await fetch(`${http}/v1/calls/ctl-never/events?token=${TOKEN}`)).status).toBe(404);
  }, 30_000);
});
