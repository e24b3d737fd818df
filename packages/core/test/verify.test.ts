import { nodePlatform } from '../src/keys/platform/node';
import { generateKeyPair, exportJWK, SignJWT } from 'jose';
import { createHmac, randomBytes } from 'node:crypto';
import { Scopeguard, type ScopeguardOptions } from '@scopeguard/core';
import { extractBearerToken, InvalidRequestError, parseCompactJws } from '@scopeguard/core/adapter';
import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createTestIssuer, signCompact, type TestIssuer } from '@scopeguard/testing';

let issuer: TestIssuer;

beforeAll(async () => {
  issuer = await createTestIssuer({ algorithms: ['RS256', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA'] });
});
afterAll(() => issuer.close());

function guard(options: Partial<ScopeguardOptions> = {}): Scopeguard {
  return new Scopeguard({
    issuer: issuer.issuer,
    audience: issuer.audience,
    jwksUri: issuer.jwksUri,
    algorithms: ['RS256', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA'],
    ...options,
  });
}

async function codeOf(engine: Scopeguard, token: string): Promise<string> {
  try {
    await engine.verify(token);
    return 'OK';
  } catch (error) {
    return (error as { code: string }).code;
  }
}

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

describe('verification (RFC 9068, RFC 8725)', () => {
  it.each(['RS256', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const)('accepts a valid %s token and builds the principal', async (alg) => {
    const token = await issuer.mint({ alg, clientId: 'worker', scope: 'orders.read orders.write' });
    const principal = await guard().verify(token);
    expect(principal).toMatchObject({
      clientId: 'worker',
      subject: 'worker',
      issuer: issuer.issuer,
      audience: [issuer.audience],
      scopes: ['orders.read', 'orders.write'],
      permissions: ['orders.read', 'orders.write'],
      isClientCredentials: true,
    });
    expect(principal.expiresAt).toBeInstanceOf(Date);
    expect(Object.isFrozen(principal.claims)).toBe(true);
  });

  it('accepts only allowed algorithms', async () => {
    const token = await issuer.mint({ alg: 'ES256' });
    expect(await codeOf(guard({ algorithms: ['RS256'] }), token)).toBe('ERR_TOKEN_ALG_NOT_ALLOWED');
  });

  it.each(['none', 'None', 'NONE', 'nOnE'])('refuses alg %s with and without a signature', async (alg) => {
    const header = b64({ alg, typ: 'at+jwt' });
    const payload = b64({ iss: issuer.issuer, aud: issuer.audience, exp: Math.floor(Date.now() / 1000) + 60, client_id: 'x' });
    expect(await codeOf(guard(), `${header}.${payload}.`)).toBe('ERR_TOKEN_ALG_NOT_ALLOWED');
    expect(await codeOf(guard(), `${header}.${payload}.c2ln`)).toBe('ERR_TOKEN_ALG_NOT_ALLOWED');
  });

  it('refuses HS256 signed with the issuer public key (key confusion)', async () => {
    const jwk = issuer.jwks().keys.find((key) => key.kty === 'RSA')!;
    const header = b64({ alg: 'HS256', typ: 'at+jwt', kid: jwk.kid });
    const payload = b64({ iss: issuer.issuer, aud: issuer.audience, exp: Math.floor(Date.now() / 1000) + 60 });
    for (const secret of [JSON.stringify(jwk), `${jwk.n}`]) {
      const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
      expect(await codeOf(guard(), `${header}.${payload}.${signature}`)).toBe('ERR_TOKEN_ALG_NOT_ALLOWED');
    }
  });

  it('never trusts an embedded jwk, jku or x5u', async () => {
    const attacker = await generateKeyPair('RS256', { extractable: true });
    const attackerJwk = await exportJWK(attacker.publicKey);
    for (const extra of [{ jwk: attackerJwk }, { jku: 'http://127.0.0.1:1/jwks' }, { x5u: 'http://127.0.0.1:1/cert' }]) {
      const token = await signCompact(
        { alg: 'RS256', typ: 'at+jwt', ...extra },
        { iss: issuer.issuer, aud: issuer.audience, exp: Math.floor(Date.now() / 1000) + 60 },
        attacker.privateKey,
      );
      expect(await codeOf(guard(), token)).toBe('ERR_TOKEN_SIGNATURE');
    }
  });

  it('refuses a token signed by an unknown key with a known kid', async () => {
    const attacker = await generateKeyPair('RS256');
    const token = await new SignJWT({ client_id: 'x' })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: issuer.kids[0] })
      .setIssuer(issuer.issuer).setAudience(issuer.audience).setExpirationTime('1m')
      .sign(attacker.privateKey);
    expect(await codeOf(guard(), token)).toBe('ERR_TOKEN_SIGNATURE');
    // The same header and claims signed by the issuer's key pass: only the key was wrong.
    const [header, payload] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>);
    expect(await codeOf(guard(), await issuer.sign(payload!, header!))).toBe('OK');
  });

  it('refuses tampered payloads and signatures', async () => {
    const token = await issuer.mint({ scope: 'orders.read' });
    const [h, p, s] = token.split('.');
    const forged = b64({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), scope: 'orders.admin' });
    expect(await codeOf(guard(), `${h}.${forged}.${s}`)).toBe('ERR_TOKEN_SIGNATURE');
    expect(await codeOf(guard(), `${h}.${p}.${s!.slice(0, -4)}`)).toMatch(/ERR_TOKEN_(SIGNATURE|MALFORMED)/);
    expect(await codeOf(guard(), `${h}.${p}`)).toBe('ERR_TOKEN_MALFORMED');
    expect(await codeOf(guard(), `${h}.${p}.${s}.x.y`)).toBe('ERR_TOKEN_MALFORMED');
  });

  it('requires exp and checks it with tolerance', async () => {
    const engine = guard({ clockTolerance: 5 });
    expect(await codeOf(engine, await issuer.mint({ claims: { exp: undefined } }))).toBe('ERR_TOKEN_CLAIM');
    expect(await codeOf(engine, await issuer.mint({ expiresIn: -3 }))).toBe('OK');
    expect(await codeOf(engine, await issuer.mint({ expiresIn: -10 }))).toBe('ERR_TOKEN_EXPIRED');
    expect(await codeOf(engine, await issuer.mint({ claims: { exp: 'soon' } }))).toBe('ERR_TOKEN_CLAIM');
  });

  it('checks nbf and iat with tolerance', async () => {
    const engine = guard({ clockTolerance: 5 });
    expect(await codeOf(engine, await issuer.mint({ notBefore: 3 }))).toBe('OK');
    expect(await codeOf(engine, await issuer.mint({ notBefore: 60 }))).toBe('ERR_TOKEN_NOT_YET_VALID');
    expect(await codeOf(engine, await issuer.mint({ issuedAt: 60 }))).toBe('ERR_TOKEN_NOT_YET_VALID');
    expect(await codeOf(guard({ maxTokenAge: 60 }), await issuer.mint({ issuedAt: -120, expiresIn: 300 }))).toBe('ERR_TOKEN_EXPIRED');
  });

  it('matches iss exactly and aud by membership', async () => {
    expect(await codeOf(guard(), await issuer.mint({ issuer: `${issuer.issuer}/` }))).toBe('ERR_TOKEN_CLAIM');
    expect(await codeOf(guard(), await issuer.mint({ issuer: 'https://evil.example' }))).toBe('ERR_TOKEN_CLAIM');
    expect(await codeOf(guard(), await issuer.mint({ audience: 'https://other.api' }))).toBe('ERR_TOKEN_CLAIM');
    expect(await codeOf(guard(), await issuer.mint({ audience: ['https://other.api', issuer.audience] }))).toBe('OK');
    expect(await codeOf(guard(), await issuer.mint({ audience: ['https://other.api'] }))).toBe('ERR_TOKEN_CLAIM');
    expect(await codeOf(guard(), await issuer.mint({ claims: { aud: undefined } }))).toBe('ERR_TOKEN_CLAIM');
  });

  it.each([
    ['at+jwt', false, 'OK'], ['application/at+jwt', false, 'OK'], ['AT+JWT', false, 'OK'], ['JWT', false, 'OK'], [undefined, false, 'OK'],
    ['dpop+jwt', false, 'ERR_TOKEN_TYPE'], ['secevent+jwt', false, 'ERR_TOKEN_TYPE'], [7, false, 'ERR_TOKEN_TYPE'],
    [['at+jwt'], false, 'ERR_TOKEN_TYPE'], ['at+jwtx', false, 'ERR_TOKEN_TYPE'], ['application/at+jwt ', false, 'ERR_TOKEN_TYPE'], [['at+jwt'], true, 'ERR_TOKEN_TYPE'],
    ['at+jwt', true, 'OK'], ['application/at+jwt', true, 'OK'], ['JWT', true, 'ERR_TOKEN_TYPE'], [undefined, true, 'ERR_TOKEN_TYPE'],
  ])('typ %j with strict=%s → %s', async (typ, strict, expected) => {
    expect(await codeOf(guard({ strict }), await issuer.mint({ header: { typ } }))).toBe(expected);
  });

  it.each(['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'])('strict mode requires %s', async (claim) => {
    const code = await codeOf(guard({ strict: true }), await issuer.mint({ claims: { [claim]: undefined } }));
    expect(code).toMatch(/ERR_TOKEN_CLAIM/);
  });

  it('refuses crit extensions, including b64:false', async () => {
    // Signed by the issuer's own key, so that only the crit rule can refuse them.
    const claims = { iss: issuer.issuer, aud: issuer.audience, exp: Math.floor(Date.now() / 1000) + 60, client_id: 'c' };
    expect(await codeOf(guard(), await issuer.sign(claims, { crit: ['b64'], b64: false }))).toBe('ERR_TOKEN_HEADER');
    expect(await codeOf(guard(), await issuer.sign(claims, { crit: ['exp'] }))).toBe('ERR_TOKEN_HEADER');
    expect(await codeOf(guard(), await issuer.sign(claims))).toBe('OK');
    const key = await generateKeyPair('RS256');
    const unknown = await signCompact({ alg: 'RS256', crit: ['exp'], exp: 1 }, { a: 1 }, key.privateKey);
    expect(await codeOf(guard(), unknown)).toBe('ERR_TOKEN_HEADER');
  });

  it('refuses kid values that are not short strings', async () => {
    for (const kid of [42, '', 'k'.repeat(300), { $ne: null }]) {
      expect(await codeOf(guard(), await issuer.mint({ header: { kid } }))).toBe('ERR_TOKEN_HEADER');
    }
    for (const kid of ['../../etc/passwd', "' OR 1=1 --"]) {
      expect(await codeOf(guard({ jwks: { cooldownMs: 60_000 } }), await issuer.mint({ header: { kid } }))).toBe('ERR_TOKEN_KEY_NOT_FOUND');
    }
  });

  it('names what is wrong with the number of segments', () => {
    const description = (token: string) => {
      try {
        parseCompactJws(token, (text) => {
          throw new Error(text);
        });
        return 'parsed';
      } catch (error) {
        return (error as Error).message;
      }
    };
    const notCompact = 'the token is not a JWS in compact serialization';
    for (const token of ['', 'abc', 'a.b', 'a.b.c.d', '...', 'a.b.c.d.e.f', '......']) expect(description(token)).toBe(notCompact);
    for (const token of ['a.b.c.d.e', '....']) expect(description(token)).toBe('encrypted tokens (JWE) are not accepted');
    expect(description(`${b64({ alg: 'RS256' })}.${b64({})}.`)).toBe('the token is not made of three base64url segments');
    expect(description(`${b64({ alg: 'RS256' })}..abc`)).toBe('the token is not made of three base64url segments');
    expect(description(`.${b64({})}.abc`)).toMatch(/not a JWS in compact serialization: its first segment/);
    expect(description(`${b64({ alg: 'RS256' })}.${b64({ a: 1 })}.abc`)).toBe('parsed');
  });

  it('parses a header shared by many tokens once, and still checks it for each token', async () => {
    const fail = (text: string): never => {
      throw new Error(text);
    };
    const header = b64({ alg: 'RS256', kid: 'k1', nested: { x: [1] } });
    const first = parseCompactJws(`${header}.${b64({ n: 1 })}.abc`, fail);
    const second = parseCompactJws(`${header}.${b64({ n: 2 })}.abk`, fail);
    expect(second.header).toEqual({ alg: 'RS256', kid: 'k1', nested: { x: [1] } });
    expect(second.payload).toEqual({ n: 2 });
    // Frozen as parsed, the payload too, all the way down (a verdict shares them with every request).
    const claims = parseCompactJws(`${header}.${b64({ a: { b: [{ c: 1 }] } })}.abc`, fail).payload as { a: { b: Array<{ c: number }> } };
    expect([claims, claims.a, claims.a.b, claims.a.b[0]].every((part) => Object.isFrozen(part))).toBe(true);
    // Shared, so nobody can change it for the next token.
    expect(Object.isFrozen(second.header) && Object.isFrozen((second.header.nested as { x: unknown[] }).x)).toBe(true);
    expect(first.header).toBe(second.header);
    // The caller's header rules run on every token, remembered header or not.
    const refuse = () => fail('header refused');
    expect(() => parseCompactJws(`${header}.${b64({ n: 3 })}.abs`, fail, refuse)).toThrow('header refused');
    // A header that failed is never remembered: the same segment fails again.
    const duplicated = Buffer.from('{"alg":"RS256","alg":"none"}').toString('base64url');
    for (let i = 0; i < 2; i++) expect(() => parseCompactJws(`${duplicated}.${b64({})}.abc`, fail)).toThrow(/duplicate/);
    const nonCanonical = `${b64({ alg: 'RS256' }).slice(0, -1)}${String.fromCharCode(b64({ alg: 'RS256' }).at(-1)!.charCodeAt(0) + 1)}`;
    for (let i = 0; i < 2; i++) expect(() => parseCompactJws(`${nonCanonical}.${b64({})}.abc`, fail)).toThrow();
    // Many distinct headers (an attacker's random kids) still parse right after the memory starts over.
    for (let i = 0; i < 40; i++) expect(parseCompactJws(`${b64({ alg: 'RS256', kid: `r${i}` })}.${b64({})}.abc`, fail).header.kid).toBe(`r${i}`);
    expect(parseCompactJws(`${header}.${b64({})}.abc`, fail).header.kid).toBe('k1');
    // A header longer than real ones (an attacker's) is parsed each time, not kept.
    const longHeader = b64({ alg: 'RS256', kid: 'x'.repeat(600) });
    const long = parseCompactJws(`${longHeader}.${b64({})}.abc`, fail);
    expect(parseCompactJws(`${longHeader}.${b64({})}.abk`, fail).header).not.toBe(long.header);
    expect(long.header).toEqual({ alg: 'RS256', kid: 'x'.repeat(600) });
    // Nested deeper than any stack (a large token, or a DPoP proof): still a parse, never a RangeError (a 500).
    const deep = `${b64(`{"alg":"RS256","z":${'['.repeat(20_000)}${']'.repeat(20_000)}}`)}.${b64({})}.abc`;
    expect(() => parseCompactJws(deep, fail)).not.toThrow();
  });

  it('refuses a JWE and non-base64url segments', async () => {
    expect(await codeOf(guard(), 'eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d')).toBe('ERR_TOKEN_MALFORMED');
    expect(await codeOf(guard(), 'e+J.a.b')).toBe('ERR_TOKEN_MALFORMED');
    expect(await codeOf(guard(), `${b64('not json')}.${b64({})}.abc`)).toBe('ERR_TOKEN_MALFORMED');
  });

  it('refuses user tokens when client credentials are required', async () => {
    const engine = guard({ requireClientCredentials: true });
    expect(await codeOf(engine, await issuer.mint({ clientId: 'app', subject: 'alice' }))).toBe('ERR_TOKEN_NOT_CLIENT');
    expect(await codeOf(engine, await issuer.mint({ clientId: 'app' }))).toBe('OK');
    expect(await codeOf(guard(), await issuer.mint({ clientId: 'app', subject: 'alice' }))).toBe('OK');
  });
});

describe('verification hardening', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const claims = () => ({ iss: issuer.issuer, aud: issuer.audience, exp: now() + 60, client_id: 'c' });
  const rsa = () => issuer.jwks().keys.find((key) => key.kty === 'RSA')!;

  it('refuses non-finite times (1e400 parses to Infinity)', async () => {
    for (const claim of ['exp', 'nbf', 'iat']) {
      const exp = claim === 'exp' ? '' : `"exp":${now() + 60},`;
      const text = `{"iss":"${issuer.issuer}","aud":"${issuer.audience}",${exp}"client_id":"c","${claim}":1e400}`;
      expect(await codeOf(guard(), await issuer.sign(text))).toMatch(/^ERR_TOKEN_(CLAIM|NOT_YET_VALID)$/);
    }
    expect(await codeOf(guard(), await issuer.sign(claims()))).toBe('OK');
  });

  it('refuses duplicate member names in header or payload, even when properly signed', async () => {
    const body = `{"iss":"${issuer.issuer}","aud":"${issuer.audience}","exp":${now() + 60},"scope":"a","scope":"admin"}`;
    expect(await codeOf(guard(), await issuer.sign(body))).toBe('ERR_TOKEN_MALFORMED');
    const escaped = `{"iss":"${issuer.issuer}","aud":"${issuer.audience}","exp":${now() + 60},"scope":"a","\\u0073cope":"b"}`;
    expect(await codeOf(guard(), await issuer.sign(escaped))).toBe('ERR_TOKEN_MALFORMED');
    const nested = `{"iss":"${issuer.issuer}","aud":"${issuer.audience}","exp":${now() + 60},"x":{"a":1,"a":2}}`;
    expect(await codeOf(guard(), await issuer.sign(nested))).toBe('ERR_TOKEN_MALFORMED');
    const siblings = `{"iss":"${issuer.issuer}","aud":"${issuer.audience}","exp":${now() + 60},"x":{"a":1},"y":{"a":2},"z":[{"a":1},{"a":1}]}`;
    expect(await codeOf(guard(), await issuer.sign(siblings))).toBe('OK');
    expect(await codeOf(guard(), await issuer.sign(claims(), { kid: rsa().kid, typ: 'at+jwt', alg: 'RS256', cty: undefined }))).toBe('OK');
  });

  it('refuses non-canonical base64url, even when the bytes are the same', async () => {
    const token = await issuer.mint();
    const [h, p, s] = token.split('.');
    // The last character of a 256-byte RS256 signature carries 4 unused bits; set one of them.
    const last = s!.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[alphabet.indexOf(last) | 1]!;
    if (twin !== last) expect(await codeOf(guard(), `${h}.${p}.${s!.slice(0, -1)}${twin}`)).toBe('ERR_TOKEN_MALFORMED');
    expect(await codeOf(guard(), `${h}.${p}.${s}`)).toBe('OK');
  });

  it('says a string that is not a JWS at all is not one (not that its base64url is non-canonical)', async () => {
    const descriptionOf = async (token: string) => {
      try {
        await guard().verify(token);
      } catch (error) {
        return (error as { code: string; description: string });
      }
      throw new Error('accepted');
    };
    for (const token of ['not.a.token', 'hello.world.x', 'a.b.c', 'ey.e30.x', 'Zm9v.YmFy.YmF6', 'a+b.e30.x']) {
      const { code, description } = await descriptionOf(token);
      expect({ token, code, description }).toEqual({ token, code: 'ERR_TOKEN_MALFORMED', description: 'the token is not a JWS in compact serialization: its first segment is not a base64url-encoded JSON header' });
    }
    // A real header with a tampered encoding is what "non-canonical" describes.
    const [h, p, s] = (await issuer.mint()).split('.');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const pTwin = p!.length % 4 === 0 ? undefined : `${p!.slice(0, -1)}${alphabet[alphabet.indexOf(p!.at(-1)!) | 1]}`;
    if (pTwin !== undefined && pTwin !== p) expect((await descriptionOf(`${h}.${pTwin}.${s}`)).description).toBe('the token uses non-canonical base64url');
  });

  it('refuses nested JWTs (cty) and non-object payloads', async () => {
    expect(await codeOf(guard(), await issuer.mint({ header: { cty: 'JWT' } }))).toBe('ERR_TOKEN_TYPE');
    const key = (await generateKeyPair('RS256')).privateKey;
    const nested = await signCompact({ alg: 'RS256', kid: rsa().kid }, 'eyJhbGciOiJub25lIn0.e30.', key);
    expect(await codeOf(guard(), nested)).toBe('ERR_TOKEN_MALFORMED');
  });

  it('refuses invalid UTF-8 in the payload', async () => {
    const token = await issuer.mint();
    const [h, , s] = token.split('.');
    const bad = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]).toString('base64url');
    expect(await codeOf(guard(), `${h}.${bad}.${s}`)).toMatch(/ERR_TOKEN_(MALFORMED|SIGNATURE)/);
  });
});

/** What WebCrypto's path reads from bytes: UTF-8 text (a BOM dropped), else nothing. */
const fatalDecoder = new TextDecoder('utf-8', { fatal: true });
const fatalText = (bytes: Uint8Array) => {
  try {
    return fatalDecoder.decode(bytes);
  } catch {
    return undefined;
  }
};

describe("a segment's text on Node (one reused buffer) against WebCrypto's path (TextDecoder, fatal)", () => {
  it('reads every byte sequence as a fatal TextDecoder does: UTF-8 text, a BOM dropped, anything else not text', () => {
    const web = fatalText;
    const cases: number[][] = [
      [...Buffer.from('{"sub":"orders-worker","scope":"a b"}')],
      [...Buffer.from('{"name":"Zoë 👍 ß 東京"}')],
      [0xef, 0xbb, 0xbf, ...Buffer.from('{"a":1}')], // a BOM
      [0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf, 0x7b, 0x7d], // two: only the first is dropped
      [0x7b, 0xff, 0xfe, 0x7d], // not UTF-8
      [0xc0, 0xaf], // overlong
      [0xed, 0xa0, 0x80], // a surrogate
      [0xe2, 0x82], // truncated
      [0xf4, 0x90, 0x80, 0x80], // beyond U+10FFFF
      [],
    ];
    for (let i = 0; i < 300; i++) cases.push([...randomBytes(i % 40)]);
    // A segment longer than the buffer starts with, so that it grows.
    cases.push([...Buffer.from(JSON.stringify({ long: 'x'.repeat(10_000) }))]);
    for (const bytes of cases) {
      const segment = Buffer.from(bytes).toString('base64url');
      expect(nodePlatform.decodeCanonicalBase64urlText!(segment)).toBe(web(Uint8Array.from(bytes)));
    }
  });
});

/**
 * The segment rules as RFC 7515 §2 and RFC 6750 §2.1 state them, by pattern, apart from how the code
 * checks them: on Node a segment is decoded once and re-encoded (Node's decoder skips what is not
 * base64 and takes `+` and `/`, so only the comparison makes it strict).
 */
describe('base64url segments on Node: decoded once, and only their canonical encoding accepted', () => {
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const canonical = (segment: string) =>
    /^[A-Za-z0-9_-]*$/.test(segment) && segment.length % 4 !== 1 && (ALPHABET.indexOf(segment.at(-1) ?? 'A') & (segment.length % 4 === 2 ? 0b1111 : segment.length % 4 === 3 ? 0b11 : 0)) === 0;
  const textOf = fatalText;
  const fail = (text: string): never => {
    throw new Error(text);
  };
  const extract = (token: string) => extractBearerToken({ authorization: `Bearer ${token}` }, { tokenSources: new Set(['header']), maxTokenLength: 100_000 });
  // Real encodings, then one edit: a character outside the alphabet, padding, a dropped or an
  // added character, a flipped last character (unused bits), or none.
  const strange = ['+', '/', '=', '==', ' ', '\n', '.', '%', 'é', '€', '\u0000', '\u2028', '😀', '~'];
  const segments = fc
    .tuple(fc.uint8Array({ maxLength: 48 }), fc.nat(), fc.nat(6), fc.constantFrom(...strange), fc.nat(63))
    .map(([bytes, at, edit, odd, code]) => {
      const s = Buffer.from(bytes).toString('base64url');
      const i = s.length === 0 ? 0 : at % s.length;
      if (edit === 0) return s;
      if (edit === 1) return `${s.slice(0, i)}${odd}${s.slice(i)}`;
      if (edit === 2) return `${s.slice(0, i)}${odd}${s.slice(i + 1)}`;
      if (edit === 3) return `${s}${odd}`;
      if (edit === 4) return `${s.slice(0, i)}${s.slice(i + 1)}`;
      if (edit === 5) return `${s.slice(0, -1)}${ALPHABET[(ALPHABET.indexOf(s.at(-1) ?? 'A') ^ (code & 0b1111)) & 63]}`;
      return `${s}${ALPHABET[code]}`;
    });

  it('decodes a segment to its bytes exactly when it is their canonical, unpadded base64url', () => {
    fc.assert(
      fc.property(segments, (segment) => {
        const bytes = nodePlatform.decodeCanonicalBase64url!(segment);
        if (!canonical(segment)) return bytes === undefined;
        return bytes !== undefined && Buffer.from(bytes).equals(Buffer.from(segment, 'base64url'));
      }),
      { numRuns: 5000 },
    );
    for (const segment of ['e30', 'e31', 'e3+', 'e3/', 'e30=', 'e 30', 'e30\n', 'é30', 'A', 'AB', 'ABC', 'ABCD', ''])
      expect(nodePlatform.decodeCanonicalBase64url!(segment) !== undefined).toBe(canonical(segment));
  });

  it("reads a segment's text exactly when it is canonical and its bytes are UTF-8, a BOM dropped", () => {
    fc.assert(
      fc.property(segments, (segment) => {
        const expected = canonical(segment) ? textOf(Buffer.from(segment, 'base64url')) : undefined;
        return nodePlatform.decodeCanonicalBase64urlText!(segment) === expected;
      }),
      { numRuns: 5000 },
    );
    // Longer than the reused buffer starts with.
    const long = Buffer.from(JSON.stringify({ long: 'x'.repeat(10_000) })).toString('base64url');
    expect(nodePlatform.decodeCanonicalBase64urlText!(long)).toBe(JSON.stringify({ long: 'x'.repeat(10_000) }));
    expect(nodePlatform.decodeCanonicalBase64urlText!(`${long.slice(0, -1)}+`)).toBeUndefined();
  });

  it('says the same about every token whether or not bearer extraction checked its form first', () => {
    const outcome = (token: string) => {
      try {
        const parsed = parseCompactJws(token, fail);
        return `parsed ${JSON.stringify(parsed.payload)} ${Buffer.from(parsed.signature).toString('hex')} ${parsed.signingInput}`;
      } catch (error) {
        return (error as Error).message;
      }
    };
    // What the rules say, by pattern: header first, then payload, then signature.
    const expected = (token: string) => {
      const parts = token.split('.');
      if (parts.length === 5) return 'encrypted tokens (JWE) are not accepted';
      if (parts.length !== 3) return 'not a JWS';
      const [header, payload, signature] = parts as [string, string, string];
      const seg = (s: string) => (!/^[A-Za-z0-9_-]+$/.test(s) ? 'the token is not made of three base64url segments' : !canonical(s) ? 'the token uses non-canonical base64url' : undefined);
      const text = (s: string) => textOf(Buffer.from(s, 'base64url'));
      const headerProblem = !/^[A-Za-z0-9_-]+$/.test(header) ? 'not a JWS' : undefined;
      if (headerProblem !== undefined) return headerProblem;
      const payloadProblem = seg(payload) ?? (text(payload) === undefined ? 'the token payload is not valid UTF-8 JSON' : undefined);
      if (payloadProblem !== undefined) return payloadProblem;
      let claims: unknown;
      try {
        claims = JSON.parse(text(payload)!);
      } catch {
        return 'the token payload is not valid UTF-8 JSON';
      }
      if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return 'the token payload is not a JSON object';
      return seg(signature) ?? `parsed ${JSON.stringify(claims)} ${Buffer.from(signature, 'base64url').toString('hex')} ${header}.${payload}`;
    };
    const header = b64({ alg: 'RS256', kid: 'k1' });
    const payloads = fc.oneof(
      segments,
      fc.jsonValue({ maxDepth: 2 }).map((value) => Buffer.from(JSON.stringify(value)).toString('base64url')),
      fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }).map((value) => b64(value)),
    );
    fc.assert(
      fc.property(fc.boolean(), payloads, segments, fc.boolean(), (realHeader, payload, signature, viaBearer) => {
        const head = realHeader ? header : `${header.slice(0, 4)}+${header.slice(4)}`;
        const token = `${head}.${payload}.${signature}`;
        if (viaBearer) {
          try {
            extract(token);
          } catch (error) {
            // Only what is no b64token is refused there; the rest is verification's to say.
            return !/^[A-Za-z0-9\-._~+/]+=*$/.test(token) && error instanceof InvalidRequestError;
          }
        }
        const said = outcome(token);
        const want = expected(token);
        return want === 'not a JWS' ? said.startsWith('the token is not a JWS in compact serialization') : said === want;
      }),
      { numRuns: 5000 },
    );
  });

  // What bearer extraction decoded is kept for one parse of the same string: the tests after the
  // first three pin the guards on that hand-over (its token, the header's alphabet, taken once).
  const parsedOrWhy = (token: string) => {
    try {
      const parsed = parseCompactJws(token, fail);
      return `parsed ${JSON.stringify(parsed.header)} ${JSON.stringify(parsed.payload)} ${Buffer.from(parsed.signature).toString('hex')} ${parsed.signingInput}`;
    } catch (error) {
      return (error as Error).message;
    }
  };

  it('parses another string than the one bearer extraction checked as that string alone (a DPoP proof after its access token)', () => {
    const accessToken = `${b64({ alg: 'RS256', kid: 'k1' })}.${b64({ sub: 'svc-a', scope: 'orders:read' })}.${b64('signature of A')}`;
    const proof = `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC' } })}.${b64({ htm: 'GET', htu: 'https://api.test/orders' })}.${b64('proof signature, longer')}`;
    expect(extract(accessToken)).toBe(accessToken);
    const parsed = parseCompactJws(proof, fail);
    expect(parsed.header).toEqual({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC' } });
    expect(parsed.payload).toEqual({ htm: 'GET', htu: 'https://api.test/orders' });
    expect(Buffer.from(parsed.signature).toString()).toBe('proof signature, longer');
    expect(parsed.signingInput).toBe(proof.slice(0, proof.lastIndexOf('.')));
    // …and the access token, parsed after, is its own again.
    expect(parseCompactJws(accessToken, fail).payload).toEqual({ sub: 'svc-a', scope: 'orders:read' });

    const token = fc.tuple(fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }), fc.uint8Array({ maxLength: 40 }), fc.nat(3));
    fc.assert(
      fc.property(token, token, ([claimsA, signatureA], [claimsB, signatureB, shape]) => {
        const a = `${b64({ alg: 'RS256' })}.${b64(claimsA)}.${Buffer.from(signatureA).toString('base64url')}`;
        const bBody = `${b64(claimsB)}.${Buffer.from(signatureB).toString('base64url')}`;
        // B well formed with another header, or malformed in a way A is not.
        const b = [`${b64({ alg: 'ES256', kid: 'b' })}.${bBody}`, `${b64({ alg: 'ES256' })}.${bBody}.x`, `x.${bBody}`, `${b64({ alg: 'RS256' })}..${bBody}`][shape]!;
        fc.pre(a !== b);
        extract(a);
        const afterExtraction = parsedOrWhy(b);
        return afterExtraction === parsedOrWhy(b);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses at extraction a header with characters outside base64url that decoding would skip', () => {
    const header = b64({ alg: 'RS256', kid: 'k1', typ: 'at+jwt' });
    const rest = `${b64({ sub: 'svc-a' })}.${b64('signature')}`;
    expect(extract(`${header}.${rest}`)).toBe(`${header}.${rest}`);
    // Node's decoder skips what is not in its alphabet: four such characters keep the rest aligned,
    // so only the header's own check stands between these and a header that decodes.
    for (const odd of ['%%%%', '%', '!!!!', 'éééé', '\u00a0\u00a0\u00a0\u00a0', '%20%20']) {
      for (const at of [1, 4, 8, header.length - 1]) {
        const token = `${header.slice(0, at)}${odd}${header.slice(at)}.${rest}`;
        expect(() => extract(token)).toThrow(new InvalidRequestError('ERR_BEARER_MALFORMED', 'the bearer token in the Authorization header is not a valid b64token'));
        expect(parsedOrWhy(token)).toMatch(/^the token is not a JWS in compact serialization/);
      }
    }
  });

  it("gives every token its own header, whatever headers came before (the last one and a few recent ones are remembered)", () => {
    // Headers of the same length that differ in one character, one the pool's others never share,
    // and segments that are no header; more of them than are remembered.
    const headers = [
      ...Array.from({ length: 20 }, (_, i) => b64({ alg: 'RS256', kid: `k${String.fromCharCode(65 + i)}` })),
      b64({ alg: 'ES256', kid: 'kA' }),
      b64({ alg: 'RS256', kid: 'kA', typ: 'at+jwt' }),
      `${b64({ alg: 'RS256', kid: 'kA' }).slice(0, -1)}+`,
      // The same header with an unused bit set in its last character: never remembered, refused each time.
      `${b64({ alg: 'RS256', kid: 'kA' }).slice(0, -1)}1`,
      'bm90LWpzb24',
    ];
    const body = `${b64({ sub: 'svc-a' })}.${b64('signature')}`;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(headers.length - 1), fc.boolean()), { minLength: 1, maxLength: 40 }), (sequence) => {
        for (const [index, viaBearer] of sequence) {
          const segment = headers[index]!;
          const token = `${segment}.${body}`;
          if (viaBearer) extract(token);
          let own: string;
          try {
            own = `parsed ${JSON.stringify(JSON.parse(Buffer.from(segment, 'base64url').toString()))}`;
          } catch {
            own = 'not a JWS';
          }
          if (segment.includes('+')) own = 'not a JWS';
          else if (!canonical(segment)) own = 'the token uses non-canonical base64url';
          const said = parsedOrWhy(token);
          if (own === 'not a JWS' ? !said.startsWith('the token is not a JWS') : !said.startsWith(own)) return false;
        }
        return true;
      }),
      { numRuns: 500 },
    );
  });

  it('keeps no token alive through the headers it remembers', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = () => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const before = heap();
    (() => {
      // A header not seen before (so it is remembered), and a token of ~12 MB around it.
      const token = `${b64({ alg: 'RS256', kid: `big-${Date.now()}` })}.${b64({ sub: 'svc-a', pad: 'x'.repeat(9_000_000) })}.${b64('signature')}`;
      expect(parseCompactJws(token, fail).header.kid).toMatch(/^big-/);
      expect(parseCompactJws(token, fail).payload.sub).toBe('svc-a'); // the second parse finds the header remembered
    })();
    expect(heap() - before).toBeLessThan(4_000_000);
  });

  it('hands over what extraction decoded to one parse only: two parses never share the signature bytes', () => {
    const token = `${b64({ alg: 'RS256', kid: 'k1' })}.${b64({ sub: 'svc-a' })}.${b64('signature bytes')}`;
    extract(token);
    const first = parseCompactJws(token, fail);
    const second = parseCompactJws(token, fail);
    expect(second.signature).not.toBe(first.signature);
    first.signature.fill(0);
    expect(Buffer.from(second.signature).toString()).toBe('signature bytes');
    expect(Buffer.from(parseCompactJws(token, fail).signature).toString()).toBe('signature bytes');
  });
});
