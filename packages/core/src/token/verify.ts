/**
 * Verify a JWT access token (RFC 9068 §4, RFC 8725 §3): compact JWS only, canonical base64url,
 * `alg` from the configured allow-list, key from the pinned issuer key set only (`jku`, `x5u`,
 * `jwk`, `x5c` header parameters are never consulted), accepted `typ`, no `crit` or `cty`, JSON
 * without duplicate members, then the signature (signature.ts) and the claims (claims.ts).
 */
import { checkClaims } from './claims';
import { InvalidTokenError } from '../http/errors';
import { parseCompactJws, type ParsedJws } from './jws';
import { shown } from './mismatch';
import type { CandidateKey, KeySource } from '../keys/jwks';
import type { ResolvedIssuer } from '../pipeline/options';
import { verifySignature } from './signature';

export { RFC9068_REQUIRED_CLAIMS } from './claims';

/** The protected header of a verified token. */
export interface JoseHeader {
  readonly alg: string;
  readonly kid?: string;
  readonly typ?: string;
  readonly [parameter: string]: unknown;
}

/** A token whose signature and claims were verified. */
export interface VerifiedToken {
  readonly header: JoseHeader;
  readonly payload: Record<string, unknown>;
  /** Which key of the set verified it (see {@link KeySource.isCurrent}). */
  readonly keyId: string;
}

function malformed(description: string): never {
  throw new InvalidTokenError('ERR_TOKEN_MALFORMED', description);
}

/**
 * The payload of a compact JWS, unverified, to select the issuer whose rules and keys apply. A token
 * that does not parse is refused here as precisely as verification would.
 */
export function unverifiedPayload(token: string): Record<string, unknown> {
  return parseCompactJws(token, malformed).payload;
}

/**
 * RFC 9068 §4: `typ` must be `at+jwt` (or `application/at+jwt`). Outside strict mode `JWT` or no
 * `typ` is also accepted, for issuers that predate RFC 9068; any other explicit type (`dpop+jwt`,
 * `secevent+jwt`, …) is another kind of token and is refused (RFC 8725 §3.11).
 */
function checkType(typ: unknown, strict: boolean): void {
  // As RFC 9068 spells it and issuers send it: no case folding or pattern on every new token.
  if (typ === 'at+jwt' || (typ === undefined && !strict)) return;
  if (typeof typ === 'string') {
    const type = typ.toLowerCase().replace(/^application\//, '');
    if (type === 'at+jwt' || (!strict && type === 'jwt')) return;
  }
  throw new InvalidTokenError('ERR_TOKEN_TYPE', strict ? 'the token type must be at+jwt' : 'the token type is not an access token type', {
    claim: 'typ',
    detail: typ === undefined ? 'the token has no typ; strict: true requires at+jwt' : strict ? `token typ ${shown(typ)} is not at+jwt, which strict: true requires` : `token typ ${shown(typ)} is not an access token type (at+jwt, JWT or none)`,
  });
}

/**
 * The header rules that hold before any key is looked up: `alg` in the allow-list, a sane `kid`, no
 * `crit`, an access-token `typ`, no `cty`. The engine runs them on every new token; the CLI's
 * explanation shows their verdict.
 * @throws {@link InvalidTokenError} naming the parameter (`claim`).
 */
export function checkTokenHeader(header: Record<string, unknown>, options: ResolvedIssuer): JoseHeader {
  const { alg, kid } = header;
  if (typeof alg !== 'string' || !(options.algorithms as readonly string[]).includes(alg)) {
    throw new InvalidTokenError('ERR_TOKEN_ALG_NOT_ALLOWED', 'the token algorithm is not allowed', {
      claim: 'alg',
      detail: `token alg ${shown(alg)} is not among the configured algorithms ${options.algorithms.map(shown).join(', ')}`,
    });
  }
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > 256)) {
    throw new InvalidTokenError('ERR_TOKEN_HEADER', 'the kid header parameter is invalid', { claim: 'kid' });
  }
  // RFC 7515 §4.1.11: we implement no extensions, so any `crit` (including b64: false) is refused.
  if (header.crit !== undefined) {
    throw new InvalidTokenError('ERR_TOKEN_HEADER', 'the token requires header extensions this API does not understand', { claim: 'crit' });
  }
  checkType(header.typ, options.strict);
  // RFC 8725 §2.8, §3.11: a nested JWT (cty: JWT) or any content type is not an access token.
  if (header.cty !== undefined) {
    throw new InvalidTokenError('ERR_TOKEN_TYPE', 'nested or typed content (cty) is not accepted in an access token', { claim: 'cty' });
  }
  return header as JoseHeader;
}

/**
 * Every rule that holds before any key is looked up: the JWS form, the header, the claims. A token
 * naming another issuer, another audience or long expired causes no JWKS fetch (RFC 8725 §3.8), and
 * for an issuer pattern no trust lookup either. Nothing is trusted until the signature verifies.
 */
export function checkBeforeKeys(token: string, options: ResolvedIssuer, nowSeconds: number): ParsedJws & { header: JoseHeader } {
  const parsed = parseCompactJws(token, malformed, (value) => checkTokenHeader(value, options));
  checkClaims(parsed.payload, options, nowSeconds);
  return parsed as ParsedJws & { header: JoseHeader };
}

/**
 * Verifies `token` against `keys` under `options` at `nowSeconds`.
 * @throws {@link ScopeguardError} (401 or 503).
 */
export async function verifyAccessToken(token: string, options: ResolvedIssuer, keys: KeySource, nowSeconds = Date.now() / 1000): Promise<VerifiedToken> {
  return verifyNow(token, options, keys, nowSeconds);
}

/**
 * {@link verifyAccessToken}, synchronous when the key is already loaded (the common case): a new token
 * costs no promise, no tick. A promise only while keys are fetched; failures throw or reject.
 */
export function verifyNow(token: string, options: ResolvedIssuer, keys: KeySource, nowSeconds: number): VerifiedToken | Promise<VerifiedToken> {
  const parsed = checkBeforeKeys(token, options, nowSeconds);
  const found = keys.candidates(parsed.header.alg, parsed.header.kid);
  return found instanceof Promise ? found.then((candidates) => verifiedWith(parsed, candidates)) : verifiedWith(parsed, found);
}

/**
 * The signature check: several keys can share a kid (or a token has none), the first that verifies
 * wins. Synchronous on Node; on WebCrypto the keys are tried in turn, asynchronously.
 */
function verifiedWith(parsed: ParsedJws & { header: JoseHeader }, candidates: readonly CandidateKey[], from = 0): VerifiedToken | Promise<VerifiedToken> {
  const { header, payload, signature, signingInput } = parsed;
  for (let i = from; i < candidates.length; i++) {
    const candidate = candidates[i]!;
    const valid = verifySignature(header.alg, candidate.key, signingInput, signature);
    if (valid instanceof Promise) {
      return valid.then((ok) => (ok ? { header, payload, keyId: candidate.id } : verifiedWith(parsed, candidates, i + 1)));
    }
    if (valid) return { header, payload, keyId: candidate.id };
  }
  throw new InvalidTokenError('ERR_TOKEN_SIGNATURE', 'the token signature is invalid');
}
