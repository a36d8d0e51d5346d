// gRPC events are typed in the proto (Event.payload, v1.1) and keep `json` for v1 clients: every event type of the
// call contract has its payload message with exactly the event's fields, and the wire's own translation survives
// the real serialiser with every field intact.
import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { CallEventSchema, type CallEvent } from '../gateway/call/events.js';
import { eventMessage, loadProtos, PROTO_DIR } from '../gateway/wires/grpc.js';

type Field = { name: string; number: number; typeName: string };
type Descriptor = { field: Field[]; oneofDecl: { name: string }[]; nestedType?: Descriptor[]; name: string };
// keepCase: the proto's own names. (The descriptor's oneofIndex defaults to 0, so the payload is told by number.)
const def = protoLoader.loadSync('earshot/v1/earshot.proto', { includeDirs: [PROTO_DIR], keepCase: true });
const message = (name: string) => (def[`earshot.v1.${name}`] as unknown as { type: Descriptor }).type;
const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const { earshot } = loadProtos();
const method = (earshot.Earshot as unknown as { service: Record<string, { responseSerialize: (o: unknown) => Buffer; responseDeserialize: (b: Buffer) => any }> }).service.StreamCall;

/** The event without nulls: what the typed payload can carry (null = absent). */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, withoutNulls(x)]));
  return v;
}

/** A decoded message without proto-loader's `_field` markers of proto3 optional fields (oneofs: true). */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith('_')).map(([k, x]) => [k, plain(x)]));
  return v;
}

const SAMPLES: CallEvent[] = [
  { type: 'ready', callId: 'g-1', t: 0 },
  { type: 'rejected', callId: 'g-2', reason: 'do_not_call', t: 0 },
  { type: 'prompt_paused', promptId: 'greeting', playedMs: 1234.5, t: 2000 },
  { type: 'barge_in', promptId: 'greeting', playedMs: 1500, onsetT: 1810, t: 2210 },
  { type: 'consent', decision: 'granted', phrase: '是', transcript: 'shi4', confidence: 0.93, complaint: false, reason: 'lexicon', promptId: 'may-we-record', speechEndT: 5100, evidenceId: '01JABCDEF', t: 5400 },
  { type: 'consent', decision: 'unclear', phrase: null, transcript: '', confidence: 0, complaint: false, reason: 'no_answer', speechEndT: null, evidenceId: null, t: 9000 },
  { type: 'error', code: 'unknown_prompt', message: 'no prompt x', grpcStatus: 'NOT_FOUND', t: 12 },
  {
    type: 'call_summary', callId: 'g-1', reason: 'hangup', t: 9000, inboundMs: 9000, wallMs: 9050.25, echo: { locked: true, delayMs: 42.5 },
    prompts: [{ promptId: 'greeting', playedMs: 1500, interrupted: true, reason: 'barge_in' }],
    bargeIns: [{ promptId: 'greeting', onsetT: 1810, pauseT: 1900, commitT: 2210, stopMs: 3, pauseLatencyMs: 90, commitLatencyMs: 400 }],
    pausesResumed: 1, inboundFrameMs: { p50: 0.2, p95: 0.5, max: 1.1, n: 450 }, vadFrameMs: { p50: 3, p95: 9, max: 14, n: 281 }, firstAudioMs: { p50: null, p95: null, n: 0 },
  },
];

describe('typed gRPC events', () => {
  it('every event type has its payload field, a message with exactly the event’s fields', () => {
    const event = message('Event');
    expect(event.oneofDecl.map((o) => o.name)).toEqual(['payload']);
    const oneof = event.field.filter((f) => f.number >= 10);
    expect(oneof.map((f) => f.name).sort()).toEqual(CallEventSchema.options.map((o) => o.shape.type.value).sort());
    for (const option of CallEventSchema.options) {
      const type = option.shape.type.value;
      const f = oneof.find((x) => x.name === type)!;
      const fields = message(f.typeName.split('.').at(-1)!).field.map((x) => x.name);
      const want = Object.keys(option.shape).filter((k) => k !== 'type' && k !== 't').map(snake);
      expect(fields.sort(), type).toEqual(want.sort());
    }
    // v1 fields unchanged: type, t, json.
    expect(event.field.filter((f) => f.number < 10).map((f) => `${f.number}:${f.name}`)).toEqual(['1:type', '2:t', '3:json']);
  });

  it('the wire’s events keep every field through the real serialiser, typed and as JSON', () => {
    for (const ev of SAMPLES) {
      const out = method.responseDeserialize(method.responseSerialize({ event: eventMessage(ev) }));
      expect(out.event.type).toBe(ev.type);
      expect(out.event.t).toBe(Math.round(ev.t));
      expect(JSON.parse(out.event.json)).toEqual(ev);
      expect(out.event.payload, ev.type).toBe(ev.type.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()));
      const { type: _t, t: _tt, ...fields } = ev;
      expect(plain(out.event[out.event.payload]), ev.type).toEqual(withoutNulls(fields));
    }
  });

  it('a field the proto lacks would be caught: the comparison sees a dropped key', () => {
    const broken = { ...eventMessage(SAMPLES[3]), bargeIn: { promptId: 'greeting', playedMs: 1500, onsetT: 1810, extra: 1 } };
    const out = method.responseDeserialize(method.responseSerialize({ event: broken }));
    expect(plain(out.event.bargeIn)).not.toEqual(withoutNulls(broken.bargeIn));
  });
});
