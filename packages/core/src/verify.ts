/**
 * Verify a JWT access token (RFC 9068 §4, RFC 8725 §3): compact JWS only, `alg` from the
 * configured allow-list, key from the pinned issuer key set only (`jku`, `x5u`, `jwk`, `x5c`
 * header parameters are never consulted), accepted `typ`, then the claims: `iss`, `aud`,
 * `exp` (always required), `nbf` and `iat` with clock tolerance.
 */
import { errors as jose, jwtVerify, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { InvalidTokenError, ScopeguardError, type ScopeguardErrorCode } from './errors';
import { hasDuplicateMembers } from './json';
import type { KeySource } from './jwks';
import type { ResolvedOptions } from './options';

/** A token whose signature and claims were verified. */
export interface VerifiedToken {
  readonly header: JWTHeaderParameters;
  readonly payload: JWTPayload;
  /** Which key of the set verified it (see {@link KeySource.isCurrent}). */
  readonly keyId: string;
}

/** RFC 9068 §2.2 claims the strict profile requires. */
export const RFC9068_REQUIRED_CLAIMS = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'] as const;

const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]+$/;

function malformed(description: string): InvalidTokenError {
  return new InvalidTokenError('ERR_TOKEN_MALFORMED', description);
}

/**
 * The structure check done before any key lookup: three segments of canonical, unpadded base64url
 * (RFC 7515 §2), a header and payload without duplicate member names. Returns the decoded texts.
 */
function checkCompactJws(token: string): { header: string; payload: string } {
  const parts = token.split('.');
  if (parts.length === 5) throw malformed('encrypted tokens (JWE) are not accepted');
  if (parts.length !== 3) throw malformed('the token is not a JWS in compact serialization');
  const decoded: string[] = [];
  for (const part of parts) {
    if (!BASE64URL_SEGMENT.test(part)) throw malformed('the token is not made of three base64url segments');
    const bytes = Buffer.from(part, 'base64url');
    // Only one encoding of given bytes is valid: no stray trailing bits, no impossible lengths.
    if (bytes.toString('base64url') !== part) throw malformed('the token uses non-canonical base64url');
    decoded.push(decoded.length < 2 ? bytes.toString('utf8') : '');
  }
  const [header, payload] = decoded as [string, string];
  return { header, payload };
}

/** Parses a JOSE header or claims set: a JSON object without duplicate member names. */
function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw malformed(`the token ${what} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed(`the token ${what} is not a JSON object`);
  if (hasDuplicateMembers(text)) throw malformed('the token has duplicate JSON member names');
  return value as Record<string, unknown>;
}

/**
 * RFC 9068 §4: `typ` must be `at+jwt` (or `application/at+jwt`). Outside strict mode `JWT` or no
 * `typ` is also accepted, for issuers that predate RFC 9068; any other explicit type (`dpop+jwt`,
 * `secevent+jwt`, an ID token's `JWT`-less types…) is another kind of token and is refused
 * (RFC 8725 §3.11: explicit typing prevents cross-JWT confusion).
 */
function checkType(typ: unknown, strict: boolean): void {
  if (typ === undefined && !strict) return;
  if (typeof typ === 'string') {
    const type = typ.toLowerCase().replace(/^application\//, '');
    if (type === 'at+jwt' || (!strict && type === 'jwt')) return;
  }
  throw new InvalidTokenError('ERR_TOKEN_TYPE', strict ? 'the token type must be at+jwt' : 'the token type is not an access token type', {
    claim: 'typ',
  });
}

function claimFailure(error: jose.JWTClaimValidationFailed): InvalidTokenError {
  const { claim, reason } = error;
  if (claim === 'nbf') return new InvalidTokenError('ERR_TOKEN_NOT_YET_VALID', 'the token is not valid yet', { claim });
  if (claim === 'iat' && reason === 'check_failed') {
    return new InvalidTokenError('ERR_TOKEN_NOT_YET_VALID', 'the token was issued in the future', { claim });
  }
  if (claim === 'typ') return new InvalidTokenError('ERR_TOKEN_TYPE', 'the token type is not accepted', { claim });
  const description =
    reason === 'missing' ? `the token lacks the required ${claim} claim`
    : reason === 'invalid' ? `the ${claim} claim has an invalid type`
    : `the ${claim} claim is not accepted`;
  return new InvalidTokenError('ERR_TOKEN_CLAIM', description, { claim });
}

/** Maps a jose error to ours; descriptions never echo claim values or key material. */
function fromJose(error: unknown): ScopeguardError {
  if (error instanceof ScopeguardError) return error;
  if (error instanceof jose.JWTExpired) {
    const description = error.claim === 'iat' ? 'the token is older than the maximum token age' : 'the token has expired';
    return new InvalidTokenError('ERR_TOKEN_EXPIRED', description, { claim: error.claim, cause: error });
  }
  if (error instanceof jose.JWTClaimValidationFailed) return claimFailure(error);
  const table: [new (...args: never[]) => Error, ScopeguardErrorCode, string][] = [
    [jose.JWSSignatureVerificationFailed, 'ERR_TOKEN_SIGNATURE', 'the token signature is invalid'],
    [jose.JOSEAlgNotAllowed, 'ERR_TOKEN_ALG_NOT_ALLOWED', 'the token algorithm is not allowed'],
    [jose.JWSInvalid, 'ERR_TOKEN_MALFORMED', 'the token is not a valid JWS'],
    [jose.JWTInvalid, 'ERR_TOKEN_MALFORMED', 'the token is not a valid JWT'],
  ];
  for (const [type, code, description] of table) {
    if (error instanceof type) return new InvalidTokenError(code as 'ERR_TOKEN_MALFORMED', description, { cause: error });
  }
  // Anything else (a key that fails jose's own checks, an unsupported curve…) still fails closed.
  return new InvalidTokenError('ERR_TOKEN_MALFORMED', 'the token could not be verified', { cause: error });
}

/** Verifies `token` against `keys` under `options`. @throws {@link ScopeguardError} (401 or 503). */
export async function verifyAccessToken(token: string, options: ResolvedOptions, keys: KeySource): Promise<VerifiedToken> {
  const decoded = checkCompactJws(token);
  const header = parseJsonObject(decoded.header, 'header') as JWTHeaderParameters;
  const { alg, kid } = header;
  if (typeof alg !== 'string' || !(options.algorithms as readonly string[]).includes(alg)) {
    throw new InvalidTokenError('ERR_TOKEN_ALG_NOT_ALLOWED', 'the token algorithm is not allowed', { claim: 'alg' });
  }
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > 256)) {
    throw new InvalidTokenError('ERR_TOKEN_HEADER', 'the kid header parameter is invalid', { claim: 'kid' });
  }
  if (header.crit !== undefined) {
    throw new InvalidTokenError('ERR_TOKEN_HEADER', 'the token requires header extensions this API does not understand', { claim: 'crit' });
  }
  checkType(header.typ, options.strict);
  if (header.cty !== undefined) {
    // RFC 8725 §2.8/§3.11: a nested JWT (cty: JWT) or any content type is not an access token.
    throw new InvalidTokenError('ERR_TOKEN_TYPE', 'nested or typed content (cty) is not accepted in an access token', { claim: 'cty' });
  }
  // Checked before any key lookup; jose parses the payload again after the signature.
  parseJsonObject(decoded.payload, 'payload');

  const candidates = await keys.candidates(alg, kid);
  const verifyOptions = {
    algorithms: options.algorithms as string[],
    issuer: options.issuers as string[],
    audience: options.audiences as string[],
    clockTolerance: options.clockTolerance,
    ...(options.maxTokenAge !== undefined && { maxTokenAge: options.maxTokenAge }),
    requiredClaims: options.strict ? [...RFC9068_REQUIRED_CLAIMS] : ['exp'],
  };
  let lastError: unknown;
  for (const candidate of candidates) {
    try {
      const { payload } = await jwtVerify(token, candidate.key, verifyOptions);
      checkTimes(payload, options.clockTolerance);
      return { header, payload, keyId: candidate.id };
    } catch (error) {
      lastError = error;
      // Several keys can share a kid (or a token has none): try the next one on a signature miss only.
      if (!(error instanceof jose.JWSSignatureVerificationFailed)) break;
    }
  }
  throw fromJose(lastError);
}

/**
 * What jose leaves open: times must be finite (`1e400` parses to Infinity, which jose would take as
 * a number), and a token issued in the future is refused even without `maxTokenAge`.
 */
function checkTimes(payload: JWTPayload, tolerance: number): void {
  for (const claim of ['exp', 'nbf', 'iat'] as const) {
    const value = payload[claim];
    if (value !== undefined && !Number.isFinite(value)) {
      throw new InvalidTokenError('ERR_TOKEN_CLAIM', `the ${claim} claim has an invalid type`, { claim });
    }
  }
  if (payload.iat !== undefined && payload.iat > Date.now() / 1000 + tolerance) {
    throw new InvalidTokenError('ERR_TOKEN_NOT_YET_VALID', 'the token was issued in the future', { claim: 'iat' });
  }
}
