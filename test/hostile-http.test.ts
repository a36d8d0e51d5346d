// Hostile HTTP and upgrade requests (issue #13, items 1 and 9): each gets a clear 4xx on its own connection, never
// an exception out of the server, while a normal call beside it barges in within budget and /healthz answers.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/Gateway.js';
import { besideNormalCall } from './helpers/bystander.js';
import { startGateway } from './helpers/gateway.js';
import { rawRequest, statusOf } from './helpers/raw.js';

const TOKEN = 'hostile-http-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
let gw: Gateway;
let http: string;
let url: string;
let port: number;

beforeAll(async () => {
  ({ gw, http, url } = await startGateway({ apiToken: TOKEN, asr: { model: '' } }));
  port = Number(new URL(http).port);
});

afterAll(async () => {
  await gw?.stop(0);
});

const target = () => ({ url: `${url}?token=${TOKEN}`, http });

function upgradeRequest(path: string, token = true): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
    (token ? `Authorization: Bearer ${TOKEN}\r\n` : '') +
    '\r\n'
  );
}

describe('request targets that a URL parser refuses', () => {
  it('an upgrade to // (no token) is answered 400 and the process serves on', async () => {
    await besideNormalCall(target(), 'beside-upgrade', async () => {
      for (const path of ['//', '//127.0.0.1/v1/stream', '///', '//@', 'http:', '*']) {
        const r = await rawRequest(port, upgradeRequest(path, false));
        expect(statusOf(r.response), `upgrade ${path}`).toBe(400);
        expect(r.closed).toBe(true);
      }
      // The same with a valid token: still a 400, before any wire sees it.
      expect(statusOf((await rawRequest(port, upgradeRequest('//'))).response)).toBe(400);
    });
  }, 20_000);

  it('GET // and an undecodable path parameter get 400, not a hung socket', async () => {
    await besideNormalCall(target(), 'beside-target', async () => {
      const r = await rawRequest(port, `GET // HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(statusOf(r.response)).toBe(400);
      expect(r.response).toMatch(/"error":"bad_request"/);
      const bad = await fetch(`${http}/v1/prompts/%E0%A4%A`, { headers: AUTH });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toBe('bad_request');
      const unauth = await fetch(`${http}/v1/prompts/%E0%A4%A`);
      expect(unauth.status).toBe(401);
    });
  }, 20_000);
});

describe('nothing about the routes before authentication', () => {
  it('unknown paths and wrong methods are 401 without a token, 404 / 405 with it', async () => {
    expect((await fetch(`${http}/no/such/route`)).status).toBe(401);
    expect((await fetch(`${http}/healthz`, { method: 'DELETE' })).status).toBe(401);
    expect((await fetch(`${http}/v1/calls`, { method: 'PUT' })).status).toBe(401);
    expect((await fetch(`${http}/no/such/route`, { headers: AUTH })).status).toBe(404);
    expect((await fetch(`${http}/v1/calls`, { method: 'PUT', headers: AUTH })).status).toBe(405);
    // Public routes stay public.
    expect((await fetch(`${http}/healthz`)).status).toBe(200);
    // Upgrades too: an unknown path without a token is 401, with one 404.
    expect(statusOf((await rawRequest(port, upgradeRequest('/v1/nope', false))).response)).toBe(401);
    expect(statusOf((await rawRequest(port, upgradeRequest('/v1/nope'))).response)).toBe(404);
  });

  it('a wrong token is refused on the API, the WebSocket and /metrics, and the right one is let in', async () => {
    const wrong = { authorization: 'Bearer not-the-token' };
    for (const path of ['/v1/calls', '/metrics', '/v1/dnc', '/v1/prompts', '/v1/evidence/x']) {
      expect((await fetch(`${http}${path}`, { headers: wrong })).status, path).toBe(401);
      expect((await fetch(`${http}${path}`)).status, path).toBe(401);
    }
    expect((await fetch(`${http}/v1/prompts/p`, { method: 'PUT', body: 'x' })).status).toBe(401);
    expect((await fetch(`${http}/v1/dnc`, { method: 'POST', body: '{"number":"+8613800000000"}' })).status).toBe(401);
    expect((await fetch(`${http}/metrics`, { headers: AUTH })).status).toBe(200);
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url, { headers: wrong });
      ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => (ws.close(), resolve(101)));
    });
    expect(status).toBe(401);
  });
});

describe('bodies that are valid JSON but not an object', () => {
  it('POST /v1/dnc with null, an array or a string is a 400, never a 500; a body over the JSON cap is a 413', async () => {
    await besideNormalCall(target(), 'beside-dnc', async () => {
      for (const body of ['null', '[]', '"x"', '42', 'true']) {
        const r = await fetch(`${http}/v1/dnc`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body });
        expect(r.status, body).toBe(400);
        expect(((await r.json()) as { error: string }).error).toBe('invalid_message');
      }
      const ok = await fetch(`${http}/v1/dnc`, { method: 'POST', headers: AUTH, body: JSON.stringify({ number: '+8613800001234' }) });
      expect(ok.status).toBe(201);
      // readBody's cap (1 MiB for JSON): refused with 413, the gateway's memory untouched by the rest.
      const big = await fetch(`${http}/v1/dnc`, { method: 'POST', headers: AUTH, body: JSON.stringify({ number: '+8613800001235', pad: 'x'.repeat(2 << 20) }) });
      expect(big.status).toBe(413);
      expect(((await big.json()) as { error: string }).error).toBe('payload_too_large');
    });
  }, 20_000);
});
