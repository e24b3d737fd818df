/**
 * JWT claims rules (RFC 7519 §4.1, RFC 9068 §4): `iss` exactly one of the trusted issuers, `aud`
 * containing this API, `exp` required and in the future, `nbf` and `iat` not in the future, all
 * with clock tolerance; finite numbers only (`1e400` parses to Infinity).
 */
import { InvalidTokenError } from './errors';
import type { ResolvedOptions } from './options';

/** RFC 9068 §2.2 claims the strict profile requires. */
export const RFC9068_REQUIRED_CLAIMS = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'] as const;

const STRING_CLAIMS = new Set(['iss', 'sub', 'client_id', 'jti']);

function claimError(claim: string, reason: 'missing' | 'invalid' | 'unexpected'): InvalidTokenError {
  const description =
    reason === 'missing' ? `the token lacks the required ${claim} claim`
    : reason === 'invalid' ? `the ${claim} claim has an invalid type`
    : `the ${claim} claim is not accepted`;
  return new InvalidTokenError('ERR_TOKEN_CLAIM', description, { claim });
}

/** A NumericDate claim (RFC 7519 §2), or `undefined` when absent. */
function numericDate(claims: Record<string, unknown>, claim: string): number | undefined {
  const value = claims[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw claimError(claim, 'invalid');
  return value;
}

/**
 * Checks the claims of a verified token at `nowSeconds`.
 * @throws {@link InvalidTokenError}: `ERR_TOKEN_CLAIM` (missing, mistyped or unexpected `iss`/`aud`/…),
 * `ERR_TOKEN_EXPIRED`, `ERR_TOKEN_NOT_YET_VALID`.
 */
export function checkClaims(claims: Record<string, unknown>, options: ResolvedOptions, nowSeconds = Math.floor(Date.now() / 1000)): void {
  const required: readonly string[] = options.strict ? RFC9068_REQUIRED_CLAIMS : ['iss', 'aud', 'exp'];
  for (const claim of required) {
    if (!Object.hasOwn(claims, claim)) throw claimError(claim, 'missing');
    if (STRING_CLAIMS.has(claim) && typeof claims[claim] !== 'string') throw claimError(claim, 'invalid');
  }

  if (!options.issuers.includes(claims.iss as string)) throw claimError('iss', 'unexpected');
  const { aud } = claims;
  if (typeof aud === 'string') {
    if (!options.audiences.includes(aud)) throw claimError('aud', 'unexpected');
  } else if (Array.isArray(aud) && aud.every((value) => typeof value === 'string')) {
    if (!aud.some((value) => options.audiences.includes(value))) throw claimError('aud', 'unexpected');
  } else {
    throw claimError('aud', 'invalid');
  }

  const tolerance = options.clockTolerance;
  const exp = numericDate(claims, 'exp')!;
  const nbf = numericDate(claims, 'nbf');
  const iat = numericDate(claims, 'iat');
  if (nbf !== undefined && nbf > nowSeconds + tolerance) {
    throw new InvalidTokenError('ERR_TOKEN_NOT_YET_VALID', 'the token is not valid yet', { claim: 'nbf' });
  }
  if (exp <= nowSeconds - tolerance) throw new InvalidTokenError('ERR_TOKEN_EXPIRED', 'the token has expired', { claim: 'exp' });
  if (iat !== undefined && iat > nowSeconds + tolerance) {
    throw new InvalidTokenError('ERR_TOKEN_NOT_YET_VALID', 'the token was issued in the future', { claim: 'iat' });
  }
  if (options.maxTokenAge !== undefined) {
    if (iat === undefined) throw claimError('iat', 'missing');
    if (nowSeconds - iat - tolerance > options.maxTokenAge) {
      throw new InvalidTokenError('ERR_TOKEN_EXPIRED', 'the token is older than the maximum token age', { claim: 'iat' });
    }
  }
}
