// Settings of the wires: section `wires` of the configuration (gateway/config.ts composes it; a few keys also come
// from the environment there). A wire that needs a setting of its own adds its keys here.
import { isIP } from 'node:net';
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);

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

export const WiresConfigSchema = z
  .strictObject({
    audiosocket: z.boolean().default(true).describe('Asterisk AudioSocket TCP listener; `false` disables it.'),
    audiosocketPort: port
      .default(9092)
      .describe('AudioSocket TCP port. A gateway on HTTP port 0 (tests) gets an ephemeral one unless set.'),
    audiosocketHost: z
      .string()
      .default('127.0.0.1')
      .describe('Address the AudioSocket listener binds. AudioSocket has no authentication: keep it on a private network.'),
    audiosocketAllow: z
      .array(z.string().min(1).refine((a) => parseCidr(a) !== null, 'an IP address or CIDR range'))
      .min(1)
      .default(['127.0.0.0/8', '::1/128'])
      .describe(
        'AudioSocket has no authentication of its own: connections are taken only from these addresses or CIDR ranges ' +
          '(IPv4 or IPv6); anyone else is disconnected at once. Default: this host only. Set it to the Asterisk ' +
          "servers' addresses when the listener is bound to a network interface, and keep that network private " +
          '(environment: comma-separated).',
      ),
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
    grpcHost: z
      .string()
      .default('127.0.0.1')
      .describe('Address the gRPC listener binds. Loopback by default: exposing gRPC is a decision (and, off a private network, TLS).'),
    grpcTlsCert: z.string().optional().describe('PEM certificate for gRPC over TLS, with grpcTlsKey. Without them gRPC is plaintext (warned about off loopback).'),
    grpcTlsKey: z.string().optional().describe('PEM private key for gRPC over TLS, with grpcTlsCert.'),
    grpcTlsClientCa: z.string().optional().describe('PEM file of CAs whose client certificates are required (mutual TLS); needs grpcTlsCert/grpcTlsKey.'),
    grpcMaxHealthWatches: z
      .number()
      .int()
      .min(1)
      .max(10000)
      .default(64)
      .describe('Concurrent grpc.health.v1 Watch streams; more are refused with RESOURCE_EXHAUSTED.'),
    twilioAuthToken: z
      .string()
      .optional()
      .describe('Twilio account auth token for X-Twilio-Signature; without it Twilio streams authenticate with a `token` parameter.'),
    twilioPublicUrl: z
      .string()
      .optional()
      .describe('Public URL Twilio connects to (what it signs), e.g. wss://voice.example.com/v1/twilio. Default: from the Host header.'),
    twilioTrustForwardedHost: z
      .boolean()
      .default(false)
      .describe(
        "Take the signed URL's host from X-Forwarded-Host (a proxy in front that sets it). Off by default: any client " +
          'can send that header, so it is only believed when the operator says a proxy sets it.',
      ),
    twilioMarkEveryFrames: z
      .number()
      .int()
      .min(1)
      .max(500)
      .default(5)
      .describe('Send a playback mark every N prompt frames (20 ms each) on wires whose far end echoes marks (Twilio, Vonage).'),
  })
  .superRefine((c, ctx) => {
    if (!!c.grpcTlsCert !== !!c.grpcTlsKey) ctx.addIssue({ code: 'custom', path: ['grpcTlsKey'], message: 'grpcTlsCert and grpcTlsKey go together' });
    if (c.grpcTlsClientCa && !c.grpcTlsCert) ctx.addIssue({ code: 'custom', path: ['grpcTlsClientCa'], message: 'needs grpcTlsCert and grpcTlsKey' });
  });
export type WiresConfig = z.infer<typeof WiresConfigSchema>;
