// docs/asyncapi.yaml is generated from the call contract's zod schemas (npm run docs:asyncapi): it must be current,
// valid AsyncAPI 3.0, and describe every message the native wire takes and sends, so that a client generated from it
// accepts what the gateway sends and sends what it accepts.
import { readFileSync } from 'node:fs';
import specs from '@asyncapi/specs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { COMMAND_TYPES } from '../gateway/call/commands.js';
import { CALL_EVENT_TYPES } from '../gateway/call/events.js';
import { ASYNCAPI_FILE, renderAsyncApi } from '../tools/asyncapi.js';

type Message = { name: string; contentType: string; payload: Record<string, unknown> };
const text = readFileSync(ASYNCAPI_FILE, 'utf8');
const doc = YAML.parse(text) as {
  channels: { stream: { address: string; messages: Record<string, Message> } };
  operations: Record<string, { action: string; messages: { $ref: string }[] }>;
};
const messages = doc.channels.stream.messages;
const byRef = (op: string) => doc.operations[op].messages.map((m) => messages[m.$ref.split('/').at(-1)!]);
const ajv = new Ajv({ strict: false, allErrors: true });

describe('AsyncAPI description of the native protocol', () => {
  it('docs/asyncapi.yaml is what the zod schemas generate (run `npm run docs:asyncapi` after changing them)', () => {
    expect(text === renderAsyncApi(), 'docs/asyncapi.yaml is stale: run `npm run docs:asyncapi`').toBe(true);
  });

  it('is valid AsyncAPI 3.0', () => {
    // The spec bundles its own copy of the draft-07 meta-schema, which Ajv already has under the same id.
    const spec = structuredClone((specs as unknown as { schemas: Record<string, { definitions: Record<string, unknown> }> }).schemas['3.0.0']);
    delete spec.definitions['http://json-schema.org/draft-07/schema'];
    const validate = ajv.compile(spec);
    expect(validate(doc), ajv.errorsText(validate.errors)).toBe(true);
    // …and the check can fail: AsyncAPI 2's `publish` is no 3.0 action.
    const v2ish = structuredClone(doc);
    v2ish.operations.receiveFromClient.action = 'publish';
    expect(validate(v2ish)).toBe(false);
  });

  it('the gateway receives start, caller audio and every command, and sends every event and prompt audio', () => {
    expect(doc.channels.stream.address).toBe('/v1/stream');
    expect(doc.operations.receiveFromClient.action).toBe('receive');
    expect(byRef('receiveFromClient').map((m) => m.name).sort()).toEqual(['start', 'callerAudio', ...COMMAND_TYPES].sort());
    expect(doc.operations.sendToClient.action).toBe('send');
    expect(byRef('sendToClient').map((m) => m.name).sort()).toEqual(['promptAudio', ...CALL_EVENT_TYPES].sort());
  });

  it('its payload schemas take what the gateway really sends and refuse what it would not', () => {
    const schema = (name: string) => ajv.compile(Object.values(messages).find((m) => m.name === name)!.payload);
    expect(schema('barge_in')({ type: 'barge_in', t: 1200, promptId: 'greeting', playedMs: 900, onsetT: 1010 })).toBe(true);
    expect(schema('barge_in')({ type: 'barge_in', t: 1200, promptId: 'greeting', playedMs: 900 })).toBe(false); // onsetT missing
    expect(schema('ready')({ type: 'ready', t: 0, callId: 'a', extra: 1 })).toBe(false); // events are strict
    expect(schema('consent')({ type: 'consent', t: 5, decision: 'maybe', phrase: null, transcript: '', confidence: 0, complaint: false, reason: '', speechEndT: null, evidenceId: null })).toBe(false);
    expect(schema('start')({ type: 'start', callId: 'c-1', audio: { encoding: 'pcm16', sampleRate: 16000 }, slots: { name: 'x' } })).toBe(true);
    expect(schema('start')({ type: 'start', callId: 'bad id!', audio: { encoding: 'pcm16', sampleRate: 16000 } })).toBe(false);
    expect(schema('dtmf')({ type: 'dtmf', digit: '#' })).toBe(true);
    expect(schema('dtmf')({ type: 'dtmf', digit: 'x' })).toBe(false);
  });
});
