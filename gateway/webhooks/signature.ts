// The `Earshot-Signature` header, signed as Stripe signs its webhooks: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "<t>.<raw body>">`. The timestamp is inside the MAC so a captured request cannot be replayed later with a new one;
// receivers check both the MAC and that `t` is recent.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Earshot-Signature';

export function signatureHeader(secret: string, body: string, nowSeconds = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', secret).update(`${nowSeconds}.${body}`).digest('hex');
  return `t=${nowSeconds},v1=${mac}`;
}

export type SignatureCheck = { ok: true; t: number } | { ok: false; reason: 'malformed' | 'mismatch' | 'too_old' };

/**
 * What a receiver does: recompute the MAC over the raw body exactly as received, compare in constant time, and
 * refuse a timestamp older than `toleranceSeconds`. Several `v1=` entries (a secret being rotated) are each tried.
 */
export function verifySignature(secret: string, header: string | undefined, body: string, toleranceSeconds = 300, nowSeconds = Math.floor(Date.now() / 1000)): SignatureCheck {
  if (!header) return { ok: false, reason: 'malformed' };
  const parts = header.split(',').map((p) => p.trim().split('='));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  const macs = parts.filter(([k, v]) => k === 'v1' && /^[0-9a-f]{64}$/.test(v ?? '')).map(([, v]) => Buffer.from(v, 'hex'));
  if (!Number.isInteger(t) || !macs.length) return { ok: false, reason: 'malformed' };
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  if (!macs.some((m) => timingSafeEqual(m, expected))) return { ok: false, reason: 'mismatch' };
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return { ok: false, reason: 'too_old' };
  return { ok: true, t };
}
