/**
 * The claims validator (RFC 7519 §4.1, RFC 9068 §2.2 and §4, RFC 7662 §2.2): the one place where
 * claim rules live, for JWT payloads and introspection answers alike. `iss` exactly one of the
 * trusted issuers, `aud` containing this API, `exp` in the future, `nbf` and `iat` not in the
 * future, all with clock tolerance; finite numbers only (`1e400` parses to Infinity); strict mode's
 * required claims; `maxTokenAge`. Time comes in as a parameter, so tests freeze it.
 */
import { InvalidTokenError } from '../http/errors';
import { mismatch, shown } from './mismatch';
import { clientIdFromClaims, type ClaimProfile } from './presets';
import { scopesFromClaims } from '../pipeline/scopes';

/** RFC 9068 §2.2 claims the strict profile requires. */
export const RFC9068_REQUIRED_CLAIMS = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'] as const;

/** What the validator needs of the options (a resolved issuer entry has it all). */
export interface ClaimRules {
  readonly issuers: readonly string[];
  readonly audiences: readonly string[];
  readonly clockTolerance: number;
  readonly maxTokenAge: number | undefined;
  readonly strict: boolean;
  readonly introspection?: { readonly endpointChecksAudience?: boolean } | undefined;
  /** The preset's layout: `token_use`, and where the token names this API (`aud` or Cognito's scope prefixes). */
  readonly profile?: ClaimProfile;
  /** Only these clients' tokens (read with the profile's client-id claims). */
  readonly clientIds?: readonly string[] | undefined;
  /** Set when revocation is checked: then a `jti` that is there must be a non-empty string. */
  readonly isRevoked?: unknown;
}

/**
 * Where the claims come from. An introspection answer (RFC 7662 §2.2) may omit `exp` (the answer's
 * cache ttl bounds it then) outside strict mode, and may omit `aud` when the options declare that
 * the endpoint only answers for tokens meant for this API (`introspection.endpointChecksAudience`).
 */
export type ClaimSource = 'jwt' | 'introspection';

const STRING_CLAIMS = new Set(['iss', 'sub', 'client_id', 'jti']);
const LENIENT_JWT = ['iss', 'aud', 'exp'] as const;
const LENIENT_INTROSPECTION = ['iss', 'aud'] as const;

function claimError(claim: string, reason: 'missing' | 'invalid' | 'unexpected', detail?: string): InvalidTokenError {
  const description =
    reason === 'missing' ? `the token lacks the required ${claim} claim`
    : reason === 'invalid' ? `the ${claim} claim has an invalid type`
    : `the ${claim} claim is not accepted`;
  return new InvalidTokenError('ERR_TOKEN_CLAIM', description, { claim, detail });
}

/** Throws unless `iss` is exactly one of `issuers` (no trailing-slash or case leniency). */
export function checkIssuer(iss: unknown, issuers: readonly string[]): void {
  if (iss === undefined) throw claimError('iss', 'missing');
  if (typeof iss !== 'string') throw claimError('iss', 'invalid', `token iss ${shown(iss)} is not a string`);
  if (!issuers.includes(iss)) throw claimError('iss', 'unexpected', mismatch('token iss', iss, issuers));
}

/** A NumericDate claim (RFC 7519 §2), or `undefined` when absent. */
function numericDate(claims: Record<string, unknown>, claim: string): number | undefined {
  const value = claims[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw claimError(claim, 'invalid');
  return value;
}

/**
 * Checks a claims set at `nowSeconds`.
 * @throws {@link InvalidTokenError}: `ERR_TOKEN_CLAIM` (missing, mistyped or unexpected `iss`/`aud`/…),
 * `ERR_TOKEN_EXPIRED`, `ERR_TOKEN_NOT_YET_VALID`.
 */
export function checkClaims(claims: Record<string, unknown>, rules: ClaimRules, nowSeconds = Date.now() / 1000, source: ClaimSource = 'jwt'): void {
  const { profile } = rules;
  // Cognito's access tokens have no `aud`: the prefix of their scopes names the resource server.
  const audienceInScopes = profile?.audienceIn === 'scope-prefix';
  const audienceVouched = (source === 'introspection' && rules.introspection?.endpointChecksAudience === true) || audienceInScopes;
  const required: readonly string[] = rules.strict ? RFC9068_REQUIRED_CLAIMS : source === 'jwt' ? LENIENT_JWT : LENIENT_INTROSPECTION;
  for (const claim of required) {
    if (claim === 'aud' && audienceVouched) continue;
    if (!Object.hasOwn(claims, claim) || claims[claim] === undefined) throw claimError(claim, 'missing');
    if (STRING_CLAIMS.has(claim) && typeof claims[claim] !== 'string') throw claimError(claim, 'invalid');
  }

  // The id a deny list is asked about (RFC 7519 §4.1.7: a string). One of another type would be
  // asked about as no id at all, and pass a list that holds it.
  // (JWTs only: an introspection answer says itself whether the token was revoked, isRevoked is not asked.)
  if (source === 'jwt' && rules.isRevoked !== undefined && claims.jti !== undefined && (typeof claims.jti !== 'string' || claims.jti === '')) {
    throw claimError('jti', 'invalid', `token jti ${shown(claims.jti)} is not a non-empty string, which revocation needs`);
  }
  checkIssuer(claims.iss, rules.issuers);
  const { aud } = claims;
  if (typeof aud === 'string') {
    if (!rules.audiences.includes(aud)) throw claimError('aud', 'unexpected', mismatch('token aud', aud, rules.audiences));
  } else if (Array.isArray(aud) && aud.length > 0 && aud.every((value) => typeof value === 'string')) {
    if (!aud.some((value) => rules.audiences.includes(value))) throw claimError('aud', 'unexpected', mismatch('token aud', aud, rules.audiences));
  } else if (aud !== undefined || !audienceVouched) {
    throw claimError('aud', 'invalid', aud === undefined ? undefined : `token aud ${shown(aud)} is neither a string nor a non-empty list of strings`);
  } else if (audienceInScopes && scopesFromClaims(claims, profile.scopeClaims, profile.scopePrefixes).length === 0) {
    throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the token carries no scope of this resource server', { claim: 'scope' });
  }
  // An ID token (Cognito's `token_use: "id"`) is never an access token, whatever else it carries.
  if (profile?.tokenUse !== undefined && claims.token_use !== profile.tokenUse) {
    throw claimError('token_use', claims.token_use === undefined ? 'missing' : 'unexpected', claims.token_use === undefined ? undefined : mismatch('token token_use', claims.token_use, [profile.tokenUse]));
  }
  if (rules.clientIds !== undefined) {
    const clientId = clientIdFromClaims(claims, profile?.clientIdClaims ?? ['client_id']);
    if (clientId === undefined) throw claimError('client_id', 'missing');
    if (!rules.clientIds.includes(clientId)) throw claimError('client_id', 'unexpected', mismatch('token client', clientId, rules.clientIds));
  }

  const tolerance = rules.clockTolerance;
  const exp = numericDate(claims, 'exp');
  const nbf = numericDate(claims, 'nbf');
  const iat = numericDate(claims, 'iat');
  if (nbf !== undefined && nbf > nowSeconds + tolerance) {
    throw new InvalidTokenError('ERR_TOKEN_NOT_YET_VALID', 'the token is not valid yet', { claim: 'nbf' });
  }
  if (exp !== undefined && exp <= nowSeconds - tolerance) throw new InvalidTokenError('ERR_TOKEN_EXPIRED', 'the token has expired', { claim: 'exp' });
  if (iat !== undefined && iat > nowSeconds + tolerance) {
    throw new InvalidTokenError('ERR_TOKEN_NOT_YET_VALID', 'the token was issued in the future', { claim: 'iat' });
  }
  if (rules.maxTokenAge !== undefined) {
    if (iat === undefined) throw claimError('iat', 'missing');
    if (nowSeconds - iat - tolerance > rules.maxTokenAge) {
      throw new InvalidTokenError('ERR_TOKEN_EXPIRED', 'the token is older than the maximum token age', { claim: 'iat' });
    }
  }
}

/**
 * Until when (epoch seconds) a checked claims set stays valid: `exp`, or `iat + maxTokenAge` when
 * that comes first, plus tolerance; `fallback` when there is no `exp` (an introspection answer's ttl).
 */
export function validUntil(claims: Record<string, unknown>, rules: ClaimRules, fallback = Infinity): number {
  const { exp, iat } = claims as { exp?: number; iat?: number };
  let until = exp === undefined ? fallback : exp + rules.clockTolerance;
  if (rules.maxTokenAge !== undefined && iat !== undefined) until = Math.min(until, iat + rules.maxTokenAge + rules.clockTolerance);
  return until;
}
