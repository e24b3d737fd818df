/**
 * The principal: who called (the client, a service user) and what it may do, read from verified
 * claims. Principals are frozen because one verdict serves every request with the same token.
 */
import { InvalidTokenError } from '../http/errors';
import { deepFreeze } from '../token/json';
import type { ClaimProfile } from '../token/presets';
import { clientIdFromClaims, namesAUser } from '../token/presets';
import { tokenScopes } from './scopes';

/** A verified claims set (RFC 7519 §4). */
export type Claims = Readonly<Record<string, unknown>>;

/** The authenticated caller, as adapters hand it to route handlers. */
export interface Principal {
  /** The client (service user) the token was issued to, per the preset's client-id claims. */
  readonly clientId: string | undefined;
  /** `sub`. For client-credentials tokens it identifies the client (RFC 9068 §2.2). */
  readonly subject: string | undefined;
  /** `iss`. */
  readonly issuer: string;
  /** `aud`, always as an array. */
  readonly audience: readonly string[];
  /** Scopes the token carries (granted by the authorization server). */
  readonly scopes: readonly string[];
  /** Effective permissions: scopes ∩ what the service user holds. Route requirements check these. */
  readonly permissions: readonly string[];
  /** Whether the token represents the client itself rather than a user. */
  readonly isClientCredentials: boolean;
  /** `exp` as a date. */
  readonly expiresAt: Date;
  /** Every verified claim. */
  readonly claims: Claims;
}

/** The parts of a principal that depend on the token alone. */
export type TokenFacts = Omit<Principal, 'permissions'>;

/**
 * Reads the facts of a verified payload, freezing it (deeply) as principals share it.
 * @throws {@link InvalidTokenError} `ERR_TOKEN_NOT_CLIENT` when client credentials are required and
 * the token represents a user.
 */
export function tokenFacts(payload: Record<string, unknown>, profile: ClaimProfile, requireClientCredentials: boolean): TokenFacts {
  return frozenTokenFacts(deepFreeze(payload), profile, requireClientCredentials);
}

/**
 * {@link tokenFacts} of a payload frozen already, as a parsed JWS's is (jws.ts freezes it in its
 * duplicate check): no `Object.isFrozen`, which walks every member of a frozen object (~0.6k
 * instructions a new token).
 */
export function frozenTokenFacts(claims: Record<string, unknown>, profile: ClaimProfile, requireClientCredentials: boolean): TokenFacts {
  const clientId = clientIdFromClaims(claims, profile.clientIdClaims);
  const isClientCredentials = !namesAUser(claims, clientId, profile) && profile.isClientCredentials(claims, clientId);
  if (requireClientCredentials && !isClientCredentials) {
    throw new InvalidTokenError('ERR_TOKEN_NOT_CLIENT', 'this API accepts only client credentials tokens, not user tokens');
  }
  return {
    clientId,
    subject: typeof claims.sub === 'string' ? claims.sub : undefined,
    issuer: claims.iss as string,
    audience: audienceOf(claims.aud),
    scopes: tokenScopes(claims, profile.scopeClaims, profile.scopePrefixes),
    isClientCredentials,
    expiresAt: new Date((claims.exp as number) * 1000),
    claims,
  };
}

/**
 * `aud` as a frozen list. An API's tokens name it the same way, so the list of the last string
 * audience is shared (a new array and its freezing saved per new token); a list is copied.
 */
function audienceOf(aud: unknown): readonly string[] {
  if (typeof aud === 'string') {
    const last = lastAudience;
    if (last !== undefined && last[0] === aud) return last;
    return (lastAudience = Object.freeze([aud]));
  }
  // Validated claims hold a string or a list; the CLI reads facts of claims that may not be.
  return Object.freeze(Array.isArray(aud) ? [...(aud as string[])] : []);
}
let lastAudience: readonly [string] | undefined;

/**
 * A principal an engine built. Provenance is a private field, not a registry: only objects built
 * here have it, so an object of the same shape set on `req.auth` by other code is not a principal.
 * (A WeakMap of every principal measured ~3 µs per new token in ephemeron bookkeeping.)
 */
/** Held by this module only: the key {@link IssuedPrincipal}'s constructor asks for. */
const CONSTRUCT = Symbol('scopeguard.principal');

// The class has the interface's members (declaration merging): its constructor copies the facts.
// eslint-disable-next-line @typescript-eslint/no-empty-interface, @typescript-eslint/no-unsafe-declaration-merging
interface IssuedPrincipal extends Principal {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
class IssuedPrincipal {
  readonly #token: string;
  /** What the engine that built it needs to find again (its verdict); opaque here. */
  readonly #origin: unknown;

  constructor(key: typeof CONSTRUCT, facts: TokenFacts, permissions: readonly string[], token: string, origin: unknown) {
    // `principal.constructor` is reachable by any code holding a principal: only this module builds one.
    if (key !== CONSTRUCT) throw new TypeError('principals are built by the scopeguard engine only');
    // Member by member, not Object.assign: one shape for every principal, and ~0.3 µs less per new token.
    const self = this as { -readonly [K in keyof Principal]: Principal[K] };
    self.clientId = facts.clientId;
    self.subject = facts.subject;
    self.issuer = facts.issuer;
    self.audience = facts.audience;
    self.scopes = facts.scopes;
    self.isClientCredentials = facts.isClientCredentials;
    self.expiresAt = facts.expiresAt;
    self.claims = facts.claims;
    self.permissions = Object.isFrozen(permissions) ? permissions : Object.freeze([...permissions]);
    this.#token = token;
    this.#origin = origin;
    Object.freeze(this);
  }

  static isIssued(value: object): value is IssuedPrincipal {
    return #token in value;
  }

  static tokenOf(principal: IssuedPrincipal): string {
    return principal.#token;
  }

  static originOf(principal: IssuedPrincipal): unknown {
    return principal.#origin;
  }
}

/** A frozen principal from facts and effective permissions, for `token`; `origin` is kept for {@link originOf}. */
export function principalOf(facts: TokenFacts, permissions: readonly string[], token: string, origin: unknown): Principal {
  return new IssuedPrincipal(CONSTRUCT, facts, permissions, token, origin);
}

/** Whether `value` is a principal a scopeguard engine built (not merely an object of its shape). */
export function isPrincipal(value: unknown): value is Principal {
  return typeof value === 'object' && value !== null && IssuedPrincipal.isIssued(value);
}

/** The access token a principal was built from; `undefined` for anything {@link isPrincipal} refuses. Never log it. */
export function accessTokenOf(principal: Principal): string | undefined {
  return isPrincipal(principal) ? IssuedPrincipal.tokenOf(principal as IssuedPrincipal) : undefined;
}

/** The `origin` a principal was built with; `undefined` for anything {@link isPrincipal} refuses. */
export function originOf(principal: Principal): unknown {
  return isPrincipal(principal) ? IssuedPrincipal.originOf(principal as IssuedPrincipal) : undefined;
}
