// docs/openapi.yaml against a real gateway (token set, recogniser on): the document is valid OpenAPI 3.1 and is what
// GET /openapi.json serves; every route the router knows is documented and every documented route exists, with
// the same access rule; the command bodies are the handlers' own zod schemas; and every documented operation,
// called for real around a live call with a consent answer from ../shared/audio, answers a documented status with a
// body that validates against the documented schema.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { z } from 'zod';
import { CommandMessage } from '../gateway/call/commands.js';
import { CallEventSchema } from '../gateway/call/events.js';
import type { Gateway } from '../gateway/Gateway.js';
import { TestCall } from './helpers/client.js';
import { AUDIO_DIR } from './helpers/corpus.js';
import { startGateway } from './helpers/gateway.js';
import { consentAnswer, scenario, type Event } from './helpers/realCall.js';

// ajv-formats is CommonJS: its default import is module.exports, whose `default` is the plugin in either interop.
const addFormats = addFormatsModule.default;

type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; required?: string[] };
type Operation = { security?: unknown[]; requestBody?: { content: Record<string, { schema: Schema }> }; responses: Record<string, { content?: Record<string, { schema: Schema }> }> };
type Doc = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema> } };

const TOKEN = 'openapi-test-token';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const source = YAML.parse(readFileSync('docs/openapi.yaml', 'utf8')) as Doc;
let doc: Doc; // $refs resolved
let gw: Gateway;
let http: string;
let url: string;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const exercised = new Set<string>();

const templates = Object.keys(source.paths).map((p) => ({ path: p, re: new RegExp(`^${p.replace(/\{\w+\}/g, '[^/]+')}$`) }));

/** Calls the gateway and checks the answer against the document; returns it. */
async function call(method: string, path: string, init: { body?: unknown; raw?: Buffer; token?: string | null; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any; type: string }> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== null) headers.authorization = `Bearer ${init.token ?? TOKEN}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${http}${path}`, { method, headers, body: init.raw ? new Uint8Array(init.raw) : (init.body !== undefined ? JSON.stringify(init.body) : undefined) });
  const type = (res.headers.get('content-type') ?? '').split(';')[0];
  const buf = Buffer.from(await res.arrayBuffer());
  const body = type === 'application/json' ? JSON.parse(buf.toString('utf8')) : buf;
  const pathname = new URL(path, 'http://x').pathname;
  const tpl = templates.find((t) => t.re.test(pathname));
  expect(tpl, `${method} ${pathname} is documented`).toBeDefined();
  const op = doc.paths[tpl!.path][method.toLowerCase()];
  expect(op, `${method} ${tpl!.path} is documented`).toBeDefined();
  const documented = op.responses[String(res.status)];
  expect(documented, `${method} ${tpl!.path} answered ${res.status}, which is not documented (${type}: ${String(buf).slice(0, 200)})`).toBeDefined();
  const media = documented.content?.[type];
  expect(media, `${method} ${tpl!.path} ${res.status} answered ${type}; documented: ${Object.keys(documented.content ?? {})}`).toBeDefined();
  if (type === 'application/json') {
    const validate = ajv.compile(media!.schema);
    expect(validate(body), `${method} ${tpl!.path} ${res.status}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(body).slice(0, 300)}`).toBe(true);
  }
  exercised.add(`${method.toLowerCase()} ${tpl!.path}`);
  return { status: res.status, body, type };
}

/**
 * Opens an SSE stream of a documented route (waiting for its headers, so it is subscribed on return); `first` is its
 * first message's data, validated against the named schema. The stream is then dropped.
 */
async function openEventStream(path: string, template: string, schema: 'CallEvent' | 'EventEnvelope'): Promise<{ first: Promise<Event> }> {
  const ac = new AbortController();
  const res = await fetch(`${http}${path}`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: ac.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  expect(doc.paths[template].get.responses['200'].content!['text/event-stream']).toBeDefined();
  const first = (async () => {
    const reader = res.body!.getReader();
    let text = '';
    while (!/\ndata: .*\n\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    expect(text).toMatch(/(^|\n)id: [0-9a-z]+-\d+\n/);
    const ev = JSON.parse(/\ndata: (.*)\n/.exec(text)![1]) as Event;
    const validate = ajv.compile(doc.components.schemas[schema]);
    expect(validate(ev), ajv.errorsText(validate.errors)).toBe(true);
    exercised.add(`get ${template}`);
    return ev;
  })();
  return { first };
}

/** Opens a documented SSE route that need not send anything at once: status and type checked, then dropped. */
async function touchStream(path: string, template: string): Promise<void> {
  const ac = new AbortController();
  const res = await fetch(`${http}${path}`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: ac.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  expect(doc.paths[template].get.responses['200'].content!['text/event-stream']).toBeDefined();
  ac.abort();
  exercised.add(`get ${template}`);
}

/** Opens the monitor's watch stream and reads its `hello` (the id its calls are added under). */
async function openWatch(): Promise<{ watchId: string; close: () => void }> {
  const ac = new AbortController();
  const res = await fetch(`${http}/ui/watch`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: ac.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  expect(doc.paths['/ui/watch'].get.responses['200'].content!['text/event-stream']).toBeDefined();
  exercised.add('get /ui/watch');
  const reader = res.body!.getReader();
  let text = '';
  while (!/event: hello\ndata: .*\n\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
  const { watchId } = JSON.parse(/event: hello\ndata: (.*)\n/.exec(text)![1]);
  return { watchId, close: () => ac.abort() };
}

const firstStreamEvent = async (path: string) => (await openEventStream(path, '/v1/calls/{callId}/events', 'CallEvent')).first;

beforeAll(async () => {
  await SwaggerParser.validate(structuredClone(source) as never);
  doc = (await SwaggerParser.dereference(structuredClone(source) as never)) as unknown as Doc;
  ({ gw, url, http } = await startGateway({ apiToken: TOKEN }));
  expect(gw.commands.expectConsent, 'consent feature must be active (recogniser model present)').toBeDefined();
});

afterAll(async () => {
  await gw?.stop(0);
});

describe('the document', () => {
  it('is valid OpenAPI 3.1 and is what GET /openapi.json serves, behind the token', async () => {
    expect((source as unknown as { openapi: string }).openapi).toMatch(/^3\.1\./);
    expect((await call('GET', '/openapi.json')).body).toEqual(source);
    expect((await call('GET', '/openapi.json', { token: null })).status).toBe(401);
  });

  it('documents every route the gateway registers and no other, with the same access rule', () => {
    const registered = gw.router.list().map((r) => ({ key: `${r.method.toLowerCase()} ${r.pattern.replace(/:(\w+)/g, '{$1}')}`, public: r.public }));
    const documented = Object.entries(source.paths).flatMap(([p, item]) => METHODS.filter((m) => item[m]).map((m) => ({ key: `${m} ${p}`, public: Array.isArray(item[m].security) && item[m].security!.length === 0 })));
    expect(documented.map((d) => d.key).sort()).toEqual(registered.map((r) => r.key).sort());
    const pub = (xs: { key: string; public: boolean }[]) => xs.filter((x) => x.public).map((x) => x.key).sort();
    expect(pub(documented)).toEqual(pub(registered));
    expect(pub(registered)).toEqual(['get /healthz', 'get /readyz']);
  });

  it("describes each control command's body exactly as the handler's schema validates it", () => {
    for (const option of CommandMessage.options) {
      const type = option.shape.type.value;
      const want = z.toJSONSchema(option, { io: 'input' }) as Schema;
      const got = doc.paths[`/v1/calls/{callId}/${type}`].post.requestBody!.content['application/json'].schema;
      const wantProps = Object.keys(want.properties!).filter((k) => k !== 'type');
      expect(Object.keys(got.properties ?? {}).sort(), type).toEqual(wantProps.sort());
      expect((got.required ?? []).slice().sort(), type).toEqual((want.required ?? []).filter((k) => k !== 'type').sort());
      for (const k of wantProps) {
        const [w, g] = [want.properties![k], got.properties![k]];
        for (const facet of ['type', 'minLength', 'maxLength', 'minimum', 'maximum', 'pattern', 'default', 'enum']) {
          expect(g[facet], `${type}.${k}.${facet}`).toEqual(w[facet]);
        }
        if (w.additionalProperties) expect(g.additionalProperties, `${type}.${k}`).toEqual({ type: 'string' });
      }
    }
  });

  it('lists every call event type the gateway can send', () => {
    const types = CallEventSchema.options.map((o) => o.shape.type.value);
    expect((doc.components.schemas.CallEvent.properties!.type.enum as string[]).slice().sort()).toEqual(types.slice().sort());
  });
});

describe('every documented operation answers as documented', () => {
  it('around a live call with a recorded prompt, a consent answer and the policy routes', async () => {
    expect((await call('GET', '/healthz', { token: null })).status).toBe(200);
    expect((await call('GET', '/readyz', { token: null })).body).toEqual({ ready: true });
    expect((await call('GET', '/readyz')).body.models.length).toBeGreaterThan(0);
    expect((await call('GET', '/metrics')).type).toBe('text/plain');
    expect((await call('GET', '/v1/calls', { token: null })).status).toBe(401);

    // A recorded prompt: added, the same again, different bytes under the same id, listed, read.
    const wav = readFileSync(join(AUDIO_DIR, 'bargein/prompts/p01.wav'));
    expect((await call('PUT', '/v1/prompts/greeting', { raw: wav, headers: { 'content-type': 'application/octet-stream' } })).status).toBe(201);
    expect((await call('PUT', '/v1/prompts/greeting', { raw: wav, headers: { 'content-type': 'application/octet-stream' } })).status).toBe(200);
    const other = readFileSync(join(AUDIO_DIR, 'bargein/prompts/p02.wav'));
    expect((await call('PUT', '/v1/prompts/greeting', { raw: other, headers: { 'content-type': 'application/octet-stream' } })).status).toBe(409);
    expect((await call('PUT', '/v1/prompts/greeting?loudness=loud', { raw: wav })).status).toBe(400);
    expect((await call('GET', '/v1/prompts')).body.prompts).toHaveLength(1);
    expect((await call('GET', '/v1/prompts/greeting')).body.promptId).toBe('greeting');
    expect((await call('GET', '/v1/prompts/nope')).status).toBe(404);

    // A live call: listed, its event stream and the stream of every call, every command.
    const everyCall = await openEventStream('/v1/events?callId=api-call&type=ready', '/v1/events', 'EventEnvelope');
    expect((await call('GET', '/v1/events?type=nonsense')).status).toBe(400);
    expect((await call('GET', '/v1/events', { headers: { 'last-event-id': 'junk' } })).status).toBe(400);
    const c = new TestCall(url, { authorization: `Bearer ${TOKEN}` });
    expect((await c.start({ callId: 'api-call', encoding: 'pcm16', sampleRate: 16000 })).type).toBe('ready');
    expect((await call('GET', '/v1/calls')).body.calls.map((x: { callId: string }) => x.callId)).toContain('api-call');
    // The monitor's watch wall on the live call: added (twice: idempotent), taken off; an unknown call or stream is 404.
    const wall = await openWatch();
    expect((await call('PUT', `/ui/watch/${wall.watchId}/calls/api-call`)).body).toEqual({ watchId: wall.watchId, callId: 'api-call', watching: 1 });
    expect((await call('PUT', `/ui/watch/${wall.watchId}/calls/api-call`)).body.watching).toBe(1);
    expect((await call('PUT', `/ui/watch/${wall.watchId}/calls/nobody`)).status).toBe(404);
    expect((await call('DELETE', `/ui/watch/${wall.watchId}/calls/api-call`)).body.watching).toBe(0);
    expect((await call('DELETE', '/ui/watch/nope/calls/api-call')).status).toBe(404);
    wall.close();
    expect((await firstStreamEvent('/v1/calls/api-call/events')).type).toBe('ready');
    expect(await everyCall.first).toMatchObject({ callId: 'api-call', event: { type: 'ready', callId: 'api-call' } });
    expect((await call('GET', '/v1/calls/nobody/events?wait=soon')).status).toBe(400);
    expect((await call('GET', '/v1/calls/nobody/events')).status).toBe(404);
    expect((await call('POST', '/v1/calls/api-call/play', { body: { promptId: 'greeting' } })).body).toMatchObject({ ok: true, command: 'play' });
    expect((await call('POST', '/v1/calls/api-call/play', { body: { promptId: 'greeting', audio: 'not base64!' } })).body.error).toBe('bad_base64');
    expect((await call('POST', '/v1/calls/api-call/play', { body: { promptId: 'nope' } })).body.error).toBe('unknown_prompt');
    expect((await call('POST', '/v1/calls/api-call/stop_prompt')).status).toBe(202);
    expect([202, 501]).toContain((await call('POST', '/v1/calls/api-call/say', { body: { promptId: 'hello', text: '您好' } })).status);
    expect((await call('POST', '/v1/calls/api-call/say', { body: { promptId: 'hello' } })).status).toBe(400);
    expect((await call('POST', '/v1/calls/api-call/dtmf', { body: { digit: '5' } })).status).toBe(202);
    expect((await call('POST', '/v1/calls/api-call/dtmf', { body: { digit: 'x' } })).status).toBe(400);
    expect((await call('POST', '/v1/calls/nobody/hangup')).status).toBe(404);
    const answer = consentAnswer(c, scenario('natural/003_audiocmn-YueTan_dui4.wav'));
    await new Promise((r) => setTimeout(r, 50));
    // expect_consent over HTTP on the same call: the window is open already, so this one replaces it.
    expect((await call('POST', '/v1/calls/api-call/expect_consent', { body: { promptId: 'may-we-record', windowMs: 8000 } })).status).toBe(202);
    expect((await call('POST', '/v1/calls/api-call/expect_consent', { body: { windowMs: 10 } })).status).toBe(400);
    const consent = await answer;
    expect(consent.decision).toBe('granted');
    expect((await call('GET', '/v1/calls/api-call/record')).body.callId).toBe('api-call');
    expect((await call('POST', '/v1/calls/api-call/hangup')).status).toBe(202);
    await c.waitFor('call_summary');

    // Its consent evidence.
    const evidenceId = consent.evidenceId as string;
    expect((await call('GET', '/v1/calls/api-call/evidence')).body.evidence.map((e: { id: string }) => e.id)).toEqual([evidenceId]);
    expect((await call('GET', `/v1/evidence/${evidenceId}`)).body.decision).toBe('granted');
    const audio = await call('GET', `/v1/evidence/${evidenceId}/audio`);
    expect(audio.type).toBe('audio/wav');
    expect(String(audio.body.subarray(0, 4))).toBe('RIFF');
    expect((await call('GET', '/v1/evidence/nope')).status).toBe(404);
    expect((await call('GET', '/v1/evidence/nope/audio')).status).toBe(404);

    // Records and the do-not-call list.
    await new Promise((r) => setTimeout(r, 1200)); // records are written in batches
    const rec = (await call('GET', '/v1/calls/api-call/record')).body;
    expect(rec.decisions.map((d: { evidenceId: string }) => d.evidenceId)).toEqual([evidenceId]);
    expect((await call('GET', '/v1/calls/nobody/record')).status).toBe(404);
    expect((await call('GET', '/v1/records?limit=5')).body.records.length).toBeGreaterThan(0);
    expect((await call('POST', '/v1/dnc', { body: { number: '+8613700000020', reason: 'asked by email' } })).status).toBe(201);
    expect((await call('POST', '/v1/dnc', { body: { number: 'not a number' } })).status).toBe(400);
    expect((await call('GET', '/v1/dnc?limit=10')).body.entries[0].number).toBe('+8613700000020');
    expect((await call('DELETE', '/v1/dnc/%2B8613700000020')).status).toBe(200);
    expect((await call('DELETE', '/v1/dnc/%2B8613700000020')).status).toBe(404);

    // AudioSocket call details ahead of the TCP connection.
    expect((await call('POST', '/v1/audiosocket/calls', { body: { uuid: '0f8fad5b-d9cb-469f-a165-70867728950e', callType: 'marketing' } })).status).toBe(201);
    expect((await call('POST', '/v1/audiosocket/calls', { body: { callType: 'marketing' } })).status).toBe(400);

    // Webhooks, not configured on this gateway: every outbox route says so (404 webhooks_disabled).
    expect((await call('GET', '/v1/webhooks')).body.error).toBe('webhooks_disabled');
    expect((await call('GET', '/v1/webhooks/deliveries?state=dead')).status).toBe(404);
    expect((await call('GET', '/v1/webhooks/deliveries/01J0000000000000000000000')).status).toBe(404);
    expect((await call('POST', '/v1/webhooks/deliveries/01J0000000000000000000000/replay')).status).toBe(404);

    // The live monitor's page and data.
    expect((await call('GET', '/ui')).type).toBe('text/html');
    expect((await call('GET', '/ui', { token: null })).status).toBe(401);
    expect((await call('GET', '/ui/calls')).body.calls.map((r: { callId: string }) => r.callId)).toContain('api-call');
    expect((await call('GET', '/ui/calls/api-call/timeline')).body.events.length).toBeGreaterThan(0);
    expect((await call('GET', '/ui/calls/nobody/live')).status).toBe(404);
    await touchStream('/ui/stream', '/ui/stream');
    expect((await call('GET', `/ui/evidence/${evidenceId}`)).body.verified).toBe(true);

    // Last, as a rolling update's preStop hook would: no call is live, so the drain answers at once.
    expect((await call('POST', '/v1/drain')).status).toBe(200);

    const all = Object.entries(source.paths).flatMap(([p, item]) => METHODS.filter((m) => item[m]).map((m) => `${m} ${p}`));
    expect(all.filter((op) => !exercised.has(op))).toEqual([]);
  });

  it('a wrong body on a documented route is refused with the documented error shape', async () => {
    const bad = await call('POST', '/v1/dnc', { raw: Buffer.from('{nope'), headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('malformed_json');
  });
});
