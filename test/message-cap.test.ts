// gateway/wires/shared/messageCap.ts: one message per event-loop turn, and a cap that changes on an open connection.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { setMessageCap, webSocketServer } from '../gateway/wires/shared/messageCap.js';

const servers: { close(): void }[] = [];
afterEach(() => servers.splice(0).forEach((s) => s.close()));

/** A server from webSocketServer(); the client sends `n` small messages in one socket write. */
async function burst(defer: boolean, n: number): Promise<string[]> {
  const wss = webSocketServer(1024 * 1024, defer);
  const http = createServer();
  http.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws)));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  servers.push(http, wss);
  const order: string[] = [];
  const got = new Promise<void>((resolve) =>
    wss.on('connection', (ws) =>
      ws.on('message', (d) => {
        order.push(String(d));
        // A turn of the event loop: does anything else run between this message and the next?
        setImmediate(() => order.push('turn'));
        if (order.filter((x) => x !== 'turn').length === n) setTimeout(resolve, 50);
      }),
    ),
  );
  const c = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`);
  await new Promise((r) => c.once('open', r));
  const sock = (c as unknown as { _socket: import('node:net').Socket })._socket;
  sock.cork();
  for (let i = 0; i < n; i++) c.send(`m${i}`);
  sock.uncork();
  await got;
  c.close();
  return order;
}

describe('messageCap', () => {
  it('with deferred events, other work gets a turn between the messages of one socket read', async () => {
    const order = await burst(true, 20);
    // Each message is followed by its turn before the next message.
    expect(order.slice(0, 4)).toEqual(['m0', 'turn', 'm1', 'turn']);
    expect(order.filter((x) => x === 'turn')).toHaveLength(20);
  });

  it('without, the whole read is handled in one go (what a flood did to the event loop)', async () => {
    const order = await burst(false, 20);
    expect(order.indexOf('turn')).toBeGreaterThan(1);
  });

  it('a cap lowered on an open connection refuses a larger message from its header (1009), raised again takes it', async () => {
    const wss = webSocketServer(3 * 1024 * 1024, true);
    const http = createServer();
    const received: number[] = [];
    http.on('upgrade', (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws) => {
        const small = new URL(req.url!, 'http://x').searchParams.has('small');
        expect(setMessageCap(ws, small ? 1024 : 3 * 1024 * 1024)).toBe(true);
        ws.on('error', () => undefined);
        ws.on('message', (d: Buffer) => received.push(d.length));
      }),
    );
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    servers.push(http, wss);
    const port = (http.address() as AddressInfo).port;
    const send = async (q: string) => {
      const c = new WebSocket(`ws://127.0.0.1:${port}/${q}`);
      c.on('error', () => undefined);
      await new Promise((r) => c.once('open', r));
      c.send('x'.repeat(64 * 1024));
      return new Promise<number>((resolve) => {
        c.on('close', (code) => resolve(code));
        setTimeout(() => c.close(), 300);
      });
    };
    expect(await send('?small')).toBe(1009);
    expect(received).toEqual([]);
    expect(await send('?large')).toBe(1005);
    expect(received).toEqual([64 * 1024]);
  });
});
