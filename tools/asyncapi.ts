// Writes docs/asyncapi.yaml, the AsyncAPI 3.0 description of the native WebSocket protocol (/v1/stream), from the
// call contract's zod schemas: the `start` message, every command and every event, so the description cannot drift
// from what the gateway parses and sends: `npm run docs:asyncapi`. test/asyncapi.test.ts fails when the file is
// stale, and validates it against the AsyncAPI 3.0 JSON Schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import YAML from 'yaml';
import { z } from 'zod';
import { CommandMessage } from '../gateway/call/commands.js';
import { CallEventSchema } from '../gateway/call/events.js';
import { StartMessage } from '../gateway/call/start.js';
import { PROJECT_ROOT } from '../gateway/models.js';

export const ASYNCAPI_FILE = join(PROJECT_ROOT, 'docs/asyncapi.yaml');

type Json = Record<string, unknown>;

/** A zod schema as an AsyncAPI payload (the AsyncAPI schema format is a superset of JSON Schema draft 7). */
function payload(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _drop, ...json } = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' }) as Json;
  return json;
}

const COMMAND_SUMMARY: Record<string, string> = {
  play: 'Queue prompt audio (base64, the call\'s encoding and rate, up to 60 s), or play the recorded prompt `promptId`.',
  say: 'Synthesise and play text (approved text only on marketing calls).',
  expect_consent: 'Open a consent decision window: the callee\'s next utterance answers `promptId`.',
  stop_prompt: 'Stop the current prompt and drop the queue.',
  hangup: 'End the call; `call_summary` follows, then the socket closes.',
  dtmf: 'A key press, for wires that deliver DTMF in-band to the client.',
};

export function renderAsyncApi(): string {
  const version = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const messages: Record<string, Json> = {
    start: {
      name: 'start',
      title: 'start',
      summary: 'The first message: answered by `ready` once the pipeline is live, or `rejected {reason}`.',
      contentType: 'application/json',
      payload: payload(StartMessage, 'input'),
    },
    callerAudio: {
      name: 'callerAudio',
      title: 'caller audio (binary frame)',
      summary: 'Caller audio in the negotiated encoding and rate (pcm16: signed 16-bit little-endian), up to 1 s a frame (20 ms typical).',
      contentType: 'application/octet-stream',
      payload: { type: 'string', format: 'binary' },
    },
  };
  const received = ['start', 'callerAudio'];
  for (const option of CommandMessage.options) {
    const type = option.shape.type.value;
    messages[type] = { name: type, title: type, summary: COMMAND_SUMMARY[type], contentType: 'application/json', payload: payload(option, 'input') };
    received.push(type);
  }
  messages.promptAudio = {
    name: 'promptAudio',
    title: 'prompt audio (binary frame)',
    summary: 'Prompt audio in the call\'s encoding and rate, 20 ms a frame, paced to real time (playout.lookaheadMs ahead at most).',
    contentType: 'application/octet-stream',
    payload: { type: 'string', format: 'binary' },
  };
  const sent = ['promptAudio'];
  for (const option of CallEventSchema.options) {
    const type = option.shape.type.value;
    const key = `event_${type}`;
    messages[key] = { name: type, title: type, summary: option.description, contentType: 'application/json', payload: payload(option, 'output') };
    sent.push(key);
  }
  const ref = (key: string) => ({ $ref: `#/channels/stream/messages/${key}` });
  const doc = {
    asyncapi: '3.0.0',
    info: {
      title: 'earshot native WebSocket protocol',
      version,
      description:
        'One WebSocket per call: text frames are JSON (the client\'s `start` and commands; the gateway\'s events), binary ' +
        'frames are audio. Generated from the call contract\'s zod schemas (gateway/call/start.ts, commands.ts, events.ts) ' +
        'by `npm run docs:asyncapi`; docs/protocol.md explains the protocol. The same events reach the control API\'s ' +
        'Server-Sent Events streams (docs/openapi.yaml) and gRPC (proto/earshot/v1/earshot.proto).',
    },
    servers: {
      gateway: {
        host: 'localhost:8080',
        protocol: 'ws',
        description: 'The gateway\'s HTTP port (EARSHOT_PORT).',
        security: [{ $ref: '#/components/securitySchemes/bearer' }, { $ref: '#/components/securitySchemes/tokenQuery' }],
      },
    },
    channels: {
      stream: {
        address: '/v1/stream',
        title: 'A call',
        description: 'A call from `start` to `call_summary`: the socket closes after it.',
        messages,
      },
    },
    operations: {
      receiveFromClient: {
        action: 'receive',
        channel: { $ref: '#/channels/stream' },
        summary: 'What the gateway takes from the client: `start` first, then caller audio and commands.',
        messages: received.map(ref),
      },
      sendToClient: {
        action: 'send',
        channel: { $ref: '#/channels/stream' },
        summary: 'What the gateway sends: the call\'s events and prompt audio.',
        messages: sent.map(ref),
      },
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'EARSHOT_API_TOKEN on the upgrade request, when set.' },
        tokenQuery: { type: 'httpApiKey', name: 'token', in: 'query', description: 'The same token as `?token=`, for clients that cannot set headers.' },
      },
    },
  };
  return `# Generated by \`npm run docs:asyncapi\` (tools/asyncapi.ts) from the call contract's zod schemas: do not edit.\n${YAML.stringify(doc, { lineWidth: 0 })}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(ASYNCAPI_FILE, renderAsyncApi());
  process.stdout.write(`wrote ${ASYNCAPI_FILE}\n`);
}
