// The Earshot-Signature header as a receiver checks it: Stripe's scheme, t=<unix s>,v1=<hex HMAC-SHA256("t.body")>.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signatureHeader, verifySignature } from '../gateway/webhooks/signature.js';

const SECRET = 'whsec_test_0123456789abcdef';
const BODY = '{"id":"01J0000000000000000000000","type":"consent","data":{"decision":"granted"}}';

describe('webhook signature', () => {
  it('is the hex HMAC-SHA256 of "<t>.<body>" under the secret, with t in unix seconds', () => {
    const h = signatureHeader(SECRET, BODY, 1_765_000_000);
    const mac = createHmac('sha256', SECRET).update(`1765000000.${BODY}`).digest('hex');
    expect(h).toBe(`t=1765000000,v1=${mac}`);
  });

  it('verifies a fresh signature of the exact body', () => {
    const now = 1_765_000_000;
    expect(verifySignature(SECRET, signatureHeader(SECRET, BODY, now), BODY, 300, now + 10)).toEqual({ ok: true, t: now });
  });

  it('refuses a body changed by one byte, another secret, and a signature older than the tolerance', () => {
    const now = 1_765_000_000;
    const h = signatureHeader(SECRET, BODY, now);
    expect(verifySignature(SECRET, h, BODY.replace('granted', 'refused'), 300, now)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifySignature('another-secret-0123456', h, BODY, 300, now)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifySignature(SECRET, h, BODY, 300, now + 301)).toEqual({ ok: false, reason: 'too_old' });
  });

  it('refuses a missing or malformed header, and a timestamp swapped into a valid MAC', () => {
    const now = 1_765_000_000;
    const h = signatureHeader(SECRET, BODY, now);
    expect(verifySignature(SECRET, undefined, BODY).ok).toBe(false);
    expect(verifySignature(SECRET, 'v1=abc', BODY, 300, now)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifySignature(SECRET, h.replace(`t=${now}`, `t=${now + 5}`), BODY, 300, now)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('accepts any of several v1 entries (a secret being rotated)', () => {
    const now = 1_765_000_000;
    const old = signatureHeader('old-secret-0123456789', BODY, now);
    const both = `${old},v1=${signatureHeader(SECRET, BODY, now).split('v1=')[1]}`;
    expect(verifySignature(SECRET, both, BODY, 300, now).ok).toBe(true);
  });
});
