// Settings of the telephony wires (section `wires` of the configuration, plus a few environment variables).
// Overrides (tests) win over the environment, which wins over defaults.
import { z } from 'zod';
import type { Config } from '../config.js';

const port = z.coerce.number().int().min(0).max(65535);

export const WiresConfigSchema = z.object({
  /** Asterisk AudioSocket TCP listener; `false` disables it. */
  audiosocket: z.boolean().default(true),
  audiosocketPort: port.default(9092),
  audiosocketHost: z.string().default('127.0.0.1'),
  /** Language and call type of an AudioSocket call that was not registered with them (POST /v1/audiosocket/calls). */
  audiosocketDefaults: z
    .object({ language: z.enum(['zh', 'en']).default('zh'), callType: z.enum(['marketing', 'notification']).default('marketing') })
    .default({ language: 'zh', callType: 'marketing' }),
  /** Most outbound audio (ms) allowed to sit in an AudioSocket's user-space write buffer: AudioSocket has no flush. */
  audiosocketMaxQueuedMs: z.number().int().min(20).max(1000).default(40),
  /** gRPC listener; `false` disables it. */
  grpc: z.boolean().default(true),
  grpcPort: port.default(50051),
  grpcHost: z.string().default('0.0.0.0'),
  /** Twilio account auth token for X-Twilio-Signature; without it Twilio streams authenticate with a `token` parameter. */
  twilioAuthToken: z.string().optional(),
  /** Public URL Twilio connects to (what it signs), e.g. wss://voice.example.com/v1/twilio. Default: from Host. */
  twilioPublicUrl: z.string().optional(),
  /** Send a Twilio mark every N prompt frames (20 ms each). */
  twilioMarkEveryFrames: z.number().int().min(1).max(500).default(5),
});
export type WiresConfig = z.infer<typeof WiresConfigSchema>;

export function wiresConfig(config: Config, env: NodeJS.ProcessEnv = process.env): WiresConfig {
  const fromEnv: Record<string, unknown> = {};
  if (env.EARSHOT_AUDIOSOCKET_PORT) fromEnv.audiosocketPort = env.EARSHOT_AUDIOSOCKET_PORT;
  if (env.EARSHOT_AUDIOSOCKET_HOST) fromEnv.audiosocketHost = env.EARSHOT_AUDIOSOCKET_HOST;
  if (env.EARSHOT_GRPC_PORT) fromEnv.grpcPort = env.EARSHOT_GRPC_PORT;
  if (env.EARSHOT_TWILIO_AUTH_TOKEN) fromEnv.twilioAuthToken = env.EARSHOT_TWILIO_AUTH_TOKEN;
  const merged: Record<string, unknown> = { ...fromEnv, ...config.wires };
  // A gateway on an ephemeral HTTP port (tests, bench) gets ephemeral wire ports too unless they are set, so that
  // gateways running side by side do not fight over 9092/50051.
  if (config.port === 0) {
    merged.audiosocketPort ??= 0;
    merged.grpcPort ??= 0;
  }
  const r = WiresConfigSchema.safeParse(merged);
  if (!r.success) throw new Error(`invalid configuration (wires):\n${z.prettifyError(r.error)}`);
  return r.data;
}
