// Network exposure (issue #13, item 8): gRPC on loopback unless told otherwise, over TLS when configured, with
// bounded health watches; AudioSocket only from allowed addresses; Twilio's signature enforced whenever its auth
// token is configured, X-Forwarded-Host believed only when configured, and Twilio messages capped before `start`.
import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../gateway/config.js';
import type { Gateway } from '../gateway/Gateway.js';
import { sourceAllowlist } from '../gateway/wires/audiosocket.js';
import { loadProtos } from '../gateway/wires/grpc.js';
import { wirePorts } from '../gateway/wires/index.js';
import { twilioSignature } from '../gateway/wires/twilio.js';
import { besideNormalCall } from './helpers/bystander.js';
import { startGateway } from './helpers/gateway.js';

const scratch = mkdtempSync(join(tmpdir(), 'earshot-net-'));

describe('wire configuration defaults', () => {
  it('gRPC binds loopback unless EARSHOT_GRPC_HOST says otherwise, and the variable is honoured', () => {
    expect(loadConfig({}).wires.grpcHost).toBe('127.0.0.1');
    expect(loadConfig({ EARSHOT_GRPC_HOST: '0.0.0.0' }).wires.grpcHost).toBe('0.0.0.0');
    expect(loadConfig({}).wires.audiosocketHost).toBe('127.0.0.1');
  });

  it('TLS files go together, and a bad allowlist entry stops start-up', () => {
    expect(() => loadConfig({ EARSHOT_GRPC_TLS_CERT: '/x.pem' })).toThrow(/grpcTlsCert and grpcTlsKey/);
    expect(() => loadConfig({ EARSHOT_AUDIOSOCKET_ALLOW: '10.0.0.0/33' })).toThrow(/audiosocketAllow/);
    expect(loadConfig({ EARSHOT_AUDIOSOCKET_ALLOW: '10.1.2.3, 192.168.0.0/16,fd00::/8' }).wires.audiosocketAllow).toEqual(['10.1.2.3', '192.168.0.0/16', 'fd00::/8']);
  });

  it('the AudioSocket allowlist matches addresses, ranges and IPv4-mapped IPv6', () => {
    const ok = sourceAllowlist(['127.0.0.0/8', '::1/128', '10.1.2.3', '192.168.0.0/16']);
    for (const a of ['127.0.0.1', '::ffff:127.0.0.1', '::1', '10.1.2.3', '192.168.44.5']) expect(ok(a), a).toBe(true);
    for (const a of ['10.1.2.4', '8.8.8.8', '::2', '', undefined, 'garbage']) expect(ok(a), String(a)).toBe(false);
  });

  it('the Docker image exposes only the HTTP port (AudioSocket and gRPC bind loopback)', () => {
    const dockerfile = readFileSync(join(import.meta.dirname, '..', 'Dockerfile'), 'utf8');
    const exposed = [...dockerfile.matchAll(/^EXPOSE\s+(.+)$/gm)].flatMap((m) => m[1].trim().split(/\s+/));
    expect(exposed).toEqual(['8080']);
  });
});

describe('gRPC', () => {
  let g: { gw: Gateway; url: string; http: string };
  let cert: Buffer;
  beforeAll(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', join(scratch, 'key.pem'), '-out', join(scratch, 'cert.pem')], { stdio: 'ignore' });
    cert = readFileSync(join(scratch, 'cert.pem'));
    g = await startGateway({ asr: { model: '' }, wires: { grpcTlsCert: join(scratch, 'cert.pem'), grpcTlsKey: join(scratch, 'key.pem'), grpcMaxHealthWatches: 3 } });
  });
  afterAll(async () => {
    await g?.gw.stop(0);
  });

  const healthClient = (creds: grpc.ChannelCredentials) => {
    const { health } = loadProtos();
    return new (health.Health as grpc.ServiceClientConstructor)(`127.0.0.1:${wirePorts(g.gw).grpc}`, creds, { 'grpc.ssl_target_name_override': 'localhost' }) as unknown as grpc.Client & {
      Check(req: object, cb: (e: grpc.ServiceError | null, r: { status: string }) => void): void;
      Watch(req: object): grpc.ClientReadableStream<{ status: string }>;
    };
  };

  it('serves over TLS when configured; a plaintext client gets nothing', async () => {
    const tls = healthClient(grpc.credentials.createSsl(cert));
    const r = await new Promise<{ status: string }>((resolve, reject) => tls.Check({}, (e, x) => (e ? reject(e) : resolve(x))));
    expect(r.status).toBe('SERVING');
    tls.close();
    const plain = healthClient(grpc.credentials.createInsecure());
    const e = await new Promise<grpc.ServiceError | null>((resolve) => plain.Check({}, (err) => resolve(err)));
    expect(e?.code).toBe(grpc.status.UNAVAILABLE);
    plain.close();
  });

  it('health Watch streams are bounded: past the limit RESOURCE_EXHAUSTED, and a freed slot is usable again', async () => {
    const c = healthClient(grpc.credentials.createSsl(cert));
    const watch = () => {
      const s = c.Watch({});
      const first = new Promise<{ status?: string; code?: number }>((resolve) => {
        s.on('data', (d) => resolve({ status: d.status }));
        s.on('error', (e: grpc.ServiceError) => resolve({ code: e.code }));
      });
      return { s, first };
    };
    const ws = [watch(), watch(), watch()];
    for (const w of ws) expect(await w.first).toEqual({ status: 'SERVING' });
    const extra = watch();
    expect(await extra.first).toEqual({ code: grpc.status.RESOURCE_EXHAUSTED });
    ws[0].s.cancel();
    await new Promise((r) => setTimeout(r, 200));
    const again = watch();
    expect(await again.first).toEqual({ status: 'SERVING' });
    for (const w of [...ws, again]) w.s.cancel();
    c.close();
  });
});

describe('AudioSocket source allowlist', () => {
  it('a connection from an address not allowed is closed before anything is read; a normal call beside is untouched', async () => {
    const g = await startGateway({ asr: { model: '' }, wires: { audiosocketAllow: ['10.9.9.9'] } });
    try {
      await besideNormalCall(g, 'beside-as', async () => {
        const s = connect(wirePorts(g.gw).audiosocket!, '127.0.0.1');
        s.on('error', () => undefined);
        const got: Buffer[] = [];
        s.on('data', (d) => got.push(d));
        await new Promise((r) => s.once('connect', r));
        // A UUID frame: would start a call if the peer were allowed.
        s.write(Buffer.concat([Buffer.from([0x01, 0x00, 0x10]), Buffer.alloc(16, 0xab)]));
        await new Promise((r) => s.once('close', r));
        expect(Buffer.concat(got).length).toBe(0);
        expect([...g.gw.calls.values()].filter((c) => c.init.wire === 'audiosocket')).toEqual([]);
      });
    } finally {
      await g.gw.stop(0);
    }
  }, 30_000);
});

describe('Twilio', () => {
  const AUTH = 'twilio-auth-token';
  let g: { gw: Gateway; url: string; http: string };
  beforeAll(async () => {
    // The Twilio auth token, and no API token: the signature alone must be enforced.
    g = await startGateway({ asr: { model: '' }, wires: { twilioAuthToken: AUTH } });
  });
  afterAll(async () => {
    await g?.gw.stop(0);
  });

  /** A Twilio-like stream: connected + start; after 500 ms, whether the call exists and how the socket closed. */
  function stream(headers: Record<string, string>, callSid: string, base = g): Promise<{ code: number; ready: boolean }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(base.url.replace('/v1/stream', '/v1/twilio'), { headers });
      let code = 0;
      ws.on('error', reject);
      ws.on('close', (c) => (code = c));
      ws.on('open', () => {
        ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
        ws.send(JSON.stringify({ event: 'start', sequenceNumber: '1', streamSid: `MZ${callSid}`, start: { callSid, customParameters: { callType: 'notification' } } }));
        setTimeout(() => {
          const ready = !!base.gw.calls.get(callSid);
          ws.terminate();
          resolve({ code, ready });
        }, 500);
      });
    });
  }

  it('with only EARSHOT_TWILIO_AUTH_TOKEN set, a stream without a valid signature is refused (4401)', async () => {
    const host = new URL(g.http).host;
    expect(await stream({}, 'CAnosig')).toMatchObject({ code: 4401, ready: false });
    expect(await stream({ 'X-Twilio-Signature': twilioSignature('wrong', `wss://${host}/v1/twilio`) }, 'CAbadsig')).toMatchObject({ code: 4401, ready: false });
    expect((await stream({ 'X-Twilio-Signature': twilioSignature(AUTH, `wss://${host}/v1/twilio`) }, 'CAgoodsig')).ready).toBe(true);
  });

  it('X-Forwarded-Host is not believed unless configured', async () => {
    const forged = { 'X-Forwarded-Host': 'evil.example', 'X-Twilio-Signature': twilioSignature(AUTH, 'wss://evil.example/v1/twilio') };
    expect(await stream(forged, 'CAforged')).toMatchObject({ code: 4401, ready: false });
    const trusting = await startGateway({ asr: { model: '' }, wires: { twilioAuthToken: AUTH, twilioTrustForwardedHost: true } });
    try {
      expect((await stream(forged, 'CAproxied', trusting)).ready).toBe(true);
    } finally {
      await trusting.gw.stop(0);
    }
  });

  it('a large message before start (no authentication yet) is refused while it is read (1009)', async () => {
    const code = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(g.url.replace('/v1/stream', '/v1/twilio'));
      ws.on('error', reject);
      ws.on('open', () => ws.send(JSON.stringify({ event: 'connected', junk: 'x'.repeat(1024 * 1024) })));
      ws.on('close', (c) => resolve(c));
    });
    expect(code).toBe(1009);
  });
});
