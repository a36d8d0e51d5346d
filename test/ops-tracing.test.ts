// OpenTelemetry traces of real calls: a gateway configured by OTEL_EXPORTER_OTLP_ENDPOINT (exporting to a local
// OTLP/HTTP receiver) with an in-memory exporter beside it, three calls from ../shared/audio at real time — a
// committed barge-in (with the dialer's traceparent), a backchannel that pauses and resumes, a consent answer — and
// the spans they leave: one per call, prompts under their call, barge-ins under the prompt they interrupted, consent
// decisions under their call, attributes equal to what the callers were told, the trace id on the call's logger.
import { createServer, type Server } from 'node:http';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/Gateway.js';
import type { TracingFeature } from '../gateway/ops/tracing.js';
import { TestCall } from './helpers/client.js';
import { startGateway } from './helpers/gateway.js';
import { bargeInCall, consentAnswer, scenario, type Event } from './helpers/realCall.js';

const DIALER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const DIALER_SPAN = '00f067aa0ba902b7';

let gw: Gateway;
let receiver: Server;
const exported: { path: string; type: string; body: any }[] = [];
const memory = new InMemorySpanExporter();
let tracing: TracingFeature;
let spans: ReadableSpan[];
const events = new Map<string, Event[]>();
let consentLogBindings: Record<string, unknown>;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      exported.push({ path: req.url ?? '', type: req.headers['content-type'] ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  let url: string;
  ({ gw, url } = await startGateway({}, {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
    beforeStart: (g) => {
      tracing = g.plugins.find((p) => p.name === 'tracing') as TracingFeature;
      tracing.options.exporters.push(memory);
    },
  }));
  const consentCall = async () => {
    const c = new TestCall(url);
    expect((await c.start({ callId: 'trace-consent', encoding: 'pcm16', sampleRate: 16000 })).type).toBe('ready');
    consentLogBindings = gw.calls.get('trace-consent')!.log.bindings();
    await consentAnswer(c, scenario('natural/001_audiocmn-YueTan_shi4.wav'));
    await c.hangup();
    return c;
  };
  const [bargeIn, backchannel, consent] = await Promise.all([
    bargeInCall(url, 'trace-bargein', scenario('bargein/s01_caller.wav'), { start: { traceparent: `00-${DIALER_TRACE}-${DIALER_SPAN}-01` } }),
    bargeInCall(url, 'trace-backchannel', scenario('bargein/s26_caller.wav')),
    consentCall(),
  ]);
  events.set('trace-bargein', bargeIn.rx.events);
  events.set('trace-backchannel', backchannel.rx.events);
  events.set('trace-consent', consent.rx.events);
  await tracing.flush();
  spans = memory.getFinishedSpans();
});

afterAll(async () => {
  await gw?.stop(0);
  receiver?.close();
});

const callSpan = (id: string) => {
  const found = spans.filter((s) => s.name === 'call' && s.attributes['earshot.call.id'] === id);
  expect(found, id).toHaveLength(1);
  return found[0];
};
const childrenOf = (parent: ReadableSpan, name: string) => spans.filter((s) => s.name === name && s.parentSpanContext?.spanId === parent.spanContext().spanId);
const eventsOf = (id: string, type: string) => events.get(id)!.filter((e) => e.type === type);
const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;

describe('one trace per call', () => {
  it('a call span per call, joining the dialer’s trace when its start carried a traceparent', () => {
    const joined = callSpan('trace-bargein');
    expect(joined.spanContext().traceId).toBe(DIALER_TRACE);
    expect(joined.parentSpanContext?.spanId).toBe(DIALER_SPAN);
    for (const id of ['trace-backchannel', 'trace-consent']) {
      const s = callSpan(id);
      expect(s.parentSpanContext, id).toBeUndefined();
      expect(s.spanContext().traceId).not.toBe(DIALER_TRACE);
    }
    expect(joined.attributes).toMatchObject({ 'earshot.wire': 'native', 'earshot.audio.encoding': 'pcm16', 'earshot.audio.sample_rate': 16000, 'earshot.call.end_reason': 'hangup' });
    expect(joined.attributes['earshot.call.barge_ins']).toBe(eventsOf('trace-bargein', 'barge_in').length);
    expect(new Set(spans.filter((s) => s.name === 'call').map((s) => s.spanContext().traceId)).size).toBe(3);
  });

  it('every span of a call is in its trace, and none carries the callee or a transcript', () => {
    for (const id of ['trace-bargein', 'trace-backchannel', 'trace-consent']) {
      const trace = callSpan(id).spanContext().traceId;
      const mine = spans.filter((s) => s.spanContext().traceId === trace);
      expect(mine.length, id).toBeGreaterThan(1);
      for (const s of mine) expect(Object.keys(s.attributes).filter((k) => /callee|transcript|phrase/.test(k)), s.name).toEqual([]);
    }
  });

  it("the call's log lines carry its trace and span ids", () => {
    const sc = callSpan('trace-consent').spanContext();
    expect(consentLogBindings).toMatchObject({ callId: 'trace-consent', trace_id: sc.traceId, span_id: sc.spanId, trace_flags: '01' });
  });
});

describe('child spans', () => {
  it('prompts under their call, ending as the prompt did', () => {
    for (const id of ['trace-bargein', 'trace-backchannel']) {
      const prompts = childrenOf(callSpan(id), 'prompt');
      const finished = eventsOf(id, 'prompt_finished');
      expect(prompts.map((p) => p.attributes['earshot.prompt.id'])).toEqual(eventsOf(id, 'prompt_started').map((e) => e.promptId));
      expect(prompts.map((p) => p.attributes['earshot.prompt.end_reason'])).toEqual(finished.map((e) => e.reason));
      expect(prompts.map((p) => p.attributes['earshot.prompt.played_ms'])).toEqual(finished.map((e) => e.playedMs));
    }
    expect(childrenOf(callSpan('trace-bargein'), 'prompt')[0].attributes['earshot.prompt.interrupted']).toBe(true);
  });

  it('a committed barge-in: pause → commit under the prompt it interrupted, with the times the caller was told', () => {
    const [prompt] = childrenOf(callSpan('trace-bargein'), 'prompt');
    const bargeIns = childrenOf(prompt, 'barge_in');
    expect(bargeIns).toHaveLength(eventsOf('trace-bargein', 'prompt_paused').length);
    const committed = bargeIns.filter((s) => s.attributes['earshot.bargein.outcome'] === 'committed');
    expect(committed).toHaveLength(1);
    const commit = eventsOf('trace-bargein', 'barge_in')[0];
    const pause = eventsOf('trace-bargein', 'prompt_paused').at(-1)!;
    expect(committed[0].attributes).toMatchObject({
      'earshot.prompt.id': 'greeting',
      'earshot.bargein.onset_t_ms': commit.onsetT,
      'earshot.bargein.pause_t_ms': pause.t,
      'earshot.bargein.commit_t_ms': commit.t,
      'earshot.bargein.commit_latency_ms': (commit.t as number) - (commit.onsetT as number),
    });
    expect(ms(committed[0].endTime)).toBeGreaterThanOrEqual(ms(committed[0].startTime));
  });

  it('a backchannel: the pause resumes and its span says so', () => {
    const [prompt] = childrenOf(callSpan('trace-backchannel'), 'prompt');
    const resumed = childrenOf(prompt, 'barge_in').filter((s) => s.attributes['earshot.bargein.outcome'] === 'resumed');
    expect(resumed.length).toBe(eventsOf('trace-backchannel', 'prompt_resumed').length);
    expect(resumed.length).toBeGreaterThanOrEqual(1);
    expect(resumed[0].attributes['earshot.bargein.resume_t_ms']).toBe(eventsOf('trace-backchannel', 'prompt_resumed')[0].t);
    expect(resumed[0].attributes['earshot.bargein.pause_latency_ms']).toBeGreaterThan(0);
  });

  it('a consent decision under its call, from the end of the answer to the decision, naming its evidence', () => {
    const [decision] = eventsOf('trace-consent', 'consent');
    const consent = childrenOf(callSpan('trace-consent'), 'consent');
    expect(consent).toHaveLength(1);
    const latency = (decision.t as number) - (decision.speechEndT as number);
    expect(consent[0].attributes).toMatchObject({
      'earshot.consent.decision': 'granted',
      'earshot.consent.complaint': false,
      'earshot.evidence.id': decision.evidenceId,
      'earshot.consent.latency_ms': latency,
    });
    expect(ms(consent[0].endTime) - ms(consent[0].startTime)).toBeCloseTo(latency, 0);
  });
});

describe('export', () => {
  it('the same spans reach the OTLP/HTTP endpoint configured by OTEL_EXPORTER_OTLP_ENDPOINT, as service earshot', () => {
    expect(exported.length).toBeGreaterThan(0);
    expect(exported.every((e) => e.path === '/v1/traces' && e.type.startsWith('application/json'))).toBe(true);
    const resourceSpans = exported.flatMap((e) => e.body.resourceSpans as any[]);
    const service = resourceSpans[0].resource.attributes.find((a: any) => a.key === 'service.name');
    expect(service.value.stringValue).toBe('earshot');
    const ids = new Set(resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s: any) => s.spans.map((x: any) => x.spanId))));
    for (const s of spans) expect(ids.has(s.spanContext().spanId), s.name).toBe(true);
  });
});
