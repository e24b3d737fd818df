/**
 * The conformance table: each case is a request and the exact answer every adapter must give.
 * Tokens are really signed, by the test issuer or by attacker keys made here.
 */
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestIssuer } from '@scopeguard/testing';

/** Engine option sets; each adapter is started once per profile. */
export type Profile = 'default' | 'strict' | 'sources' | 'cc' | 'resolver' | 'down' | 'tenants' | 'metadata' | 'introspection';

export interface CaseRequest {
  method?: 'GET' | 'POST' | 'HEAD';
  path?: string;
  headers?: Record<string, string> | string[];
  body?: string;
}

export interface Expected {
  status: 200 | 400 | 401 | 403 | 503;
  /**
   * The OAuth `error` of body and challenge; `undefined` on a 401 for a request without credentials: a
   * bare challenge (RFC 6750 §3.1) and a body with no `error` member either.
   */
  error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'temporarily_unavailable' | undefined;
  /** The challenge's `scope` attribute, for 403. */
  scope?: string;
  /** For a 200 that is not a guarded route: what the JSON body must contain. */
  body?: Record<string, unknown>;
  /** A 200 with no body (HEAD), and a JSON content type. */
  empty?: true;
}

export interface Case {
  name: string;
  group: 'RFC 6750' | 'RFC 8725 / 9068' | 'RFC 8705' | 'Authorization' | 'Tenants' | 'RFC 9728' | 'RFC 7662' | 'Faults';
  profile?: Profile;
  request: () => Promise<CaseRequest>;
  expect: Expected;
}

/** What cases use to build requests. */
export interface CaseContext {
  issuer: TestIssuer;
  other: TestIssuer;
  /** The audience of the second tenant (the `other` issuer) in the `tenants` profile. */
  tenantAudience: string;
  /** An issuer with an RFC 7662 endpoint, for the `introspection` profile. */
  introspecting: TestIssuer;
  /** The issuer whose JWKS is down, for the `down` profile. */
  downIssuer: string;
  /** URL of a server that counts requests; `jku`/`x5u` point at it and must never be fetched. */
  trap: string;
}

const OK: Expected = { status: 200 };
const BARE: Expected = { status: 401, error: undefined };
const BAD_REQUEST: Expected = { status: 400, error: 'invalid_request' };
const INVALID: Expected = { status: 401, error: 'invalid_token' };
const UNAVAILABLE: Expected = { status: 503, error: 'temporarily_unavailable' };
const forbidden = (scope: string): Expected => ({ status: 403, error: 'insufficient_scope', scope });

const b64 = (value: string | Buffer | object) =>
  (Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value))).toString('base64url');
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const now = () => Math.floor(Date.now() / 1000);
const FORM = 'application/x-www-form-urlencoded';

/** Signs `header.payload` with a Node key (attacker tokens with any header). */
function signWith(key: KeyObject, header: object, payload: object | string, options: { dsaEncoding?: 'ieee-p1363'; padding?: number; hash?: string | null } = {}): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = cryptoSign(options.hash === undefined ? 'sha256' : options.hash, Buffer.from(input), {
    key,
    ...(options.dsaEncoding && { dsaEncoding: options.dsaEncoding }),
    ...(options.padding !== undefined && { padding: options.padding, saltLength: 32 }),
  });
  return `${input}.${b64(signature)}`;
}

export function buildCases(context: CaseContext): Case[] {
  const { issuer, other, trap, tenantAudience, introspecting, downIssuer } = context;
  const mint = (options: Parameters<TestIssuer['mint']>[0] = {}) => issuer.mint({ clientId: 'worker', scope: 'orders.read', ...options });
  const claims = (extra: Record<string, unknown> = {}) => ({ iss: issuer.issuer, aud: issuer.audience, sub: 'worker', client_id: 'worker', scope: 'orders.read', iat: now(), exp: now() + 300, jti: 'j', ...extra });
  const jwk = (kty: string) => issuer.jwks().keys.find((key) => key.kty === kty && (kty !== 'OKP' || key.crv === 'Ed25519'))!;
  const rsaPublic = () => createPublicKey({ key: jwk('RSA') as never, format: 'jwk' });
  const attackerRsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const attackerEc = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const attackerCert = readFileSync(join(__dirname, 'fixtures', 'attacker-cert.pem'), 'utf8');
  const attackerCertKey = createPrivateKey(readFileSync(join(__dirname, 'fixtures', 'attacker-key.pem')));
  const hs256 = (secret: string | Buffer, header: object = {}) => {
    const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: jwk('RSA').kid, ...header })}.${b64(claims())}`;
    return `${input}.${b64(createHmac('sha256', secret).update(input).digest())}`;
  };
  const ecdsaRaw = (signature: Buffer) => `${b64({ alg: 'ES256', typ: 'at+jwt', kid: jwk('EC').kid })}.${b64(claims())}.${b64(signature)}`;
  const P256_ORDER = Buffer.from('FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551', 'hex');
  const get = (headers: CaseRequest['headers'], path: CaseRequest['path'] = '/read'): CaseRequest => ({ headers, path });

  const cases: Case[] = [
    // ── RFC 6750: extraction and responses ───────────────────────────────────────────────────
    { group: 'RFC 6750', name: 'no token → 401, bare challenge', request: async () => get({}), expect: BARE },
    { group: 'RFC 6750', name: 'scheme "Bearer"', request: async () => get(bearer(await mint())), expect: OK },
    { group: 'RFC 6750', name: 'scheme lower case "bearer"', request: async () => get({ authorization: `bearer ${await mint()}` }), expect: OK },
    { group: 'RFC 6750', name: 'scheme upper case "BEARER"', request: async () => get({ authorization: `BEARER ${await mint()}` }), expect: OK },
    { group: 'RFC 6750', name: 'extra spaces after the scheme', request: async () => get({ authorization: `Bearer    ${await mint()}` }), expect: OK },
    { group: 'RFC 6750', name: 'empty token', request: async () => get({ authorization: 'Bearer ' }), expect: BAD_REQUEST },
    { group: 'RFC 6750', name: 'scheme only', request: async () => get({ authorization: 'Bearer' }), expect: BAD_REQUEST },
    { group: 'RFC 6750', name: 'non-b64token characters', request: async () => get({ authorization: `Bearer ${(await mint()).slice(0, 20)}"%$` }), expect: BAD_REQUEST },
    { group: 'RFC 6750', name: 'space inside the token', request: async () => get({ authorization: 'Bearer abc def' }), expect: BAD_REQUEST },
    { group: 'RFC 6750', name: 'Basic scheme → bare 401', request: async () => get({ authorization: 'Basic d29ya2VyOnNlY3JldA==' }), expect: BARE },
    { group: 'RFC 6750', name: 'Digest scheme → bare 401', request: async () => get({ authorization: 'Digest username="w", realm="r"' }), expect: BARE },
    { group: 'RFC 6750', name: 'DPoP scheme (not enabled) → bare 401', request: async () => get({ authorization: `DPoP ${await mint()}` }), expect: BARE },
    // One value holding two credentials (a proxy joined two fields; Authorization is no list field): as two headers.
    { group: 'RFC 6750', name: 'Basic and Bearer in one Authorization value', request: async () => get({ authorization: `Basic eDp5, Bearer ${await mint()}` }), expect: BAD_REQUEST },
    { group: 'RFC 6750', name: 'Bearer and Basic in one Authorization value', request: async () => get({ authorization: `Bearer ${await mint()}, Basic eDp5` }), expect: BAD_REQUEST },
    { group: 'RFC 6750', name: 'Basic and an invalid Bearer in one Authorization value', request: async () => get({ authorization: 'Basic eDp5, Bearer invalid' }), expect: BAD_REQUEST },
    { group: 'RFC 6750', name: 'two Authorization headers', request: async () => get(['Authorization', `Bearer ${await mint()}`, 'Authorization', `Bearer ${await mint()}`]), expect: BAD_REQUEST },
    { group: 'RFC 6750', name: 'query token ignored by default', request: async () => ({ path: `/read?access_token=${await mint()}` as '/read' }), expect: BARE },
    { group: 'RFC 6750', name: 'body token ignored by default', request: async () => ({ method: 'POST', headers: { 'content-type': FORM }, body: `access_token=${await mint()}` }), expect: BARE },
    { group: 'RFC 6750', profile: 'sources', name: 'query token when enabled (§2.3)', request: async () => ({ path: `/read?access_token=${await mint()}` as '/read' }), expect: OK },
    { group: 'RFC 6750', profile: 'sources', name: 'form body token when enabled (§2.2)', request: async () => ({ method: 'POST', headers: { 'content-type': FORM }, body: `access_token=${await mint()}` }), expect: OK },
    // A `?` is a query character (RFC 3986 §3.4): the token after one is read as every framework reads it.
    { group: 'RFC 6750', profile: 'sources', name: 'query token after a second ?', request: async () => ({ path: `/read?x=a?b&access_token=${await mint()}` as '/read' }), expect: OK },
    { group: 'RFC 6750', profile: 'sources', name: 'header + query token', request: async () => ({ path: `/read?access_token=${await mint()}` as '/read', headers: bearer(await mint()) }), expect: BAD_REQUEST },
    { group: 'RFC 6750', profile: 'sources', name: 'header + body token', request: async () => ({ method: 'POST', headers: { 'content-type': FORM, ...bearer(await mint()) }, body: `access_token=${await mint()}` }), expect: BAD_REQUEST },
    { group: 'RFC 6750', profile: 'sources', name: 'two query tokens', request: async () => ({ path: `/read?access_token=${await mint()}&access_token=x` as '/read' }), expect: BAD_REQUEST },
    { group: 'RFC 6750', profile: 'sources', name: 'body token on GET is not read', request: async () => ({ method: 'GET', headers: { 'content-type': FORM }, body: `access_token=${await mint()}` }), expect: BARE },
    { group: 'RFC 6750', name: 'oversize token (> 8 KB) refused before decoding', request: async () => get(bearer(await mint({ claims: { pad: 'x'.repeat(9000) } }))), expect: INVALID },
    { group: 'RFC 6750', name: 'claims with CR/LF and quotes never reach the header', request: async () => get(bearer(await mint({ issuer: 'https://x"\r\nSet-Cookie: a=b', claims: { scope: 'x"\r\n\\' } }))), expect: INVALID },
    { group: 'RFC 6750', name: 'kid with CR/LF and quotes never reaches the header', request: async () => get(bearer(await mint({ header: { kid: 'k"\r\nX-Injected: 1' } }))), expect: INVALID },
    { group: 'RFC 6750', name: '403 names the required scope', request: async () => get(bearer(await mint({ scope: 'other' }))), expect: forbidden('orders.read') },

    // ── RFC 8725 / RFC 9068: the token ───────────────────────────────────────────────────────
    ...['none', 'None', 'NONE', 'nOnE'].flatMap((alg): Case[] => [
      { group: 'RFC 8725 / 9068', name: `alg "${alg}" without signature`, request: async () => get(bearer(`${b64({ alg, typ: 'at+jwt' })}.${b64(claims())}.`)), expect: INVALID },
      { group: 'RFC 8725 / 9068', name: `alg "${alg}" with a signature`, request: async () => get(bearer(`${b64({ alg, typ: 'at+jwt' })}.${b64(claims())}.${b64('sig')}`)), expect: INVALID },
    ]),
    { group: 'RFC 8725 / 9068', name: 'HS256 keyed with the RSA public key (PEM)', request: async () => get(bearer(hs256(rsaPublic().export({ type: 'spki', format: 'pem' }) as string))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'HS256 keyed with the PEM after leading whitespace', request: async () => get(bearer(hs256(`\n  ${rsaPublic().export({ type: 'spki', format: 'pem' })}`))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'HS256 keyed with the JWK JSON', request: async () => get(bearer(hs256(JSON.stringify(jwk('RSA'))))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'HS256 keyed with the EC key bytes', request: async () => get(bearer(hs256(Buffer.concat([Buffer.from([4]), Buffer.from(jwk('EC').x!, 'base64url'), Buffer.from(jwk('EC').y!, 'base64url')]), { kid: jwk('EC').kid }))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'PS256 signature relabelled RS256 (PS→RS swap)', request: async () => { const [h, p, s] = (await mint({ alg: 'PS256' })).split('.'); const header = JSON.parse(Buffer.from(h!, 'base64url').toString()); return get(bearer(`${b64({ ...header, alg: 'RS256' })}.${p}.${s}`)); }, expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'RS256 signature relabelled PS256 (RS→PS swap)', request: async () => { const [h, p, s] = (await mint()).split('.'); const header = JSON.parse(Buffer.from(h!, 'base64url').toString()); return get(bearer(`${b64({ ...header, alg: 'PS256' })}.${p}.${s}`)); }, expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'RS256 header on an RSA-PSS signature by an attacker key', request: async () => get(bearer(signWith(attackerRsa, { alg: 'RS256', typ: 'at+jwt', kid: jwk('RSA').kid }, claims(), { padding: 6 }))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'ES256 header with the RSA key id (ES↔RS swap)', request: async () => get(bearer(signWith(attackerEc, { alg: 'ES256', typ: 'at+jwt', kid: jwk('RSA').kid }, claims(), { dsaEncoding: 'ieee-p1363' }))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'embedded jwk header (CVE-2018-0114)', request: async () => get(bearer(signWith(attackerRsa, { alg: 'RS256', typ: 'at+jwt', jwk: createPublicKey(attackerRsa).export({ format: 'jwk' }) }, claims()))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'jku header pointing at a local server', request: async () => get(bearer(signWith(attackerRsa, { alg: 'RS256', typ: 'at+jwt', kid: 'attacker', jku: `${trap}/jwks.json` }, claims()))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'x5u header pointing at a local server', request: async () => get(bearer(signWith(attackerRsa, { alg: 'RS256', typ: 'at+jwt', x5u: `${trap}/cert.pem` }, claims()))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'x5c self-signed certificate', request: async () => get(bearer(signWith(attackerCertKey, { alg: 'RS256', typ: 'at+jwt', x5c: [attackerCert.replace(/-----[^-]+-----|\s/g, '')] }, claims()))), expect: INVALID },
    ...[['path', '../../../../etc/passwd'], ['SQL', "' OR '1'='1"], ['very long', 'k'.repeat(5000)], ['number', 42], ['null', null], ['object', { $ne: '' }], ['empty', '']].map(
      ([label, kid]): Case => ({ group: 'RFC 8725 / 9068', name: `kid injection: ${label}`, request: async () => get(bearer(await mint({ header: { kid } }))), expect: INVALID }),
    ),
    { group: 'RFC 8725 / 9068', name: 'ECDSA r = s = 0 (CVE-2022-21449)', request: async () => get(bearer(ecdsaRaw(Buffer.alloc(64)))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'ECDSA r = n, s = 1', request: async () => get(bearer(ecdsaRaw(Buffer.concat([P256_ORDER, Buffer.alloc(31), Buffer.from([1])])))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'ECDSA s = n', request: async () => get(bearer(ecdsaRaw(Buffer.concat([Buffer.alloc(31), Buffer.from([1]), P256_ORDER])))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'signature stripped', request: async () => get(bearer(`${(await mint()).split('.').slice(0, 2).join('.')}.`)), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'signature truncated', request: async () => get(bearer((await mint()).slice(0, -10))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'signature bit-flipped', request: async () => { const t = await mint(); const i = t.length - 20; return get(bearer(`${t.slice(0, i)}${t[i] === 'A' ? 'B' : 'A'}${t.slice(i + 1)}`)); }, expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'payload tampered (scope widened)', request: async () => { const [h, , s] = (await mint()).split('.'); return get(bearer(`${h}.${b64(claims({ scope: 'orders.read orders.admin' }))}.${s}`)); }, expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'exp missing', request: async () => get(bearer(await mint({ claims: { exp: undefined } }))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'expired, within tolerance (tolerance − 2 s)', request: async () => get(bearer(await mint({ expiresIn: -28 }))), expect: OK },
    { group: 'RFC 8725 / 9068', name: 'expired, at tolerance + 1 s', request: async () => get(bearer(await mint({ expiresIn: -31 }))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'expired an hour ago', request: async () => get(bearer(await mint({ expiresIn: -3600 }))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'nbf in the future', request: async () => get(bearer(await mint({ notBefore: 120 }))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'nbf in the future within tolerance', request: async () => get(bearer(await mint({ notBefore: 20 }))), expect: OK },
    { group: 'RFC 8725 / 9068', name: 'iat in the future', request: async () => get(bearer(await mint({ issuedAt: 120 }))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'exp as a string', request: async () => get(bearer(await mint({ claims: { exp: String(now() + 300) } }))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'exp "NaN"', request: async () => get(bearer(await mint({ claims: { exp: 'NaN' } }))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'exp 1e400 (Infinity)', request: async () => get(bearer(await issuer.sign(JSON.stringify(claims({ exp: 0 })).replace('"exp":0', '"exp":1e400')))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'wrong iss', request: async () => get(bearer(await mint({ issuer: 'https://evil.example' }))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'iss with a trailing slash', request: async () => get(bearer(await mint({ issuer: `${issuer.issuer}/` }))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'aud missing', request: async () => get(bearer(await mint({ claims: { aud: undefined } }))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'aud of another API', request: async () => get(bearer(await mint({ audience: 'https://billing.example.com' }))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'aud array without ours', request: async () => get(bearer(await mint({ audience: ['https://a.example', 'https://b.example'] }))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'aud array with ours', request: async () => get(bearer(await mint({ audience: ['https://a.example', issuer.audience] }))), expect: OK },
    ...([['at+jwt', OK], ['application/at+jwt', OK], ['JWT', OK], [undefined, OK], ['dpop+jwt', INVALID], ['secevent+jwt', INVALID], ['id_token+jwt', INVALID]] as const).map(
      ([typ, expected]): Case => ({ group: 'RFC 8725 / 9068', name: `typ ${typ ?? 'absent'}`, request: async () => get(bearer(await mint({ header: { typ } }))), expect: expected }),
    ),
    ...([['at+jwt', OK], ['application/at+jwt', OK], ['JWT', INVALID], [undefined, INVALID]] as const).map(
      ([typ, expected]): Case => ({ group: 'RFC 8725 / 9068', profile: 'strict', name: `strict: typ ${typ ?? 'absent'}`, request: async () => get(bearer(await mint({ header: { typ } }))), expect: expected }),
    ),
    ...['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'].map(
      (claim): Case => ({ group: 'RFC 8725 / 9068', profile: 'strict', name: `strict: ${claim} missing`, request: async () => get(bearer(await mint({ claims: { [claim]: undefined } }))), expect: INVALID }),
    ),
    { group: 'RFC 8725 / 9068', name: 'unknown crit (b64: false)', request: async () => get(bearer(await issuer.sign(claims(), { crit: ['b64'], b64: false }))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'unknown crit extension', request: async () => get(bearer(await issuer.sign(claims(), { crit: ['urn:x'], 'urn:x': 1 }))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'JWE (5 segments)', request: async () => get(bearer(`${b64({ alg: 'RSA-OAEP-256', enc: 'A256GCM' })}.${b64('k')}.${b64('iv')}.${b64('ct')}.${b64('tag')}`)), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'JWS JSON serialization', request: async () => { const [h, p, s] = (await mint()).split('.'); return get(bearer(b64({ protected: h, payload: p, signature: s }))); }, expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'nested JWT (cty: JWT)', request: async () => get(bearer(await issuer.sign(await mint(), { cty: 'JWT' }))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'duplicate JSON member names', request: async () => get(bearer(await issuer.sign(JSON.stringify(claims({ scope: 'other' })).replace(/}$/, ',"scope":"orders.read"}')))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'non-canonical base64url', request: async () => { const t = await mint(); const last = t.at(-1)!; const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'; return get(bearer(`${t.slice(0, -1)}${alphabet[alphabet.indexOf(last) ^ 1]}`)); }, expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'invalid UTF-8 in the payload', request: async () => get(bearer(await issuer.sign(Buffer.concat([Buffer.from('{"iss":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]).toString('latin1')))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'another issuer, its own valid key (cross-issuer)', request: async () => get(bearer(await other.mint({ clientId: 'worker', scope: 'orders.read', audience: issuer.audience }))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'another issuer claiming our iss', request: async () => get(bearer(await other.mint({ clientId: 'worker', scope: 'orders.read', audience: issuer.audience, issuer: issuer.issuer }))), expect: INVALID },
    { group: 'RFC 8725 / 9068', name: 'PS256 token', request: async () => get(bearer(await mint({ alg: 'PS256' }))), expect: OK },
    { group: 'RFC 8725 / 9068', name: 'ES256 token', request: async () => get(bearer(await mint({ alg: 'ES256' }))), expect: OK },
    { group: 'RFC 8725 / 9068', name: 'EdDSA (Ed25519) token', request: async () => get(bearer(await mint({ alg: 'EdDSA' }))), expect: OK },

    // ── RFC 8705: a binding this API does not check is never ignored ──────────────────────────
    { group: 'RFC 8705', name: 'certificate-bound token where mTLS is not configured → 401', request: async () => get(bearer(await mint({ claims: { cnf: { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' } } }))), expect: INVALID },

    // ── Authorization: the intersection ──────────────────────────────────────────────────────
    { group: 'Authorization', name: 'scope granted, permission missing → 403', request: async () => get(bearer(await mint({ clientId: 'reporter', scope: 'orders.read orders.write' })), '/any'), expect: forbidden('orders.write orders.admin') },
    { group: 'Authorization', name: 'permission held, scope missing → 403', request: async () => get(bearer(await mint({ scope: 'orders.read' })), '/any'), expect: forbidden('orders.write orders.admin') },
    { group: 'Authorization', name: 'scope and permission → 200', request: async () => get(bearer(await mint({ scope: 'orders.write' })), '/any'), expect: OK },
    { group: 'Authorization', name: 'any-of: the second alternative', request: async () => get(bearer(await mint({ scope: 'orders.admin' })), '/any'), expect: OK },
    { group: 'Authorization', name: 'scope as an array', request: async () => get(bearer(await mint({ scope: undefined, claims: { scope: ['orders.read'] } }))), expect: OK },
    { group: 'Authorization', name: 'scopes from scp', request: async () => get(bearer(await mint({ scope: undefined, claims: { scp: ['orders.read'] } }))), expect: OK },
    { group: 'Authorization', name: '"orders.read:all" never satisfies "orders.read"', request: async () => get(bearer(await mint({ scope: 'orders.read:all' }))), expect: forbidden('orders.read') },
    { group: 'Authorization', name: '"orders" never satisfies "orders.read"', request: async () => get(bearer(await mint({ scope: 'orders orders.* Orders.Read' }))), expect: forbidden('orders.read') },
    { group: 'Authorization', name: 'authenticated-only route, no scopes', request: async () => get(bearer(await mint({ scope: undefined })), '/auth'), expect: OK },
    { group: 'Authorization', name: 'unknown service user → 403', request: async () => get(bearer(await mint({ clientId: 'stranger' })), '/auth'), expect: forbidden('') },
    { group: 'Authorization', profile: 'cc', name: 'user token under requireClientCredentials → 401', request: async () => get(bearer(await mint({ subject: 'alice' }))), expect: INVALID },
    { group: 'Authorization', profile: 'cc', name: 'client token under requireClientCredentials', request: async () => get(bearer(await mint())), expect: OK },
    { group: 'Authorization', profile: 'resolver', name: 'permission resolver throws → 503', request: async () => get(bearer(await mint({ clientId: 'boom' }))), expect: UNAVAILABLE },
    { group: 'Authorization', profile: 'resolver', name: 'permission resolver hangs → 503 after its timeout', request: async () => get(bearer(await mint({ clientId: 'hang' }))), expect: UNAVAILABLE },
    { group: 'Authorization', profile: 'resolver', name: 'permission resolver answers', request: async () => get(bearer(await mint())), expect: OK },
    { group: 'Authorization', profile: 'resolver', name: 'inactive client (the resolver answers INACTIVE_CLIENT) → 401', request: async () => get(bearer(await mint({ clientId: 'retired' }))), expect: INVALID },
    { group: 'Authorization', profile: 'resolver', name: 'revoked token (isRevoked) → 401', request: async () => get(bearer(await mint({ claims: { jti: 'revoked-jti' } }))), expect: INVALID },
    { group: 'Authorization', profile: 'resolver', name: 'revocation check throws → 503', request: async () => get(bearer(await mint({ claims: { jti: 'revocation-down' } }))), expect: UNAVAILABLE },

    // ── Several issuers (tenants) ────────────────────────────────────────────────────────────
    { group: 'Tenants', profile: 'tenants', name: 'tenant A token', request: async () => get(bearer(await mint())), expect: OK },
    { group: 'Tenants', profile: 'tenants', name: 'tenant B token, its own audience and service user', request: async () => get(bearer(await other.mint({ clientId: 'b-worker', scope: 'orders.write', audience: tenantAudience })), '/any'), expect: OK },
    { group: 'Tenants', profile: 'tenants', name: 'tenant B token with tenant A audience', request: async () => get(bearer(await other.mint({ clientId: 'b-worker', scope: 'orders.read', audience: issuer.audience }))), expect: INVALID },
    { group: 'Tenants', profile: 'tenants', name: "tenant B's key claiming tenant A (B's kid)", request: async () => get(bearer(await other.mint({ clientId: 'worker', scope: 'orders.read', issuer: issuer.issuer, audience: issuer.audience }))), expect: INVALID },
    { group: 'Tenants', profile: 'tenants', name: "tenant B's key claiming tenant A (A's kid)", request: async () => get(bearer(await other.mint({ clientId: 'worker', scope: 'orders.read', issuer: issuer.issuer, audience: issuer.audience, header: { kid: jwk('RSA').kid } }))), expect: INVALID },
    { group: 'Tenants', profile: 'tenants', name: 'permissions are per tenant (A client on B)', request: async () => get(bearer(await other.mint({ clientId: 'worker', scope: 'orders.write', audience: tenantAudience })), '/any'), expect: forbidden('') },
    { group: 'Tenants', profile: 'tenants', name: 'issuer not on the list: refused with no request to it', request: async () => get(bearer(await mint({ issuer: trap }))), expect: INVALID },

    // ── RFC 9728 protected resource metadata ─────────────────────────────────────────────────
    { group: 'RFC 9728', profile: 'metadata', name: 'metadata document at the path-inserted well-known URL', request: async () => get({}, '/.well-known/oauth-protected-resource/orders'), expect: { status: 200, body: { resource: 'https://orders.example.com/orders', authorization_servers: [issuer.issuer], bearer_methods_supported: ['header'] } } },
    { group: 'RFC 9728', profile: 'metadata', name: 'HEAD on the metadata document, as GET without the body', request: async () => ({ method: 'HEAD', path: '/.well-known/oauth-protected-resource/orders' }), expect: { status: 200, empty: true } },
    { group: 'RFC 9728', profile: 'metadata', name: 'no token: challenge points at the metadata', request: async () => get({}), expect: BARE },
    { group: 'RFC 9728', profile: 'metadata', name: 'bad token: challenge points at the metadata', request: async () => get(bearer(await mint({ expiresIn: -3600 }))), expect: INVALID },
    { group: 'RFC 9728', profile: 'metadata', name: '403: challenge points at the metadata', request: async () => get(bearer(await mint({ scope: 'other' }))), expect: forbidden('orders.read') },
    { group: 'RFC 9728', profile: 'metadata', name: 'guarded routes still work', request: async () => get(bearer(await mint())), expect: OK },

    // ── RFC 7662 introspection (opaque tokens) ───────────────────────────────────────────────
    { group: 'RFC 7662', profile: 'introspection', name: 'active opaque token', request: async () => get(bearer(introspecting.mintOpaque({ clientId: 'worker', scope: 'orders.read' }))), expect: OK },
    { group: 'RFC 7662', profile: 'introspection', name: 'opaque token lacking the scope → 403', request: async () => get(bearer(introspecting.mintOpaque({ clientId: 'worker', scope: 'orders.read' })), '/any'), expect: forbidden('orders.write orders.admin') },
    { group: 'RFC 7662', profile: 'introspection', name: 'revoked opaque token', request: async () => { const t = introspecting.mintOpaque({ clientId: 'worker' }); introspecting.revoke(t); return get(bearer(t)); }, expect: INVALID },
    { group: 'RFC 7662', profile: 'introspection', name: 'unknown opaque token', request: async () => get(bearer('b3BhcXVlLXRva2VuLW5vYm9keS1pc3N1ZWQ')), expect: INVALID },
    { group: 'RFC 7662', profile: 'introspection', name: 'opaque token for another audience', request: async () => get(bearer(introspecting.mintOpaque({ clientId: 'worker', audience: 'https://billing.example.com' }))), expect: INVALID },
    { group: 'RFC 7662', profile: 'introspection', name: 'JWTs still verified locally', request: async () => get(bearer(await introspecting.mint({ clientId: 'worker', scope: 'orders.read' }))), expect: OK },

    // ── Faults ───────────────────────────────────────────────────────────────────────────────
    { group: 'Faults', profile: 'down', name: 'JWKS down → 503, never 401 or 500', request: async () => get(bearer(await mint({ issuer: downIssuer }))), expect: UNAVAILABLE },
    { group: 'Faults', profile: 'down', name: 'JWKS down, token of an untrusted issuer → 401 (keys never consulted)', request: async () => get(bearer(await mint())), expect: INVALID },
    { group: 'Faults', profile: 'down', name: 'JWKS down, no token → still 401', request: async () => get({}), expect: BARE },
  ];
  return cases;
}
