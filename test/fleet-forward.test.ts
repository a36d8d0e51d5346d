// Forwarding between instances, with real HTTP servers standing in for the holder and the receiving instance.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { forward, ForwardError, FORWARDED_HEADER } from '../gateway/fleet/forward.js';
import { until } from './helpers/until.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as { port: number }).port}`;
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('forward', () => {
  it('relays a command with its body and the fleet token, and the holder’s status and answer', async () => {
    let seen: { path?: string; auth?: string; by?: string; body?: string } = {};
    const holder = await serve(async (req, res) => {
      seen = { path: req.url, auth: req.headers.authorization, by: req.headers[FORWARDED_HEADER] as string, body: await body(req) };
      res.writeHead(429, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'queue_full' }));
    });
    const front = await serve(async (req, res) => {
      await forward(req, res, { address: holder, path: req.url!, method: 'POST', body: Buffer.from(await body(req)), token: 'fleet-token', instanceId: 'gw-b', kind: 'command' });
    });
    const r = await fetch(`${front}/v1/calls/c1/play?x=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"promptId":"p"}' });
    expect(r.status).toBe(429);
    expect(await r.json()).toEqual({ error: 'queue_full' });
    expect(seen).toEqual({ path: '/v1/calls/c1/play?x=1', auth: 'Bearer fleet-token', by: 'gw-b', body: '{"promptId":"p"}' });
  });

  it('streams events as they come and ends the upstream stream when the client leaves', async () => {
    let upstreamClosed = false;
    let push: ((s: string) => void) | null = null;
    const holder = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      push = (s) => res.write(s);
      req.on('close', () => (upstreamClosed = true));
    });
    const front = await serve((req, res) => void forward(req, res, { address: holder, path: req.url!, method: 'GET', token: null, instanceId: 'gw-b', kind: 'events' }));
    const ac = new AbortController();
    const r = await fetch(`${front}/v1/calls/c1/events`, { signal: ac.signal });
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    const reader = r.body!.getReader();
    await until(() => push !== null, 5000, 'the upstream stream');
    push!('event: ready\ndata: {}\n\n');
    const first = await reader.read();
    expect(Buffer.from(first.value!).toString()).toContain('event: ready');
    ac.abort();
    await until(() => upstreamClosed, 5000, 'the upstream stream to close');
  });

  it('rejects before answering when the holder is unreachable or silent', async () => {
    const silent = await serve(() => undefined);
    const errors: unknown[] = [];
    const front = await serve(async (req, res) => {
      const address = req.url === '/dead' ? 'http://127.0.0.1:1' : silent;
      try {
        await forward(req, res, { address, path: '/x', method: 'GET', token: null, instanceId: 'gw-b', headersTimeoutMs: 300, kind: 'command' });
      } catch (e) {
        errors.push(e);
        res.writeHead(502).end();
      }
    });
    expect((await fetch(`${front}/dead`)).status).toBe(502);
    expect((await fetch(`${front}/silent`)).status).toBe(502);
    expect(errors.map((e) => e instanceof ForwardError)).toEqual([true, true]);
    expect(String(errors[0])).toMatch(/unreachable/);
    expect(String(errors[1])).toMatch(/did not answer within 300 ms/);
  });
});
