import { type TokenRequest } from '@scopeguard/core';
import { authorizationValues, extractBearerToken, InvalidRequestError, InvalidTokenError, MissingTokenError, usesDpopScheme, type TokenSource } from '@scopeguard/core/adapter';

const headerOnly = { tokenSources: new Set<TokenSource>(['header']), maxTokenLength: 8192 };
const everywhere = { tokenSources: new Set<TokenSource>(['header', 'body', 'query']), maxTokenLength: 8192 };
const form = 'application/x-www-form-urlencoded';

function codeOf(request: TokenRequest, options = headerOnly): string {
  try {
    extractBearerToken(request, options);
  } catch (error) {
    return (error as { code: string }).code;
  }
  return 'OK';
}

describe('extractBearerToken (RFC 6750 §2)', () => {
  it.each([
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['bearer abc', 'abc'],
    ['BEARER abc', 'abc'],
    ['BeArEr abc', 'abc'],
    ['Bearer    abc', 'abc'],
    ['Bearer a-b_c~d+e/f==', 'a-b_c~d+e/f=='],
  ])('reads %j', (authorization, token) => {
    expect(extractBearerToken({ authorization }, headerOnly)).toBe(token);
  });

  it('answers 401 without an error code when there is no token', () => {
    expect(() => extractBearerToken({}, headerOnly)).toThrow(MissingTokenError);
    const error = (() => { try { extractBearerToken({}, headerOnly); } catch (e) { return e as MissingTokenError; } })()!;
    expect(error.status).toBe(401);
    expect(error.challenge({ realm: 'api' })).toBe('Bearer realm="api"');
  });

  // One value joining two credentials (a proxy, or Fetch's Headers, joined two fields): refused as two headers.
  it.each(['Basic eDp5, Bearer abc', 'Basic eDp5,Bearer abc', 'Bearer abc, Basic eDp5', 'Bearer abc, Bearer def', 'Digest a="1", DPoP abc', 'Basic ", Bearer abc', 'Digest a="x, Bearer abc'])(
    'refuses %j as more than one credential (400)',
    (authorization) => {
      expect(codeOf({ authorization })).toBe('ERR_BEARER_MULTIPLE');
    },
  );

  it.each(['Digest realm="a, Bearer b"', 'Digest realm="a\\", Bearer b"', 'Basic a, b'])('reads no second credential in %j (a quoted comma, no Bearer)', (authorization) => {
    expect(codeOf({ authorization })).toBe('ERR_BEARER_MISSING');
  });

  it.each(['Basic dXNlcjpwYXNz', 'Digest username="x"', 'Bearerabc', 'Token abc'])('treats other schemes (%j) as no token', (authorization) => {
    expect(codeOf({ authorization })).toBe('ERR_BEARER_MISSING');
  });

  it.each([
    ['Bearer', 'empty'],
    ['Bearer ', 'empty'],
    ['Bearer abc def', 'space inside'],
    ['Bearer abc"def', 'quote'],
    ['Bearer =abc', 'leading ='],
    ['Bearer ab=c', '= inside'],
    ['Bearer abc,def', 'comma'],
    ['Bearer ab\tc', 'tab'],
    ['Bearer ☃', 'non-ASCII'],
  ])('answers 400 invalid_request for %j (%s)', (authorization) => {
    expect(codeOf({ authorization })).toBe('ERR_BEARER_MALFORMED');
    expect(() => extractBearerToken({ authorization }, headerOnly)).toThrow(InvalidRequestError);
  });

  it('answers 400 for two Authorization headers', () => {
    expect(codeOf({ authorization: ['Bearer a', 'Bearer b'] })).toBe('ERR_BEARER_MULTIPLE');
    expect(codeOf({ authorization: ['Basic x', 'Bearer b'] })).toBe('ERR_BEARER_MULTIPLE');
  });

  it('refuses an oversized token before looking at its characters', () => {
    const big = 'a'.repeat(8193);
    expect(codeOf({ authorization: `Bearer ${big}` })).toBe('ERR_TOKEN_TOO_LARGE');
    expect(() => extractBearerToken({ authorization: `Bearer ${big}` }, headerOnly)).toThrow(InvalidTokenError);
    expect(codeOf({ authorization: `Bearer ${'"'.repeat(9000)}` })).toBe('ERR_TOKEN_TOO_LARGE');
    expect(codeOf({ authorization: `Bearer ${'a'.repeat(8192)}` })).toBe('OK');
  });

  it('ignores query and body tokens unless enabled', () => {
    expect(codeOf({ query: { access_token: 'abc' } })).toBe('ERR_BEARER_MISSING');
    expect(codeOf({ method: 'POST', contentType: form, body: { access_token: 'abc' } })).toBe('ERR_BEARER_MISSING');
  });

  it('reads query (§2.3) and form body (§2.2) tokens when enabled', () => {
    expect(extractBearerToken({ query: { access_token: 'q' } }, everywhere)).toBe('q');
    expect(extractBearerToken({ method: 'POST', contentType: `${form}; charset=utf-8`, body: { access_token: 'b' } }, everywhere)).toBe('b');
  });

  it('reads a body token only from form-encoded requests with a body', () => {
    expect(codeOf({ method: 'GET', contentType: form, body: { access_token: 'b' } }, everywhere)).toBe('ERR_BEARER_MISSING');
    expect(codeOf({ method: 'POST', contentType: 'application/json', body: { access_token: 'b' } }, everywhere)).toBe('ERR_BEARER_MISSING');
  });

  it('answers 400 when a token comes in more than one place', () => {
    expect(codeOf({ authorization: 'Bearer a', query: { access_token: 'b' } }, everywhere)).toBe('ERR_BEARER_MULTIPLE');
    expect(codeOf({ method: 'POST', contentType: form, body: { access_token: 'a' }, query: { access_token: 'b' } }, everywhere)).toBe('ERR_BEARER_MULTIPLE');
    expect(codeOf({ query: { access_token: ['a', 'b'] } }, everywhere)).toBe('ERR_BEARER_MULTIPLE');
    expect(codeOf({ query: { access_token: { x: 1 } } }, everywhere)).toBe('ERR_BEARER_MALFORMED');
  });

  it('collects every Authorization value from raw headers', () => {
    expect(authorizationValues(['Host', 'x', 'authorization', 'Bearer a'])).toBe('Bearer a');
    expect(authorizationValues(['Authorization', 'Bearer a', 'AUTHORIZATION', 'Bearer b'])).toEqual(['Bearer a', 'Bearer b']);
    expect(authorizationValues(['Host', 'x'])).toBeUndefined();
  });
});

import { verifyAccessToken, resolveOptions, type KeySource } from '@scopeguard/core/adapter';

describe('usesDpopScheme (RFC 9449 §7.1)', () => {
  it.each([
    ['DPoP abc', true],
    ['dpop abc', true],
    ['DPOP abc', true],
    ['Bearer abc', false],
    ['DPoPabc', false],
    ['DPoP', false],
  ])('reads %j as %s', (authorization, expected) => {
    expect(usesDpopScheme({ authorization })).toBe(expected);
  });

  // Extraction reads the only value of a list: so must the scheme check, or a DPoP token would be
  // taken as a bearer token and its proof never asked for (a custom TokenRequest may give a list).
  it('reads the only value of a list as extraction does', () => {
    expect(usesDpopScheme({ authorization: ['DPoP abc'] })).toBe(true);
    expect(usesDpopScheme({ authorization: ['Bearer abc'] })).toBe(false);
    expect(usesDpopScheme({ authorization: [] })).toBe(false);
    expect(usesDpopScheme({ authorization: ['DPoP a', 'DPoP b'] })).toBe(false); // refused by extraction as two
  });
});

describe('malformed JSON never hangs the verifier (found by fuzzing)', () => {
  const options = resolveOptions({ issuer: 'https://as.example', audience: 'api', jwksUri: 'https://as.example/jwks' });
  const keys: KeySource = { candidates: async () => [], isCurrent: () => false };
  it.each(['{"a', '{"a":"b', '"', '{"\\', '{"a":1,"a'])('header %j → 401 malformed', async (text) => {
    const token = `${Buffer.from(text).toString('base64url')}.${Buffer.from('{}').toString('base64url')}.c2ln`;
    await expect(verifyAccessToken(token, options.issuers[0]!, keys, Date.now() / 1000)).rejects.toMatchObject({ code: 'ERR_TOKEN_MALFORMED' });
  });
});
