// Forwards an HTTP request for a call held by another instance to that instance's internal address and relays the
// answer: control commands (JSON, small) and event streams (SSE, long-lived; the upstream request ends when the
// client goes). Forwarding rather than relaying events through PostgreSQL NOTIFY: one hop between two gateways,
// no payload limit (NOTIFY carries at most 8000 bytes; `play` carries prompt audio), the holder's own status codes
// and errors reach the client unchanged, and the database carries no per-event traffic.
import { Agent, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { metrics } from '../ops/metrics.js';

/** Marks a forwarded request; an instance never forwards such a request again (no loops, at most one hop). */
export const FORWARDED_HEADER = 'x-earshot-forwarded-by';

// Keep-alive between instances: a forwarded command then costs one round trip, not a TCP handshake as well.
// Unlimited sockets: long-lived event streams must never queue commands behind them.
const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 32, timeout: 60_000 });

export interface ForwardOptions {
  /** `http://host:port` of the instance that holds the call. */
  address: string;
  /** Path and query to request there. */
  path: string;
  method: string;
  /** Body to send (already read by this instance), or none. */
  body?: Buffer;
  /** Bearer token of the fleet (the same on every instance), or null when the fleet runs without one. */
  token: string | null;
  instanceId: string;
  /** Longest wait for the holder's response headers; event streams then run as long as the call. */
  headersTimeoutMs?: number;
  kind: 'command' | 'events';
}

export class ForwardError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForwardError';
  }
}

/**
 * Sends the request to the holder and pipes its response into `res` (status, content type, body; streamed). Resolves
 * when the response is complete or the client went away; rejects with ForwardError, before anything was written to
 * `res`, when the holder cannot be reached or does not answer in time.
 */
export function forward(client: IncomingMessage, res: ServerResponse, o: ForwardOptions): Promise<void> {
  const t0 = performance.now();
  const target = new URL(o.path, o.address);
  const headers: Record<string, string> = { [FORWARDED_HEADER]: o.instanceId, accept: client.headers.accept ?? '*/*' };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.body) {
    headers['content-type'] = client.headers['content-type'] ?? 'application/json';
    headers['content-length'] = String(o.body.length);
  }
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const done = (e?: Error) => {
      if (settled) return;
      settled = true;
      if (e) reject(e);
      else resolve();
    };
    const up = request(target, { method: o.method, headers, agent }, (answer) => {
      clearTimeout(timer);
      metrics.forwardSeconds.observe({ kind: o.kind }, (performance.now() - t0) / 1000);
      const h: Record<string, string | string[]> = {};
      for (const k of ['content-type', 'cache-control', 'x-accel-buffering', 'content-length']) {
        const v = answer.headers[k];
        if (v !== undefined) h[k] = v;
      }
      res.writeHead(answer.statusCode ?? 502, h);
      res.flushHeaders?.();
      answer.pipe(res);
      answer.on('end', () => done());
      answer.on('error', () => {
        res.destroy();
        done();
      });
    });
    const timer = setTimeout(() => {
      up.destroy(new ForwardError(`instance at ${o.address} did not answer within ${o.headersTimeoutMs ?? 5000} ms`));
    }, o.headersTimeoutMs ?? 5000);
    up.on('error', (e) => {
      clearTimeout(timer);
      if (res.headersSent) {
        res.destroy();
        done();
      } else done(e instanceof ForwardError ? e : new ForwardError(`instance at ${o.address} unreachable: ${e.message}`));
    });
    // The client left (closed its event stream): stop the upstream stream too, so the holder stops sending.
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
      done();
    });
    up.end(o.body);
  });
}
