// The canonical form an evidence hash is computed over, written so an auditor can recompute it without our code.
//
//   hash = lowercase hex SHA-256 of the UTF-8 bytes of canonicalJson(record without `hash`)
//
// canonicalJson is RFC 8785 (JSON Canonicalization Scheme) restricted to the flat objects we store:
//   * one JSON object holding exactly the fields of HashedFields (types.ts), including `prevHash`; no nesting;
//   * keys sorted by UTF-16 code unit (all keys are ASCII, so plain byte order), no whitespace anywhere;
//   * absent optional values are `null` (never omitted); `complaint` is `true`/`false`;
//   * strings as JSON.stringify writes them: only `"` `\` and control characters escaped, non-ASCII emitted as UTF-8;
//   * numbers in ECMAScript shortest round-trip form: integral values without a fraction (`1`, not `1.0`),
//     `0.87`, exponents only beyond 1e21 / below 1e-6 (never reached by our fields).
// The first record's prevHash is 64 '0' characters. Record n's prevHash is the hash of record n-1 (by `seq`).
// `keyId` and `mac` are not hashed: the MAC is over the hash (keyring.ts).
//
// Recomputing from the sqlite3 shell + Python (note the float handling that makes Python match JSON.stringify):
//   row = dict(sqlite_row); h = row.pop('hash'); row.pop('keyId'); row.pop('mac'); row['complaint'] = bool(row['complaint'])
//   norm = lambda v: int(v) if isinstance(v, float) and v.is_integer() else v
//   s = json.dumps({k: norm(v) for k, v in row.items()}, sort_keys=True, separators=(',', ':'), ensure_ascii=False)
//   assert hashlib.sha256(s.encode('utf-8')).hexdigest() == h
// (The table's column names are exactly the field names.)
import { createHash } from 'node:crypto';
import type { HashedFields } from './types.js';

export const GENESIS_HASH = '0'.repeat(64);

const KEYS = [
  'format', 'seq', 'id', 'callId', 'callee', 'promptId', 'promptText', 'decision', 'phrase', 'transcript',
  'confidence', 'complaint', 'speechStartT', 'speechEndT', 'decidedT', 'wallTime', 'storedAt', 'audioFile',
  'audioSha256', 'audioSampleRate', 'audioSamples', 'model', 'mode', 'prevHash',
] as const satisfies readonly (keyof HashedFields)[];
// Compile-time guard: adding a field to HashedFields without listing it here fails the type check.
const exhaustive: Exclude<keyof HashedFields, (typeof KEYS)[number]> extends never ? true : false = true;
void exhaustive;

/** Exactly the hashed keys, in canonical order; anything else on the object (`hash`, `keyId`, `mac`) is ignored. */
export const HASHED_KEYS: readonly (keyof HashedFields)[] = [...KEYS].sort(); // UTF-16 code unit order (RFC 8785)

export function canonicalJson(fields: HashedFields): string {
  const obj = fields as unknown as Record<string, unknown>;
  const keys = HASHED_KEYS;
  const parts: string[] = [];
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) throw new Error(`evidence field ${k} is undefined; canonical form needs null`);
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`evidence field ${k} is not finite`);
    if (v !== null && typeof v === 'object') throw new Error(`evidence field ${k} is not a scalar`);
    parts.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
  }
  return `{${parts.join(',')}}`;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function recordHash(fields: HashedFields): string {
  return sha256Hex(canonicalJson(fields));
}
