/**
 * The engine: the one entry adapters call. It ties extraction, verification, the verified-token
 * cache and the permission intersection together; every rule lives in the module it names.
 */
import { extractBearerToken, type TokenRequest } from './bearer';
import { VerifiedTokenCache, type CacheableVerdict } from './cache';
import { discoverJwksUri } from './discovery';
import {
  InsufficientScopeError,
  InvalidTokenError,
  ScopeguardError,
  type ErrorResponse,
} from './errors';
import { RemoteKeySet, type KeySource } from './jwks';
import { resolveOptions, type ResolvedOptions, type ScopeguardOptions } from './options';
import { createPermissionSource, effectivePermissions, type PermissionSource } from './permissions';
import { principalOf, tokenFacts, type Principal, type TokenFacts } from './principal';
import { assertRequirement, type ScopeRequirement } from './scopes';
import { verifyAccessToken, type VerifiedToken } from './verify';

interface Verdict extends CacheableVerdict {
  readonly facts: TokenFacts;
  /** The last principal built, with the permission set it was built from. */
  principal: Principal | undefined;
  held: ReadonlySet<string> | undefined;
}

/**
 * Protects a resource server. Create one per API (it holds the key and token caches), then call
 * {@link Scopeguard.authenticate} per request and {@link Scopeguard.authorize} per route.
 *
 * ```ts
 * const guard = new Scopeguard({ issuer: 'https://as.example.com/', audience: 'https://api.example.com' });
 * const principal = await guard.authenticate({ authorization: req.headers.authorization });
 * guard.authorize(principal, scopeRequirement('all', ['orders.read']));
 * ```
 */
export class Scopeguard {
  /** The validated options. */
  readonly options: ResolvedOptions;
  /** The issuer's key set. */
  readonly keys: RemoteKeySet;
  readonly #cache: VerifiedTokenCache<Verdict> | undefined;
  readonly #permissions: PermissionSource | undefined;

  /** @throws {@link ScopeguardConfigError} naming the first wrong option. */
  constructor(options: ScopeguardOptions) {
    this.options = resolveOptions(options);
    const { jwksUri, issuers, jwks } = this.options;
    const resolveUri = jwksUri !== undefined ? async () => jwksUri : () => discoverJwksUri(issuers[0]!, jwks.timeoutMs);
    this.keys = new RemoteKeySet(resolveUri, jwks);
    this.#cache = this.options.tokenCache ? new VerifiedTokenCache<Verdict>(this.options.tokenCache) : undefined;
    this.#permissions = createPermissionSource(this.options.permissions, this.options.permissionLookup);
  }

  /** The `realm` of challenges. */
  get realm(): string | undefined {
    return this.options.realm;
  }

  /**
   * Extracts, verifies and resolves the caller of `request`.
   * @throws {@link ScopeguardError}: 400/401 for a bad request or token, 403 for an unknown
   * service user, 503 when keys or permissions cannot be obtained. Nothing else escapes.
   */
  authenticate(request: TokenRequest): Promise<Principal> {
    let token: string;
    try {
      token = this.extract(request);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.verify(token);
  }

  /** The bearer token of `request`, per this engine's token sources (RFC 6750 §2). Throws 400/401. */
  extract(request: TokenRequest): string {
    return extractBearerToken(request, this.options);
  }

  /** Verifies a bare access token and resolves its principal. Same errors as {@link authenticate}. */
  async verify(token: string): Promise<Principal> {
    const verdict = this.#cache?.get(token, Date.now(), this.#isCurrent) ?? this.#remember(token, await this.#verifyToken(token));
    return this.#principal(verdict);
  }

  /**
   * The principal of `token` when its verdict is cached and its permissions are known, with no
   * asynchronous step; `undefined` when {@link verify} must run. This is the hot path of a reused
   * client-credentials token: adapters call it first so a cache hit costs no promise or tick.
   * Throws like {@link verify} (an unknown service user).
   */
  cachedPrincipal(token: string): Principal | undefined {
    const verdict = this.#cache?.get(token, Date.now(), this.#isCurrent);
    if (verdict === undefined) return undefined;
    const principal = this.#principal(verdict);
    return principal instanceof Promise ? undefined : principal;
  }

  readonly #isCurrent = (keyId: string): boolean => this.keys.isCurrent(keyId);

  /** Counters for metrics and tests: cached verdicts and key-set fetches. */
  stats(): { cachedTokens: number; cachedBytes: number; jwksFetches: number } {
    return { cachedTokens: this.#cache?.size ?? 0, cachedBytes: this.#cache?.bytes ?? 0, jwksFetches: this.keys.fetchCount };
  }

  /** Throws a 403 {@link InsufficientScopeError} unless the principal meets `requirement`. */
  authorize(principal: Principal, requirement: ScopeRequirement): void {
    assertRequirement(principal.permissions, requirement);
  }

  /** Status, headers and JSON body for an error thrown by this engine, with this engine's realm. */
  errorResponse(error: ScopeguardError): ErrorResponse {
    return error.toResponse({ realm: this.options.realm });
  }

  async #verifyToken(token: string): Promise<{ verified: VerifiedToken; facts: TokenFacts }> {
    try {
      const verified = await verifyAccessToken(token, this.options, this.keys);
      return { verified, facts: tokenFacts(verified.payload, this.options.profile, this.options.requireClientCredentials) };
    } catch (error) {
      if (error instanceof ScopeguardError) throw error;
      throw new InvalidTokenError('ERR_TOKEN_MALFORMED', 'the token could not be verified', { cause: error });
    }
  }

  /** Caches a verdict until `exp` (+ tolerance), or `iat + maxTokenAge` when that comes first. */
  #remember(token: string, { verified, facts }: { verified: VerifiedToken; facts: TokenFacts }): Verdict {
    const { exp, iat } = verified.payload as { exp: number; iat?: number };
    const { clockTolerance, maxTokenAge } = this.options;
    let notAfterSeconds = exp + clockTolerance;
    if (maxTokenAge !== undefined && typeof iat === 'number') notAfterSeconds = Math.min(notAfterSeconds, iat + maxTokenAge + clockTolerance);
    const verdict: Verdict = { notAfter: notAfterSeconds * 1000, keyId: verified.keyId, facts, principal: undefined, held: undefined };
    this.#cache?.offer(token, verdict);
    return verdict;
  }

  #principal(verdict: Verdict): Principal | Promise<Principal> {
    const source = this.#permissions;
    if (source === undefined) {
      return (verdict.principal ??= principalOf(verdict.facts, effectivePermissions(verdict.facts.scopes, undefined, this.options.scopeMap)));
    }
    const { clientId } = verdict.facts;
    if (clientId === undefined) throw unknownClient();
    const held = source.lookup({ clientId, issuer: verdict.facts.issuer, subject: verdict.facts.subject, claims: verdict.facts.claims });
    return held instanceof Promise ? held.then((set) => this.#withPermissions(verdict, set)) : this.#withPermissions(verdict, held);
  }

  #withPermissions(verdict: Verdict, held: ReadonlySet<string> | undefined): Principal {
    if (held === undefined) throw unknownClient();
    // Rebuild only when the service user's permissions changed since the last request.
    if (verdict.principal === undefined || verdict.held !== held) {
      verdict.principal = principalOf(verdict.facts, effectivePermissions(verdict.facts.scopes, held, this.options.scopeMap));
      verdict.held = held;
    }
    return verdict.principal;
  }
}

function unknownClient(): InsufficientScopeError {
  return new InsufficientScopeError([], 'the client is not a known service user of this API', 'ERR_UNKNOWN_CLIENT');
}

export type { KeySource };
