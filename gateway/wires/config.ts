// Settings of the wires: section `wires` of the configuration (gateway/config.ts composes it; a few keys also come
// from the environment there). A wire that needs a setting of its own adds its keys here.
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);

export const WiresConfigSchema = z.strictObject({
  audiosocket: z.boolean().default(true).describe('Asterisk AudioSocket TCP listener; `false` disables it.'),
  audiosocketPort: port
    .default(9092)
    .describe('AudioSocket TCP port. A gateway on HTTP port 0 (tests) gets an ephemeral one unless set.'),
  audiosocketHost: z
    .string()
    .default('127.0.0.1')
    .describe('Address the AudioSocket listener binds. AudioSocket has no authentication: keep it on a private network.'),
  audiosocketDefaults: z
    .object({
      language: z.enum(['zh', 'en']).default('zh').describe('Language of such a call.'),
      callType: z.enum(['marketing', 'notification']).default('marketing').describe('Call type of such a call.'),
    })
    .default({ language: 'zh', callType: 'marketing' })
    .describe('Language and call type of an AudioSocket call that was not registered with them (POST /v1/audiosocket/calls).'),
  audiosocketMaxQueuedMs: z
    .number()
    .int()
    .min(20)
    .max(1000)
    .default(40)
    .describe("Most outbound audio (ms) allowed to sit in an AudioSocket's user-space write buffer: AudioSocket has no flush."),
  grpc: z.boolean().default(true).describe('gRPC listener; `false` disables it.'),
  grpcPort: port.default(50051).describe('gRPC port. A gateway on HTTP port 0 (tests) gets an ephemeral one unless set.'),
  grpcHost: z.string().default('0.0.0.0').describe('Address the gRPC listener binds.'),
  twilioAuthToken: z
    .string()
    .optional()
    .describe('Twilio account auth token for X-Twilio-Signature; without it Twilio streams authenticate with a `token` parameter.'),
  twilioPublicUrl: z
    .string()
    .optional()
    .describe('Public URL Twilio connects to (what it signs), e.g. wss://voice.example.com/v1/twilio. Default: from the Host header.'),
  twilioMarkEveryFrames: z
    .number()
    .int()
    .min(1)
    .max(500)
    .default(5)
    .describe('Send a playback mark every N prompt frames (20 ms each) on wires whose far end echoes marks (Twilio, Vonage).'),
});
export type WiresConfig = z.infer<typeof WiresConfigSchema>;
