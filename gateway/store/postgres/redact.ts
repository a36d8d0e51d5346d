// A database URL carries its password: anything that may reach a log, an error response or /readyz goes through here.

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`; anything unparsable is withheld entirely. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) if (/pass|secret|key|token/i.test(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    return '(unparsable database URL withheld)';
  }
}

/** The URL's password (URL-decoded and raw), for scrubbing it out of error text. */
function secrets(url: string): string[] {
  try {
    const p = new URL(url).password;
    if (!p) return [];
    const decoded = decodeURIComponent(p);
    return decoded === p ? [p] : [p, decoded];
  } catch {
    return [];
  }
}

/** The same error with the URL's password removed from its message (drivers quote connection strings in errors). */
export function redactError(e: unknown, url: string): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  let msg = err.message;
  for (const s of secrets(url)) msg = msg.split(s).join('***');
  if (msg.includes(url)) msg = msg.split(url).join(redactUrl(url));
  if (msg === err.message) return err;
  const out = new Error(msg);
  (out as Error & { code?: unknown }).code = (err as Error & { code?: unknown }).code;
  return out;
}
