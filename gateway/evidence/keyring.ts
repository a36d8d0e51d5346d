// The evidence MAC key(s) and the two MACs made with them. Pure functions over bytes and strings, shared by every
// evidence store engine and by the verifier; loading the key from a file or the environment is keyFile.ts.
//
//   key id       = first 16 hex digits of HMAC-SHA256(key, "earshot evidence key id")
//   record MAC   = hex HMAC-SHA256(key, "earshot evidence record v1\n" + record.hash)
//   checkpoint   = hex HMAC-SHA256(key, "earshot evidence checkpoint v1\n" + canonical JSON of the checkpoint)
//
// The record hash already commits to every field and, through prevHash, to every earlier record, so a MAC over it
// authenticates the record and its place in the chain. The prefixes keep a record MAC from ever passing as a
// checkpoint MAC or the other way round.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface EvidenceKey {
  readonly id: string;
  readonly secret: Buffer;
}

/** Keys newest first: `current` signs; all verify. A record may not use an older key than the record before it. */
export interface Keyring {
  readonly current: EvidenceKey;
  /** key id → position, 0 = current, higher = older. */
  rank(id: string): number | undefined;
  get(id: string): EvidenceKey | undefined;
  readonly ids: readonly string[];
}

export const MIN_KEY_BYTES = 32;

export function evidenceKey(secret: Buffer): EvidenceKey {
  if (secret.length < MIN_KEY_BYTES) throw new Error(`an evidence key needs at least ${MIN_KEY_BYTES} bytes`);
  return { id: createHmac('sha256', secret).update('earshot evidence key id').digest('hex').slice(0, 16), secret };
}

export function keyring(secrets: readonly Buffer[]): Keyring {
  if (secrets.length === 0) throw new Error('no evidence key');
  const keys = secrets.map(evidenceKey);
  const byId = new Map<string, { key: EvidenceKey; rank: number }>();
  keys.forEach((key, rank) => {
    if (!byId.has(key.id)) byId.set(key.id, { key, rank });
  });
  return {
    current: keys[0],
    rank: (id) => byId.get(id)?.rank,
    get: (id) => byId.get(id)?.key,
    ids: keys.map((k) => k.id),
  };
}

/**
 * Key material as text: hex keys (64+ hex digits = 32+ bytes) separated by newlines, commas or spaces, newest first;
 * `#` starts a comment. The message never echoes the text: it is a secret.
 */
export function parseKeyMaterial(text: string, where: string): Buffer[] {
  const tokens = text
    .split('\n')
    .map((l) => l.replace(/#.*/, ''))
    .join(' ')
    .split(/[\s,]+/)
    .filter(Boolean);
  if (tokens.length === 0) throw new Error(`${where}: no evidence key in it`);
  return tokens.map((t, i) => {
    if (!/^[0-9a-fA-F]+$/.test(t) || t.length % 2 !== 0 || t.length < MIN_KEY_BYTES * 2) {
      throw new Error(`${where}: key ${i + 1} is not ${MIN_KEY_BYTES * 2}+ hex digits (generate one with \`openssl rand -hex 32\`)`);
    }
    return Buffer.from(t, 'hex');
  });
}

function hmac(key: EvidenceKey, prefix: string, message: string): string {
  return createHmac('sha256', key.secret).update(prefix).update(message, 'utf8').digest('hex');
}

export function recordMac(key: EvidenceKey, hash: string): string {
  return hmac(key, 'earshot evidence record v1\n', hash);
}

export function checkpointMacOf(key: EvidenceKey, canonical: string): string {
  return hmac(key, 'earshot evidence checkpoint v1\n', canonical);
}

/** Constant-time comparison of two hex MACs. */
export function macEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
