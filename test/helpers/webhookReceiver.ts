// A real HTTP webhook receiver on loopback: records every request with its raw body and headers, answers what the
// test tells it (a status per request), and can go down and come back on the same port.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedHook {
  headers: IncomingHttpHeaders;
  raw: string;
  body: { id: string; type: string; callId: string | null; createdAt: string; data: Record<string, unknown> };
  status: number;
  /** performance.now() when the request had arrived in full. */
  at: number;
}

export class WebhookReceiver {
  readonly requests: ReceivedHook[] = [];
  /** The status to answer a request with; default 204. */
  answer: (body: ReceivedHook['body'], attempt: number) => number = () => 204;
  private server: Server | null = null;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/earshot`;
  }

  async up(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const body = JSON.parse(raw) as ReceivedHook['body'];
        const status = this.answer(body, Number(req.headers['earshot-delivery-attempt']));
        this.requests.push({ headers: req.headers, raw, body, status, at: performance.now() });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? '' : 'receiver says no');
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  async down(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Requests the receiver acknowledged (2xx), one per event id. */
  accepted(type?: string): ReceivedHook[] {
    return this.requests.filter((r) => r.status < 300 && (!type || r.body.type === type));
  }
}
