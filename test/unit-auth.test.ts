// gateway/ops/auth.ts: token comparison and where a request's token comes from.
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { authorized, requestToken, tokenMatches } from '../gateway/ops/auth.js';

const req = (url: string, authorization?: string) => ({ url, headers: authorization === undefined ? {} : { authorization } }) as unknown as IncomingMessage;

describe('tokenMatches', () => {
  it('equal tokens match', () => {
    expect(tokenMatches('s3cret', 's3cret')).toBe(true);
    expect(tokenMatches('x'.repeat(4096), 'x'.repeat(4096))).toBe(true);
    expect(tokenMatches('ünïcødé-🔑', 'ünïcødé-🔑')).toBe(true);
  });
  it('unequal tokens do not, whatever their lengths (no throw from timingSafeEqual)', () => {
    expect(tokenMatches('s3cret', 's3cres')).toBe(false);
    expect(tokenMatches('s3cret', 's3cret ')).toBe(false);
    expect(tokenMatches('s3cret', 'S3CRET')).toBe(false);
    expect(tokenMatches('s3cret', 's3cretand-more-that-is-much-longer')).toBe(false);
    expect(tokenMatches('s3cret', 's')).toBe(false);
  });
  it('empty, null and undefined given tokens never match', () => {
    expect(tokenMatches('s3cret', '')).toBe(false);
    expect(tokenMatches('s3cret', null)).toBe(false);
    expect(tokenMatches('s3cret', undefined)).toBe(false);
    expect(tokenMatches('', '')).toBe(false);
    expect(tokenMatches('', 'x')).toBe(false);
  });
});

describe('requestToken', () => {
  it('reads Authorization: Bearer, case-insensitive scheme, trimmed', () => {
    expect(requestToken(req('/', 'Bearer abc'))).toBe('abc');
    expect(requestToken(req('/', 'bearer   abc  '))).toBe('abc');
    expect(requestToken(req('/', 'BEARER abc.def-ghi'))).toBe('abc.def-ghi');
  });
  it('reads ?token= when there is no bearer header', () => {
    expect(requestToken(req('/calls?token=q1'))).toBe('q1');
    expect(requestToken(req('/calls?a=1&token=a%2Bb%20c'))).toBe('a+b c');
    expect(requestToken(req('/calls', 'Basic dXNlcjpwdw=='))).toBeNull();
    expect(requestToken(req('/calls?token=q2', 'Basic dXNlcjpwdw=='))).toBe('q2');
  });
  it('the header wins over the query', () => {
    expect(requestToken(req('/x?token=fromquery', 'Bearer fromheader'))).toBe('fromheader');
  });
  it('no token at all → null (also with no url)', () => {
    expect(requestToken(req('/x'))).toBeNull();
    expect(requestToken({ headers: {} } as unknown as IncomingMessage)).toBeNull();
  });
});

describe('authorized', () => {
  it('no configured token → everything allowed', () => {
    expect(authorized(undefined, req('/'))).toBe(true);
    expect(authorized('', req('/'))).toBe(true);
  });
  it('configured token → header or query must match', () => {
    expect(authorized('t0k', req('/', 'Bearer t0k'))).toBe(true);
    expect(authorized('t0k', req('/?token=t0k'))).toBe(true);
    expect(authorized('t0k', req('/', 'Bearer nope'))).toBe(false);
    expect(authorized('t0k', req('/'))).toBe(false);
    expect(authorized('t0k', req('/?token='))).toBe(false);
  });
});
