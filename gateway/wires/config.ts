// Settings of the telephony wires (section `wires` of the configuration, plus a few environment variables).
// Overrides (tests) win over the environment, which wins over defaults.
import { z } from 'zod';
import { isIP } from 'node:net';
import { ConfigError, type Config } from '../config.js';

const port = z.coerce.number().int().min(0).max(65535);

export const WiresConfigSchema = z.object({
  /** Asterisk AudioSocket TCP listener; `false` disables it. */
  audiosocket: z.boolean().default(true),
  audiosocketPort: port.default(9092),
  audiosocketHost: z.string().default('127.0.0.1'),
  /**
   * AudioSocket has no authentication of its own: connections are taken only from these addresses or CIDR ranges
   * (IPv4 or IPv6); anyone else is disconnected at once. Default: this host only. Set it to the Asterisk servers'
   * addresses when the listener is bound to a network interface, and keep that network private (see README).
   */
  audiosocketAllow: z.array(z.string().min(1)).min(1).default(['127.0.0.0/8', '::1/128']),
  /** Language and call type of an AudioSocket call that was not registered with them (POST /v1/audiosocket/calls). */
  audiosocketDefaults: z
    .object({ language: z.enum(['zh', 'en']).default('zh'), callType: z.enum(['marketing', 'notification']).default('marketing') })
    .default({ language: 'zh', callType: 'marketing' }),
  /** Most outbound audio (ms) allowed to sit in an AudioSocket's user-space write buffer: AudioSocket has no flush. */
  audiosocketMaxQueuedMs: z.number().int().min(20).max(1000).default(40),
  /** gRPC listener; `false` disables it. */
  grpc: z.boolean().default(true),
  grpcPort: port.default(50051),
  /** Loopback by default: exposing gRPC is a decision (set EARSHOT_GRPC_HOST and, off a private network, TLS). */
  grpcHost: z.string().default('127.0.0.1'),
  /** PEM files for gRPC over TLS; both or neither. Without them gRPC is plaintext (warned about off loopback). */
  grpcTlsCert: z.string().optional(),
  grpcTlsKey: z.string().optional(),
  /** PEM file of CAs whose client certificates are required (mutual TLS); needs grpcTlsCert/grpcTlsKey. */
  grpcTlsClientCa: z.string().optional(),
  /** Concurrent grpc.health.v1 Watch streams; more are refused with RESOURCE_EXHAUSTED. */
  grpcMaxHealthWatches: z.number().int().min(1).max(10000).default(64),
  /** Twilio account auth token for X-Twilio-Signature; without it Twilio streams authenticate with a `token` parameter. */
  twilioAuthToken: z.string().optional(),
  /** Public URL Twilio connects to (what it signs), e.g. wss://voice.example.com/v1/twilio. Default: from Host. */
  twilioPublicUrl: z.string().optional(),
  /**
   * Take the signed URL's host from X-Forwarded-Host (a proxy in front that sets it). Off by default: any client
   * can send that header, so it is only believed when the operator says a proxy sets it.
   */
  twilioTrustForwardedHost: z.boolean().default(false),
  /** Send a Twilio mark every N prompt frames (20 ms each). */
  twilioMarkEveryFrames: z.number().int().min(1).max(500).default(5),
});
export type WiresConfig = z.infer<typeof WiresConfigSchema>;

export function wiresConfig(config: Config, env: NodeJS.ProcessEnv = process.env): WiresConfig {
  const fromEnv: Record<string, unknown> = {};
  if (env.EARSHOT_AUDIOSOCKET_PORT) fromEnv.audiosocketPort = env.EARSHOT_AUDIOSOCKET_PORT;
  if (env.EARSHOT_AUDIOSOCKET_HOST) fromEnv.audiosocketHost = env.EARSHOT_AUDIOSOCKET_HOST;
  if (env.EARSHOT_AUDIOSOCKET_ALLOW) fromEnv.audiosocketAllow = env.EARSHOT_AUDIOSOCKET_ALLOW.split(',').map((x) => x.trim()).filter(Boolean);
  if (env.EARSHOT_GRPC_PORT) fromEnv.grpcPort = env.EARSHOT_GRPC_PORT;
  if (env.EARSHOT_GRPC_HOST) fromEnv.grpcHost = env.EARSHOT_GRPC_HOST;
  if (env.EARSHOT_GRPC_TLS_CERT) fromEnv.grpcTlsCert = env.EARSHOT_GRPC_TLS_CERT;
  if (env.EARSHOT_GRPC_TLS_KEY) fromEnv.grpcTlsKey = env.EARSHOT_GRPC_TLS_KEY;
  if (env.EARSHOT_GRPC_TLS_CLIENT_CA) fromEnv.grpcTlsClientCa = env.EARSHOT_GRPC_TLS_CLIENT_CA;
  if (env.EARSHOT_TWILIO_AUTH_TOKEN) fromEnv.twilioAuthToken = env.EARSHOT_TWILIO_AUTH_TOKEN;
  if (env.EARSHOT_TWILIO_PUBLIC_URL) fromEnv.twilioPublicUrl = env.EARSHOT_TWILIO_PUBLIC_URL;
  if (env.EARSHOT_TWILIO_TRUST_FORWARDED_HOST) fromEnv.twilioTrustForwardedHost = /^(1|true|yes|on)$/i.test(env.EARSHOT_TWILIO_TRUST_FORWARDED_HOST);
  const merged: Record<string, unknown> = { ...fromEnv, ...config.wires };
  // A gateway on an ephemeral HTTP port (tests, bench) gets ephemeral wire ports too unless they are set, so that
  // gateways running side by side do not fight over 9092/50051.
  if (config.port === 0) {
    merged.audiosocketPort ??= 0;
    merged.grpcPort ??= 0;
  }
  const r = WiresConfigSchema.safeParse(merged);
  if (!r.success) throw new ConfigError(`invalid configuration (wires):\n${z.prettifyError(r.error)}`);
  const c = r.data;
  if (!!c.grpcTlsCert !== !!c.grpcTlsKey) throw new ConfigError('invalid configuration (wires): grpcTlsCert and grpcTlsKey go together');
  if (c.grpcTlsClientCa && !c.grpcTlsCert) throw new ConfigError('invalid configuration (wires): grpcTlsClientCa needs grpcTlsCert and grpcTlsKey');
  for (const a of c.audiosocketAllow) if (!parseCidr(a)) throw new ConfigError(`invalid configuration (wires): audiosocketAllow entry ${JSON.stringify(a)} is not an IP address or CIDR range`);
  return c;
}

/** `10.0.0.5`, `10.0.0.0/8`, `::1`, `fd00::/8` → address, prefix and family; null if it is none of those. */
export function parseCidr(s: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [address, bits, ...rest] = s.split('/');
  if (rest.length) return null;
  const v = isIP(address);
  if (!v) return null;
  const max = v === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) return null;
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}
