// Text a client sent, put back into what it is told (error messages, close reasons) or into the log: bounded, so a
// client cannot have a 4 MiB `type` echoed to it and onto the log.

/** Longest error message sent to a client; validation messages can name client-chosen keys. */
export const MAX_ERROR_MESSAGE = 500;

/** A client-supplied string cut short. */
export function clip(s: string, max = 64): string {
  return s.length > max ? `${s.slice(0, max)}…(${s.length} chars)` : s;
}

/**
 * A WebSocket close reason: at most 123 bytes of UTF-8 (the protocol's limit; `ws` throws past it), cut at a
 * character boundary. A reason cut by characters was over the limit whenever it held multi-byte text.
 */
export function closeReason(s: string, maxBytes = 123): string {
  if (Buffer.byteLength(s) <= maxBytes) return s;
  let out = '';
  let n = 0;
  for (const ch of s) {
    const b = Buffer.byteLength(ch);
    if (n + b > maxBytes) break;
    out += ch;
    n += b;
  }
  return out;
}
