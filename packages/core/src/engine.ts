/**
 * The engine: the one entry adapters call. It ties extraction, issuer selection, verification, the
 * verified-token cache, the permission intersection, audit events and resource metadata together;
 * every rule lives in the module it names.
 */
import { emit, type DecisionEvent, type RequestInfo } from './audit';
import { extractBearerToken, usesDpopScheme, type TokenRequest } from './bearer';
import { DpopVerifier } from './dpop';
import { VerifiedTokenCache, type CacheableVerdict } from './cache';
import { confirmCertificateBinding } from './confirmation';
import { discoverJwksUri } from './discovery';
import { InsufficientScopeError, InvalidTokenError, ScopeguardError, UnavailableError, type ErrorResponse } from './errors';
import { Introspector, isCompactJws, type IntrospectedClaims } from './introspection';
import { RemoteKeySet } from './jwks';
import { resolveIssuers, type ResolvedOptions, type ScopeguardOptions } from './options';
import { createPermissionSource, effectivePermissions, type PermissionSource } from './permissions';
import { principalOf, tokenFacts, type Principal, type TokenFacts } from './principal';
import { resourceMetadataDocument, resourceMetadataUrl } from './resource-metadata';
import { assertRequirement, type ScopeRequirement } from './scopes';
import { verifyAccessToken, type VerifiedToken } from './verify';

/** One trusted issuer (tenant): its options, its keys, its service users. */
interface IssuerContext {
  readonly options: ResolvedOptions;
  readonly keys: RemoteKeySet;
  readonly permissions: PermissionSource | undefined;
  readonly introspector: Introspector | undefined;
}

/** Introspection answers carry no key: their verdicts stay valid for as long as the answer is cached. */
const NO_KEY = { isCurrent: () => true };

interface Verdict extends CacheableVerdict {
  readonly context: IssuerContext;
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
  /** The validated options of the first (often only) issuer; shared settings are the same for all. */
  readonly options: ResolvedOptions;
  /** The first issuer's key set. */
  readonly keys: RemoteKeySet;
  readonly #contexts: readonly IssuerContext[];
  readonly #byIssuer = new Map<string, IssuerContext>();
  readonly #cache: VerifiedTokenCache<Verdict> | undefined;
  readonly #onDecision: ((event: DecisionEvent) => void) | undefined;
  readonly #declaredScopes = new Set<string>();
  readonly #metadataUrl: string | undefined;
  readonly #dpop: DpopVerifier | undefined;
  /** The issuer whose endpoint introspects opaque tokens, if any. */
  readonly #introspecting: IssuerContext | undefined;
  /** One verdict per cached introspection answer, so its principal is built once. */
  readonly #introspected = new WeakMap<IntrospectedClaims, Verdict>();

  /** @throws {@link ScopeguardConfigError} naming the first wrong option. */
  constructor(options: ScopeguardOptions) {
    this.#contexts = resolveIssuers(options).map((resolved) => {
      const { jwksUri, issuers, jwks } = resolved;
      const resolveUri = jwksUri !== undefined ? async () => jwksUri : () => discoverJwksUri(issuers[0]!, jwks.timeoutMs);
      const context: IssuerContext = {
        options: resolved,
        keys: new RemoteKeySet(resolveUri, jwks),
        permissions: createPermissionSource(resolved.permissions, resolved.permissionLookup),
        introspector: resolved.introspection && new Introspector(resolved.introspection),
      };
      for (const issuer of resolved.issuers) this.#byIssuer.set(issuer, context);
      return context;
    });
    this.options = this.#contexts[0]!.options;
    this.keys = this.#contexts[0]!.keys;
    this.#cache = this.options.tokenCache ? new VerifiedTokenCache<Verdict>(this.options.tokenCache) : undefined;
    this.#onDecision = this.options.onDecision;
    this.#metadataUrl = this.options.resourceMetadata && resourceMetadataUrl(this.options.resourceMetadata.resource);
    this.#introspecting = this.#contexts.find((context) => context.introspector !== undefined);
    this.#dpop = this.options.dpop && new DpopVerifier(this.options.dpop);
  }

  /** The `realm` of challenges. */
  get realm(): string | undefined {
    return this.options.realm;
  }

  /** Whether decisions are reported (`onDecision`); adapters skip building request info otherwise. */
  get auditing(): boolean {
    return this.#onDecision !== undefined;
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
    return this.verify(token, request);
  }

  /** The bearer token of `request`, per this engine's token sources (RFC 6750 §2). Throws 400/401. */
  extract(request: TokenRequest): string {
    return extractBearerToken(request, this.options);
  }

  /**
   * Verifies a bare access token and resolves its principal. Same errors as {@link authenticate}.
   * Pass the request when certificate-bound tokens (mTLS) are enforced, so the binding can be checked.
   */
  async verify(token: string, request?: TokenRequest): Promise<Principal> {
    const dpop = request !== undefined && this.#dpop !== undefined && usesDpopScheme(request);
    try {
      const principal =
        this.#introspecting !== undefined && !isCompactJws(token)
          ? await this.#principal(await this.#introspect(this.#introspecting, token))
          : await this.#principal(this.#cache?.get(token, Date.now()) ?? this.#remember(token, await this.#verifyToken(token)));
      this.#confirm(principal, request, dpop);
      if (dpop) await this.#dpop!.verify(request!.dpopRequest!(), token, (principal.claims.cnf as { jkt?: unknown } | undefined)?.jkt);
      return principal;
    } catch (error) {
      // A failed DPoP request is answered with a DPoP challenge (RFC 9449 §7.1).
      if (dpop && error instanceof ScopeguardError) error.scheme = 'DPoP';
      throw error;
    }
  }

  /**
   * Proof-of-possession rules that hold on every request, cached or not: RFC 8705 (the token's
   * certificate), RFC 9449 §7.2 (a DPoP-bound token is never accepted as a bearer token), and
   * DPoP `required` mode (bearer tokens refused).
   */
  #confirm(principal: Principal, request: TokenRequest | undefined, dpop: boolean): void {
    const { mtls } = this.options;
    if (mtls !== undefined) confirmCertificateBinding(principal.claims, request?.clientCertificateThumbprint?.(mtls.certificateHeader), mtls.mode);
    if (dpop) return;
    if ((principal.claims.cnf as { jkt?: unknown } | undefined)?.jkt !== undefined) {
      throw new InvalidTokenError('ERR_TOKEN_BINDING', 'the token is DPoP-bound: send it with the DPoP scheme and a proof', { claim: 'cnf' });
    }
    if (this.#dpop?.mode === 'required') throw new InvalidTokenError('ERR_TOKEN_BINDING', 'this API accepts only DPoP-bound tokens');
  }

  /**
   * The principal of `token` when its verdict is cached and its permissions are known, with no
   * asynchronous step; `undefined` when {@link verify} must run. This is the hot path of a reused
   * client-credentials token: adapters call it first so a cache hit costs no promise or tick.
   * Throws like {@link verify} (an unknown service user).
   */
  cachedPrincipal(token: string, request?: TokenRequest): Principal | undefined {
    // Every DPoP proof is checked (and its jti recorded), so DPoP requests take the verified path.
    if (this.#dpop !== undefined && request !== undefined && usesDpopScheme(request)) return undefined;
    const verdict =
      this.#introspecting !== undefined && !isCompactJws(token) ? this.#cachedIntrospection(this.#introspecting, token) : this.#cache?.get(token, Date.now());
    if (verdict === undefined) return undefined;
    const principal = this.#principal(verdict);
    if (principal instanceof Promise) return undefined;
    this.#confirm(principal, request, false);
    return principal;
  }

  /**
   * Throws a 403 {@link InsufficientScopeError} unless the principal meets every requirement
   * (none: any authenticated caller). Emits an `allowed` decision when it does.
   */
  authorize(principal: Principal, requirements: ScopeRequirement | readonly ScopeRequirement[], info?: RequestInfo): void {
    const list = Array.isArray(requirements) ? (requirements as readonly ScopeRequirement[]) : [requirements as ScopeRequirement];
    for (const requirement of list) assertRequirement(principal.permissions, requirement);
    if (this.#onDecision) {
      emit(this.#onDecision, { outcome: 'allowed', at: new Date(), ...this.#who(principal, info), requiredScopes: list.flatMap((r) => r.scopes) });
    }
  }

  /** Emits an `authenticated` decision (adapters call it where authentication ends). */
  authenticated(principal: Principal, info?: RequestInfo): void {
    if (this.#onDecision) emit(this.#onDecision, { outcome: 'authenticated', at: new Date(), ...this.#who(principal, info) });
  }

  /**
   * Status, headers and JSON body for an error thrown by this engine, with this engine's realm and
   * resource metadata URL. Emits the `refused` or `unavailable` decision.
   */
  errorResponse(error: ScopeguardError, info?: RequestInfo): ErrorResponse {
    if (this.#onDecision) {
      const cause = error instanceof UnavailableError && error.cause instanceof Error ? error.cause.message : undefined;
      emit(this.#onDecision, {
        outcome: error.status === 503 ? 'unavailable' : 'refused',
        at: new Date(),
        method: info?.method,
        route: info?.route,
        status: error.status,
        code: error.code,
        reason: error.description,
        ...(error instanceof InsufficientScopeError && { requiredScopes: error.requiredScopes }),
        ...(cause !== undefined && { cause }),
      });
    }
    return error.toResponse({ realm: this.options.realm, resourceMetadata: this.#metadataUrl, dpopAlgs: this.#dpop?.algorithms.join(' ') });
  }

  /** Records scopes that routes require, for `scopes_supported` in the resource metadata. */
  declareScopes(scopes: Iterable<string>): void {
    for (const scope of scopes) this.#declaredScopes.add(scope);
  }

  /**
   * RFC 9728 protected resource metadata, when `resourceMetadata` is configured: the URL it is
   * served at (path-inserted, from the configured resource) and the document.
   */
  resourceMetadata(): { url: string; path: string; document: Record<string, unknown> } | undefined {
    const configured = this.options.resourceMetadata;
    if (configured === undefined || this.#metadataUrl === undefined) return undefined;
    const issuers = this.#contexts.flatMap((context) => context.options.issuers);
    return {
      url: this.#metadataUrl,
      path: new URL(this.#metadataUrl).pathname,
      document: resourceMetadataDocument(configured, issuers, this.options.tokenSources, this.#declaredScopes),
    };
  }

  /** Counters for metrics and tests: cached verdicts and key-set fetches (all issuers). */
  stats(): { cachedTokens: number; cachedBytes: number; jwksFetches: number; introspections: number } {
    return {
      cachedTokens: this.#cache?.size ?? 0,
      cachedBytes: this.#cache?.bytes ?? 0,
      jwksFetches: this.#contexts.reduce((sum, context) => sum + context.keys.fetchCount, 0),
      introspections: this.#contexts.reduce((sum, context) => sum + (context.introspector?.requests ?? 0), 0),
    };
  }

  #who(principal: Principal, info: RequestInfo | undefined) {
    return { method: info?.method, route: info?.route, clientId: principal.clientId, issuer: principal.issuer, effectiveScopes: principal.permissions };
  }

  /**
   * The unverified `iss` only selects which issuer's rules and keys apply (Spring's
   * JwtIssuerAuthenticationManagerResolver); an issuer not on the list is refused before any key
   * lookup, so it can cause no network request, and issuer A's keys never see issuer B's tokens.
   */
  #contextFor(token: string): IssuerContext {
    if (this.#contexts.length === 1 && this.#contexts[0]!.options.issuers.length === 1) {
      // One issuer: its rules will refuse any other `iss`; only refuse early what cannot be it.
      return this.#contexts[0]!;
    }
    const payload = token.split('.')[1];
    let iss: unknown;
    try {
      iss = (JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as { iss?: unknown }).iss;
    } catch {
      return this.#contexts[0]!; // malformed: let verification say precisely why
    }
    const context = typeof iss === 'string' ? this.#byIssuer.get(iss) : undefined;
    if (context === undefined) throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the token issuer is not trusted', { claim: 'iss' });
    return context;
  }

  async #verifyToken(token: string): Promise<{ context: IssuerContext; verified: VerifiedToken; facts: TokenFacts }> {
    try {
      const context = this.#contextFor(token);
      const verified = await verifyAccessToken(token, context.options, context.keys);
      const facts = tokenFacts(verified.payload, context.options.profile, context.options.requireClientCredentials);
      return { context, verified, facts };
    } catch (error) {
      if (error instanceof ScopeguardError) throw error;
      throw new InvalidTokenError('ERR_TOKEN_MALFORMED', 'the token could not be verified', { cause: error });
    }
  }

  #cachedIntrospection(context: IssuerContext, token: string): Verdict | undefined {
    const claims = context.introspector!.cached(token);
    return claims && this.#introspected.get(claims);
  }

  /**
   * RFC 7662: the endpoint's answer stands in for signature checks; its `iss`, `aud` and `exp`, when
   * present, are held to the same rules as a JWT's, and it yields the same principal.
   */
  async #introspect(context: IssuerContext, token: string): Promise<Verdict> {
    const cached = this.#cachedIntrospection(context, token);
    if (cached) return cached;
    const claims = await context.introspector!.introspect(token);
    const known = this.#introspected.get(claims);
    if (known) return known;
    const { options } = context;
    const { iss, aud, exp } = claims;
    if (iss !== undefined && !options.issuers.includes(iss as string)) {
      throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the iss claim is not accepted', { claim: 'iss' });
    }
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : undefined;
    if (aud !== undefined && !audiences?.some((value) => options.audiences.includes(value as string))) {
      throw new InvalidTokenError('ERR_TOKEN_CLAIM', 'the aud claim is not accepted', { claim: 'aud' });
    }
    const now = Date.now() / 1000;
    if (exp !== undefined && (typeof exp !== 'number' || exp <= now - options.clockTolerance)) {
      throw new InvalidTokenError('ERR_TOKEN_EXPIRED', 'the token has expired', { claim: 'exp' });
    }
    const payload = { ...claims, iss: iss ?? options.issuers[0], exp: exp ?? Math.floor(now + (options.introspection?.ttl ?? 60)) };
    const facts = tokenFacts(payload, options.profile, options.requireClientCredentials);
    const verdict: Verdict = { notAfter: Infinity, keyId: '', keySet: NO_KEY, context, facts, principal: undefined, held: undefined };
    this.#introspected.set(claims, verdict);
    return verdict;
  }

  /** Caches a verdict until `exp` (+ tolerance), or `iat + maxTokenAge` when that comes first. */
  #remember(token: string, { context, verified, facts }: { context: IssuerContext; verified: VerifiedToken; facts: TokenFacts }): Verdict {
    const { exp, iat } = verified.payload as { exp: number; iat?: number };
    const { clockTolerance, maxTokenAge } = context.options;
    let notAfterSeconds = exp + clockTolerance;
    if (maxTokenAge !== undefined && typeof iat === 'number') notAfterSeconds = Math.min(notAfterSeconds, iat + maxTokenAge + clockTolerance);
    const verdict: Verdict = {
      notAfter: notAfterSeconds * 1000,
      keyId: verified.keyId,
      keySet: context.keys,
      context,
      facts,
      principal: undefined,
      held: undefined,
    };
    this.#cache?.offer(token, verdict);
    return verdict;
  }

  #principal(verdict: Verdict): Principal | Promise<Principal> {
    const { permissions: source, options } = verdict.context;
    if (source === undefined) {
      return (verdict.principal ??= principalOf(verdict.facts, effectivePermissions(verdict.facts.scopes, undefined, options.scopeMap)));
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
      verdict.principal = principalOf(verdict.facts, effectivePermissions(verdict.facts.scopes, held, verdict.context.options.scopeMap));
      verdict.held = held;
    }
    return verdict.principal;
  }
}

function unknownClient(): InsufficientScopeError {
  return new InsufficientScopeError([], 'the client is not a known service user of this API', 'ERR_UNKNOWN_CLIENT');
}
