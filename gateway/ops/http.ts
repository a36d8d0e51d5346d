// A deliberately small router: the gateway's HTTP surface is a handful of JSON routes, so a framework would add
// more than it saves. Feature modules register their routes on it.
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Handler = (req: IncomingMessage, res: ServerResponse, params: Record<string, string>, url: URL) => void | Promise<void>;

interface Route {
  method: string;
  re: RegExp;
  keys: string[];
  handler: Handler;
  public: boolean;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class Router {
  private routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler, opts: { public?: boolean } = {}): void {
    const keys: string[] = [];
    const re = new RegExp(
      '^' + pattern.replace(/:([A-Za-z]+)/g, (_m, k: string) => (keys.push(k), '([^/]+)')) + '$',
    );
    this.routes.push({ method, re, keys, handler, public: !!opts.public });
  }

  /**
   * The route for `method` and `path`, 'method' when the path exists under another method, or null. A path
   * parameter that is not valid percent-encoding is an HttpError 400, never an exception out of the server.
   */
  match(method: string, path: string): { route: Route; params: Record<string, string> } | 'method' | null {
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.re.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== method) continue;
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => (params[k] = decodePathParam(m[i + 1])));
      return { route: r, params };
    }
    return pathMatched ? 'method' : null;
  }
}

function decodePathParam(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, 'bad_request', 'path is not valid percent-encoding');
  }
}

/**
 * A request's target as a URL, or null when it is not a plain origin-form path: the caller answers 400. `new URL`
 * throws on some (`//`), and a throw in a request or upgrade handler used to take the whole process down; a
 * target starting with `//` is refused outright, since resolved against a base it names a host (`//evil/v1/stream`
 * would read as `/v1/stream`).
 */
export function requestUrl(req: Pick<IncomingMessage, 'url'>): URL | null {
  const target = req.url ?? '/';
  if (!target.startsWith('/') || target.startsWith('//')) return null;
  try {
    return new URL(`http://x${target}`);
  } catch {
    return null;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const s = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s) });
  res.end(s);
}

/** The whole request body; 413 as soon as it is over `limit` (or says it will be). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  if (Number(req.headers['content-length']) > limit) throw new HttpError(413, 'payload_too_large', `body over ${limit} bytes`);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit) throw new HttpError(413, 'payload_too_large', `body over ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage, limit = 1 << 20): Promise<unknown> {
  const body = await readBody(req, limit);
  if (!body.length) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'malformed_json', 'body is not valid JSON');
  }
}

/** A JSON object body (`{}` when empty); `null`, arrays and scalars are a 400, so no handler reads fields off them. */
export async function readJsonObject(req: IncomingMessage, limit = 1 << 20): Promise<Record<string, unknown>> {
  const v = await readJson(req, limit);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'invalid_message', 'body must be a JSON object');
  return v as Record<string, unknown>;
}
