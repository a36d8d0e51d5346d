// Bearer-token access control shared by every wire and HTTP route. Tokens are compared in constant time and
// never logged.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { requestUrl } from './http.js';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export function tokenMatches(expected: string, given: string | undefined | null): boolean {
  if (!given) return false;
  // Hash both so lengths are equal and the comparison time does not depend on the token.
  return timingSafeEqual(digest(expected), digest(given));
}

/** The token a request carries: `Authorization: Bearer …` or `?token=` for clients that cannot set headers. */
export function requestToken(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  if (h && /^Bearer\s+/i.test(h)) return h.replace(/^Bearer\s+/i, '').trim();
  return requestUrl(req)?.searchParams.get('token') ?? null;
}

export function authorized(apiToken: string | undefined, req: IncomingMessage): boolean {
  if (!apiToken) return true;
  return tokenMatches(apiToken, requestToken(req));
}
