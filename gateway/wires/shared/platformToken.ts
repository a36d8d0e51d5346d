// The gateway's API token as a telephony platform can carry it on its WebSocket upgrade. Most platforms cannot set
// a bearer header, but each has a way of its own: HTTP Basic credentials (jambonz `wsAuth`, FreeSWITCH
// MOD_AUDIO_BASIC_AUTH_*, Asterisk websocket_client.conf `username`/`password`, Exotel `wss://KEY:TOKEN@host`), a
// header of its own (Telnyx `x-telnyx-streaming-auth-token`), or the URL (`?token=`).
import type { IncomingMessage } from 'node:http';
import { requestToken, tokenMatches } from '../../ops/auth.js';

/** Every credential the upgrade carries: bearer or `?token=`, the Basic password (or user, with no password), `header`. */
export function platformCredentials(req: IncomingMessage, header?: string): string[] {
  const out: string[] = [];
  const bearer = requestToken(req);
  if (bearer) out.push(bearer);
  const auth = req.headers.authorization;
  const basic = auth && /^Basic\s+(\S+)/i.exec(auth);
  if (basic) {
    const pair = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = pair.indexOf(':');
    const user = colon < 0 ? pair : pair.slice(0, colon);
    const password = colon < 0 ? '' : pair.slice(colon + 1);
    if (password || user) out.push(password || user);
  }
  const own = header ? req.headers[header] : undefined;
  if (typeof own === 'string' && own) out.push(own);
  return out;
}

/** True when no API token is configured, or one of the upgrade's credentials is it. */
export function platformAuthorized(apiToken: string | undefined, req: IncomingMessage, header?: string): boolean {
  if (!apiToken) return true;
  // Every candidate is compared (no early exit): the time taken does not say which one matched.
  let ok = false;
  for (const c of platformCredentials(req, header)) if (tokenMatches(apiToken, c)) ok = true;
  return ok;
}
