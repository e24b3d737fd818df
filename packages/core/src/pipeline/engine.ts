/**
 * The engine and its one request pipeline: extract → verdict cache → verify (or introspect) →
 * permissions → proof of possession → the route's requirements → audit. Every adapter calls
 * {@link Scopeguard.admit} and only translates its framework's request and reply; every rule lives in
 * the module it names.
 */
import { emit, type DecisionEvent, type RequestInfo } from '../hooks/audit';
import { extractBearerToken, usesDpopScheme, type TokenRequest } from '../token/bearer';
import { VerifiedTokenCache, type CacheableVerdict } from './verdict-cache';
import { checkClaims, validUntil } from '../token/claims';
import { confirmCertificateBinding } from '../proof/mtls';
import { DpopVerifier } from '../proof/dpop';
import { InsufficientScopeError, InternalError, InvalidTokenError, MissingTokenError, ScopeguardError, type ChallengeOptions, type ErrorResponse } from '../http/errors';
import { isCompactJws, type IntrospectedClaims } from '../hooks/introspection';
import { IssuerRegistry, type CacheChange, type IssuerContext, type IssuerHealth } from '../keys/issuers';
import { resolveOptions, type ResolvedOptions, type ScopeguardOptions } from './options';
import { shown } from '../token/mismatch';
import { OperatorLog, type OperatorLogger } from '../hooks/operator-log';
import type { KeySetEvent } from '../keys/jwks';
import { INACTIVE_CLIENT, permissionsFor, type HeldPermissions, type PermissionSource } from '../hooks/permissions';
import { accessTokenOf, frozenTokenFacts, originOf, principalOf, tokenFacts, type Principal, type TokenFacts } from './principal';
import { resourceMetadataDocument, resourceMetadataUrl } from '../http/resource-metadata';
import { assertRequirement, type ScopeRequirement } from './scopes';
import { telemetryFor, type Telemetry } from '../hooks/telemetry';
import { checkBeforeKeys, unverifiedPayload, verifyNow, type VerifiedToken } from '../token/verify';

/** Introspection answers carry no key: their verdicts stay valid for as long as the answer is cached. */
const NO_KEY = { isCurrent: () => true };
const NO_REQUIREMENTS: readonly ScopeRequirement[] = Object.freeze([]);

/**
 * Where an engine leaves, on a request's carrier, the principal it admitted (or the refusal an app
 * decided after admission): one property under a symbol no other code holds, so nothing else sets it
 * by accident. Not a WeakMap keyed by requests: its per-request entries measured ~5 µs a request in
 * garbage collection at 30 000 requests/s (Nest on Fastify). Which engine admitted a principal is
 * known from its verdict, so two engines on one request never take each other's admissions.
 */
const ADMITTED = Symbol('scopeguard.admitted');

/**
 * The engine whose optional authentication let this request through anonymously: a later stage (a
 * route's scope check) then finds the engine, and refuses the anonymous caller with its challenge.
 */
const ANONYMOUS = Symbol('scopeguard.anonymous');

/** A request object as an engine marks it (see {@link ADMITTED}). */
type Carrier = { [ADMITTED]?: Principal | ScopeguardError | undefined; [ANONYMOUS]?: Scopeguard };

/** The engine that recorded each refusal of {@link Scopeguard.refuse} (rare: no cost per request). */
const refusedBy = new WeakMap<ScopeguardError, Scopeguard>();

/** The verdict behind a principal (of any engine), held by the principal itself. */
const verdictOf = (principal: Principal): Verdict | undefined => originOf(principal) as Verdict | undefined;

interface Verdict extends CacheableVerdict {
  /** The engine that reached it. */
  readonly engine: Scopeguard;
  readonly context: IssuerContext;
  readonly facts: TokenFacts;
  /** The last principal built, with the permission set it was built from. */
  principal: Principal | undefined;
  held: ReadonlySet<string> | undefined;
}

/**
 * Protects a resource server. Create one per API (it holds the key, token and permission caches);
 * adapters call {@link Scopeguard.admit} once per request and stage.
 *
 * ```ts
 * const guard = new Scopeguard({ issuer: 'https://as.example.com/', audience: 'https://api.example.com' });
 * const canRead = scopeRequirement('all', ['orders.read']);
 * const principal = await guard.admit(tokenRequestFromNode(req), [canRead]);
 * ```
 */
export class Scopeguard {
  /** The validated options: the shared settings and every issuer entry. */
  readonly options: ResolvedOptions;
  /**
   * What an operator should know at start-up, for adapters to log once: for now, issuer entries
   * with no `permissions`, whose tokens' scopes are trusted as they are (no intersection).
   */
  readonly notices: readonly string[];
  readonly #issuers: IssuerRegistry;
  #announced = false;
  readonly #cache: VerifiedTokenCache<Verdict> | undefined;
  /**
   * Whether the verdict cache holds a valid verdict for a token, for extraction to skip its syntax
   * check; the verdict found is kept for {@link #principalOf} in the same call, so a reused token is
   * looked up once a request, not twice (each lookup compared the whole token with the entry's).
   */
  readonly #known: ((token: string) => boolean) | undefined;
  /**
   * The token text `#known` looked up during this request's extraction, and what it found (`null`:
   * nothing valid). Read and cleared by #admitRequest as soon as extraction returns or throws: no
   * request's lookup, nor its token, stays on the engine after it.
   */
  #lookedUp: string | undefined;
  #lookedUpVerdict: Verdict | null = null;
  readonly #onDecision: ((event: DecisionEvent) => unknown) | undefined;
  /** The operator's log, once an adapter (or the app) attached one: {@link logTo}. */
  #operator: OperatorLog | undefined;
  readonly #clock: () => number;
  readonly #declaredScopes = new Set<string>();
  readonly #metadataUrl: string | undefined;
  readonly #metadataPath: string | undefined;
  readonly #dpop: DpopVerifier | undefined;
  /** How this engine's refusals are rendered: realm, resource metadata URL, DPoP algorithms. */
  readonly #rendering: ChallengeOptions;
  /** The issuer whose endpoint introspects opaque tokens, if any. */
  readonly #introspecting: IssuerContext | undefined;
  /** One verdict per cached introspection answer, so its principal is built once. */
  readonly #introspected = new WeakMap<IntrospectedClaims, Verdict>();
  /** OpenTelemetry instruments; `undefined` without `@opentelemetry/api` or with `telemetry: false` (telemetry.ts). */
  readonly #telemetry: Telemetry | undefined;

  /** @throws {@link ScopeguardConfigError} naming the first wrong option. */
  constructor(options: ScopeguardOptions) {
    this.options = resolveOptions(options);
    const { clock } = this.options;
    this.#telemetry = telemetryFor(this.options.telemetry);
    // Key-set changes reach the operator's log (once one is attached) before the app's sink.
    const { onKeySet } = this.options;
    const keySets = (event: KeySetEvent): void | Promise<unknown> => {
      this.#operator?.keySet(event);
      return onKeySet?.(event);
    };
    this.#issuers = new IssuerRegistry({ ...this.options, onKeySet: keySets }, clock, this.#telemetry);
    this.notices = Object.freeze(this.options.issuers.filter((entry) => entry.permissions === undefined).map(intersectionOffNotice));
    this.#clock = clock;
    this.#cache = this.options.tokenCache ? new VerifiedTokenCache<Verdict>(this.options.tokenCache) : undefined;
    const cache = this.#cache;
    this.#known =
      cache &&
      ((token: string) => {
        const verdict = cache.get(token, this.#clock());
        this.#lookedUp = token;
        this.#lookedUpVerdict = verdict ?? null;
        return verdict !== undefined;
      });
    this.#onDecision = this.options.onDecision;
    this.#metadataUrl = this.options.resourceMetadata && resourceMetadataUrl(this.options.resourceMetadata.resource);
    this.#metadataPath = this.#metadataUrl && new URL(this.#metadataUrl).pathname;
    this.#introspecting = this.#issuers.introspecting;
    this.#dpop = this.options.dpop && new DpopVerifier(this.options.dpop, clock);
    this.#rendering = Object.freeze({ realm: this.options.realm, resourceMetadata: this.#metadataUrl, dpopAlgs: this.#dpop?.algorithms.join(' ') });
  }

  /**
   * The engine that admitted the request whose carrier this is, if one did: for a later stage (a
   * route's scope check) that was not handed the engine. Reads the admission, never `req.auth`.
   */
  static admitting(carrier: object): Scopeguard | undefined {
    const known = (carrier as Carrier)[ADMITTED];
    if (known === undefined) return (carrier as Carrier)[ANONYMOUS];
    // A refusal recorded after admission (refuse()): the engine that recorded it answers it again.
    return known instanceof ScopeguardError ? refusedBy.get(known) : verdictOf(known)?.engine;
  }

  /**
   * Hands each of {@link notices} to `warn`, once per engine however many adapters share it: adapters
   * call it at start-up with their framework's logger.
   */
  announce(warn: (message: string) => void): void {
    if (this.#announced) return;
    this.#announced = true;
    for (const notice of this.notices) warn(notice);
  }

  /**
   * Writes to `logger` what an operator must see, with no other option (operator-log.ts): each
   * dependency outage once and its recovery, key-set changes, 500s, and refusals that point at a
   * configuration mistake (an `iss` or `aud` that does not match on most requests, an unknown
   * client, bursts of unknown `kid`s), each naming both sides; rate-limited, never a token. Also
   * hands it the start-up {@link notices}. Adapters call it with their framework's logger; the first
   * logger an engine is given keeps it.
   */
  logTo(logger: OperatorLogger): void {
    if (typeof logger?.warn !== 'function') throw new TypeError('scopeguard: a logger must have a warn(message) method');
    this.announce((notice) => logger.warn(notice));
    this.#operator ??= new OperatorLog(logger, this.#clock);
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
   * The pipeline: admits `request` when its token is valid, its client a known service user, its
   * proof of possession (mTLS, DPoP) holds, and the principal meets every one of `requirements`
   * (none: any authenticated caller). Reports each decision to `onDecision`.
   *
   * Synchronous for a reused token (a verdict-cache hit): returns the principal or throws. Otherwise
   * a promise. Either way, failure is always a {@link ScopeguardError}: 400/401 for a bad request or
   * token, 403 for missing scopes or an unknown service user, 503 when a dependency (keys,
   * permissions, introspection, replay store) failed or timed out, 500 (generic) for anything else.
   *
   * A request whose carrier this engine already admitted (an earlier stage) is not authenticated
   * again: only `requirements` are checked, against the principal the engine found.
   */
  admit(request: TokenRequest, requirements: readonly ScopeRequirement[] = NO_REQUIREMENTS, info?: RequestInfo): Principal | Promise<Principal> {
    return this.#admitRequest(request, requirements, info, false) as Principal | Promise<Principal>;
  }

  /**
   * Optional authentication, for routes that serve anonymous callers but use the caller when a token
   * is present: a request with no bearer token at all is let through (`undefined`, and no decision is
   * reported); any token that is sent goes through the whole pipeline, so an invalid one is still
   * refused, never silently ignored. Same errors as {@link admit}.
   */
  admitOptional(request: TokenRequest, info?: RequestInfo): Principal | undefined | Promise<Principal | undefined> {
    return this.#admitRequest(request, NO_REQUIREMENTS, info, true);
  }

  #admitRequest(request: TokenRequest, requirements: readonly ScopeRequirement[], info: RequestInfo | undefined, optional: boolean): Principal | undefined | Promise<Principal> {
    const carrier = request.carrier as Carrier | undefined;
    const known = carrier?.[ADMITTED];
    if (known !== undefined) {
      // An earlier stage refused this request after admitting it (refuse()): every later stage does too.
      if (known instanceof ScopeguardError) throw known;
      if (this.#stillValid(known)) return this.#readmit(carrier!, known, requirements, info);
    }
    let dpop = false;
    let found: Principal | Promise<Principal>;
    try {
      const token = extractBearerToken(request, this.options, this.#known);
      // Equal text is the same cache key (this is normally the very string extraction looked up).
      const cached = this.#lookedUp === token ? this.#lookedUpVerdict : undefined;
      this.#forgetLookup();
      dpop = this.#dpop !== undefined && usesDpopScheme(request);
      found = this.#authenticate(token, request, dpop, cached);
    } catch (error) {
      // Refused after the lookup (a token in two places): nothing of this request stays for the next.
      this.#forgetLookup();
      // No bearer token at all (none, or another scheme such as Basic): anonymous, where that is allowed.
      // Something that starts like Bearer or DPoP but is not one (`Bearer\t…`, `DPoP` with DPoP off) is
      // a credential sent wrong: refused, never ignored.
      if (optional && error instanceof MissingTokenError && !startsLikeBearer(request.authorization)) {
        if (carrier !== undefined) carrier[ANONYMOUS] = this;
        return undefined;
      }
      throw this.#refusal(error, info, dpop);
    }
    if (!(found instanceof Promise)) return this.#admit(carrier, found, requirements, info);
    return found.then(
      (principal) => this.#admit(carrier, principal, requirements, info),
      (error: unknown) => {
        throw this.#refusal(error, info, dpop);
      },
    );
  }

  /**
   * Verifies a bare access token (for transports other than HTTP) through the same pipeline, as a
   * bearer token. Same errors as {@link admit}.
   */
  verify(token: string): Promise<Principal> {
    try {
      return Promise.resolve(this.admit({ authorization: `Bearer ${token}` }));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Status, headers and JSON body for a refusal from {@link admit}, with this engine's realm,
   * resource metadata URL and DPoP algorithms, and on a 401 the scopes the request needs when given
   * (`scopeHint`: scope-tokens of the route's requirements). (`admit` already reported it.)
   */
  errorResponse(error: ScopeguardError, scopeHint?: readonly string[]): ErrorResponse {
    return error.toResponse(scopeHint === undefined || scopeHint.length === 0 ? this.#rendering : { ...this.#rendering, scope: scopeHint.join(' ') });
  }

  /**
   * The refusal as an error that answers as this engine would (`toResponse()`, `headers`,
   * `statusCode`, `expose`), to hand to a framework's or an app's error handler.
   */
  rendered(error: ScopeguardError): ScopeguardError {
    return error.withRendering(this.#rendering);
  }

  /**
   * A refusal decided outside {@link admit}, after it (an app's Passport `validate()` that knows no
   * user for the principal): reports it, and records it on `request`'s carrier in place of the
   * admission, so every later stage on that request (a guard after an optional Passport stage) answers
   * the same refusal. Renders it like {@link errorResponse}.
   */
  refuse(error: ScopeguardError, request?: TokenRequest, info?: RequestInfo): ErrorResponse {
    const carrier = request?.carrier as Carrier | undefined;
    if (carrier !== undefined) {
      carrier[ADMITTED] = error;
      refusedBy.set(error, this);
    }
    this.#report(error, info, undefined);
    return this.errorResponse(error);
  }

  /** Records scopes that routes require, for `scopes_supported` in the resource metadata. */
  declareScopes(scopes: Iterable<string>): void {
    for (const scope of scopes) this.#declaredScopes.add(scope);
  }

  /** The path the RFC 9728 document is served at, when `resourceMetadata` is configured (read per request: no document is built). */
  get resourceMetadataPath(): string | undefined {
    return this.#metadataPath;
  }

  /**
   * RFC 9728 protected resource metadata, when `resourceMetadata` is configured: the URL it is
   * served at (path-inserted, from the configured resource) and the document.
   */
  resourceMetadata(): { url: string; path: string; document: Record<string, unknown> } | undefined {
    const configured = this.options.resourceMetadata;
    if (configured === undefined || this.#metadataUrl === undefined) return undefined;
    return {
      url: this.#metadataUrl,
      path: this.#metadataPath!,
      document: resourceMetadataDocument(configured, this.#issuers.fixed, this.options.tokenSources, this.#declaredScopes, {
        mtls: this.options.mtls !== undefined,
        dpop: this.#dpop && { algorithms: this.#dpop.algorithms, required: this.#dpop.mode === 'required' },
      }),
    };
  }

  /**
   * Counters for metrics and tests: cached verdicts, key-set fetches (of the key sets held now),
   * introspections, and for issuer patterns the issuers held and the refusals remembered.
   */
  stats(): {
    cachedTokens: number;
    cachedBytes: number;
    jwksFetches: number;
    introspections: number;
    keySets: number;
    patternIssuers: number;
    refusedIssuers: number;
  } {
    const keySets = this.#issuers.keySets();
    const patterns = this.#issuers.patternStats();
    return {
      cachedTokens: this.#cache?.size ?? 0,
      cachedBytes: this.#cache?.bytes ?? 0,
      jwksFetches: keySets.reduce((sum, keys) => sum + keys.fetchCount, 0),
      introspections: this.#issuers.contexts.reduce((sum, context) => sum + (context.introspector?.requests ?? 0), 0),
      keySets: keySets.length,
      patternIssuers: patterns.issuers,
      refusedIssuers: patterns.refused,
    };
  }

  /**
   * Warm start: fetches (discovery and) every key set not loaded yet, so the first requests wait for
   * nothing. Await it before listening; pinned keys are ready at once. Rejects with an `AggregateError`
   * of the failures (the engine still works: it keeps fetching on demand and answers 503 meanwhile).
   */
  async ready(): Promise<void> {
    const pending = this.#issuers.keySets().filter((keys) => {
      const { state } = keys.health();
      return state === 'loading' || state === 'unavailable' || state === 'expired';
    });
    const results = await Promise.allSettled(pending.map((keys) => keys.refresh()));
    const failures = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected').map((result) => result.reason as unknown);
    if (failures.length > 0) throw new AggregateError(failures, `${failures.length} of ${results.length} key sets could not be fetched: ${failures.map((failure) => (failure as Error).message).join('; ')}`);
  }

  /**
   * Readiness for health checks: each issuer's key set (state, keys, age, the last fetch error), and
   * `ready` when every set can verify tokens now (fresh, pinned, or stale within `jwks.maxStaleMs`).
   * Issuers of a pattern appear once seen.
   */
  health(): EngineHealth {
    const issuers = this.#issuers.health();
    return { ready: issuers.every((entry) => entry.state === 'fresh' || entry.state === 'stale' || entry.state === 'pinned'), issuers };
  }

  /**
   * Forgets what this engine cached about a token or client that changed elsewhere, so that the next
   * request asks `isRevoked` and the permission resolver again: `{ jti }` after a revocation,
   * `{ clientId }` after a client was deactivated or its permissions changed, nothing for everything
   * (after missing changes, e.g. while a shared store's subscription was down). An answer asked for
   * before the call is not cached after it. Cheap when nothing is cached; a scan of the caches otherwise.
   */
  invalidate(change: CacheChange = {}): void {
    this.#issuers.forget(change);
  }

  /**
   * Fetches every issuer's key set now (fixed issuers, and the trusted issuers of patterns held):
   * after an out-of-band rotation notice, or to warm up before traffic. Pinned keys are left as they
   * are. Rejects with an `AggregateError` of the failures; the sets that failed keep their keys.
   */
  async refreshKeys(): Promise<void> {
    const results = await Promise.allSettled(this.#issuers.keySets().map((keys) => keys.refresh()));
    const failures = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected').map((result) => result.reason as unknown);
    if (failures.length > 0) throw new AggregateError(failures, `${failures.length} of ${results.length} key sets could not be fetched`);
  }

  #forgetLookup(): void {
    this.#lookedUp = undefined;
    this.#lookedUpVerdict = null;
  }

  /**
   * Authentication: the principal of `token`, with every proof-of-possession rule checked. `cached`:
   * what extraction's lookup found in the verdict cache (`null`: nothing valid; `undefined`: not looked up).
   */
  #authenticate(token: string, request: TokenRequest, dpop: boolean, cached?: Verdict | null): Principal | Promise<Principal> {
    const found = this.#principalOf(token, cached);
    // No closure on the synchronous (cache-hit) path: it runs on every request with a reused token.
    if (found instanceof Promise) return found.then((principal) => this.#proven(principal, token, request, dpop));
    return this.#proven(found, token, request, dpop);
  }

  #proven(principal: Principal, token: string, request: TokenRequest, dpop: boolean): Principal | Promise<Principal> {
    this.#confirm(principal, request, dpop);
    if (!dpop) return principal;
    const jkt = (principal.claims.cnf as { jkt?: unknown } | undefined)?.jkt;
    // Every DPoP request has its own proof (and jti): verified on cache hits too.
    return this.#dpop!.verify(request.dpopRequest?.(), token, jkt).then(() => principal);
  }

  /**
   * The principal of a token: from the verdict cache, else verified (or introspected), with permissions.
   * `cached`: the verdict cache's answer for it in this request, if it was asked already (see #authenticate).
   */
  #principalOf(token: string, cached: Verdict | null | undefined): Principal | Promise<Principal> {
    const introspecting = this.#introspecting;
    if (introspecting !== undefined && !isCompactJws(token)) {
      const answered = this.#cachedIntrospection(introspecting, token);
      this.#telemetry?.looked(answered !== undefined);
      if (answered !== undefined) return this.#principal(answered, token);
      return this.#introspect(introspecting, token).then((verdict) => this.#principal(verdict, token));
    }
    const cache = this.#cache;
    const verdict = cached === undefined ? cache?.get(token, this.#clock()) : (cached ?? undefined);
    if (cache !== undefined) this.#telemetry?.looked(verdict !== undefined);
    if (verdict !== undefined) return this.#principal(verdict, token);
    // A span and a latency point per verification, never per cached request.
    const telemetry = this.#telemetry;
    const verified = telemetry === undefined ? this.#verifyToken(token) : telemetry.run('verification', () => this.#verifyToken(token));
    if (verified instanceof Promise) return verified.then((done) => this.#principal(this.#remember(token, done), token));
    return this.#principal(this.#remember(token, verified), token);
  }

  /**
   * Proof-of-possession rules that hold on every request, cached or not: RFC 8705 (the token's
   * certificate), RFC 9449 §7.2 (a DPoP-bound token is never accepted as a bearer token), and
   * DPoP `required` mode (bearer tokens refused).
   */
  #confirm(principal: Principal, request: TokenRequest, dpop: boolean): void {
    const { mtls } = this.options;
    if (mtls !== undefined) confirmCertificateBinding(principal.claims, request.clientCertificateThumbprint?.(mtls.certificateHeader), mtls.mode);
    else if ((principal.claims.cnf as Record<string, unknown> | undefined)?.['x5t#S256'] !== undefined) {
      // A binding this API does not check is never ignored (as a DPoP-bound token is never a bearer token).
      throw new InvalidTokenError('ERR_TOKEN_BINDING', 'the token is bound to a client certificate, which this API does not check', { claim: 'cnf' });
    }
    if (dpop) return;
    if ((principal.claims.cnf as { jkt?: unknown } | undefined)?.jkt !== undefined) {
      throw new InvalidTokenError('ERR_TOKEN_BINDING', 'the token is DPoP-bound: send it with the DPoP scheme and a proof', { claim: 'cnf' });
    }
    if (this.#dpop?.mode === 'required') throw new InvalidTokenError('ERR_TOKEN_BINDING', 'this API accepts only DPoP-bound tokens');
  }

  /**
   * A principal remembered on a carrier still stands while its verdict does (not past `exp` or
   * `iat + maxTokenAge`, its key still in the set): a long-lived carrier, such as the upgrade request
   * of a WebSocket, is judged anew once it does not.
   */
  #stillValid(principal: Principal): boolean {
    const verdict = verdictOf(principal);
    // Another engine's admission (two engines on one request) does not count here.
    if (verdict === undefined || verdict.engine !== this) return false;
    try {
      return this.#clock() < verdict.notAfter && verdict.keySet.isCurrent(verdict.keyId);
    } catch {
      return false; // a failing clock: let the full path fail with its 500
    }
  }

  /**
   * A later stage on a request already admitted (a route check, or a long-lived carrier such as a
   * WebSocket upgrade request): not authenticated again, but revocation and the service user's
   * permissions (an inactive client) are asked again — cached, so usually synchronous — so that their
   * answers hold within their ttl here too.
   */
  #readmit(carrier: Carrier, known: Principal, requirements: readonly ScopeRequirement[], info: RequestInfo | undefined): Principal | Promise<Principal> {
    const verdict = verdictOf(known)!;
    const { revocation, permissions } = verdict.context;
    // Nothing that can change since the admission (no isRevoked, a fixed map or the token's scopes): as it was.
    if (revocation === undefined && !permissions?.changes) return this.#authorize(known, requirements, info);
    let current: Principal | Promise<Principal>;
    try {
      current = this.#principal(verdict, accessTokenOf(known)!);
    } catch (error) {
      throw this.#refusal(error, info, false, known);
    }
    if (!(current instanceof Promise)) {
      carrier[ADMITTED] = current;
      return this.#authorize(current, requirements, info);
    }
    return current.then(
      (principal) => {
        carrier[ADMITTED] = principal;
        return this.#authorize(principal, requirements, info);
      },
      (error: unknown) => {
        throw this.#refusal(error, info, false, known);
      },
    );
  }

  /** Remembers the admission, reports it, and checks the route's requirements. */
  #admit(carrier: Carrier | undefined, principal: Principal, requirements: readonly ScopeRequirement[], info: RequestInfo | undefined): Principal {
    if (carrier !== undefined) carrier[ADMITTED] = principal;
    this.#telemetry?.decided('authenticated');
    this.#operator?.passed();
    if (this.#onDecision) emit(this.#onDecision, { outcome: 'authenticated', at: this.#now(), ...this.#who(principal, info) });
    return this.#authorize(principal, requirements, info);
  }

  /** Returns `principal` when it meets every requirement (reporting `allowed` when there were any); throws a reported refusal otherwise. */
  #authorize(principal: Principal, requirements: readonly ScopeRequirement[], info: RequestInfo | undefined): Principal {
    if (requirements.length === 0) return principal;
    try {
      for (const requirement of requirements) assertRequirement(principal.permissions, requirement);
      this.#telemetry?.decided('allowed');
      if (this.#onDecision) {
        emit(this.#onDecision, {
          outcome: 'allowed',
          at: this.#now(),
          ...this.#who(principal, info),
          requiredScopes: requirements.flatMap((requirement) => requirement.scopes),
        });
      }
    } catch (error) {
      throw this.#refusal(error, info, false, principal);
    }
    return principal;
  }

  /**
   * Any failure as this request's refusal (unforeseen errors become a generic 500), reported. A
   * refusal may be shared by concurrent requests (one failed lookup answers all its waiters), so it
   * is never changed in place.
   */
  #refusal(error: unknown, info: RequestInfo | undefined, dpop: boolean, principal?: Principal): ScopeguardError {
    const refusal = error instanceof ScopeguardError ? error : new InternalError(error);
    // A failed DPoP request is answered with a DPoP challenge (RFC 9449 §7.1).
    const answer = dpop ? refusal.withScheme('DPoP') : refusal;
    this.#report(answer, info, principal);
    return answer;
  }

  /** The time of an event; a failing clock is already being reported, so it must not fail here too. */
  #now(): Date {
    try {
      return new Date(this.#clock());
    } catch {
      return new Date();
    }
  }

  #report(error: ScopeguardError, info: RequestInfo | undefined, principal: Principal | undefined): void {
    const { status } = error;
    const outcome = status === 503 ? 'unavailable' : status === 500 ? 'error' : 'refused';
    this.#telemetry?.decided(outcome, error.code);
    this.#operator?.refused(error);
    if (this.#onDecision === undefined) return;
    const cause = (status === 503 || status === 500) && error.cause instanceof Error ? error.cause.message : undefined;
    emit(this.#onDecision, {
      outcome,
      at: this.#now(),
      method: info?.method,
      route: info?.route,
      ...(principal && { clientId: principal.clientId, issuer: principal.issuer, effectiveScopes: principal.permissions }),
      status,
      code: error.code,
      reason: error.description,
      ...(error.detail !== undefined && { detail: error.detail }),
      ...(error instanceof InsufficientScopeError && { requiredScopes: error.requiredScopes }),
      ...(cause !== undefined && { cause }),
    });
  }

  #who(principal: Principal, info: RequestInfo | undefined) {
    return { method: info?.method, route: info?.route, clientId: principal.clientId, issuer: principal.issuer, effectiveScopes: principal.permissions };
  }

  /**
   * The unverified `iss` only selects which issuer's rules and keys apply (Spring's
   * JwtIssuerAuthenticationManagerResolver); an issuer no entry trusts is refused before any key
   * lookup, so it can cause no network request, and issuer A's keys never see issuer B's tokens.
   */
  #contextFor(token: string): IssuerContext | Promise<IssuerContext> {
    // One fixed issuer: its claim rules refuse any other `iss` before its keys are consulted.
    const single = this.#issuers.single;
    if (single !== undefined) return single;
    // A pattern's issuer seen for the first time: the token must pass every check that needs no key
    // under that pattern's rules before its app is asked whether the issuer is trusted.
    return this.#issuers.contextFor(unverifiedPayload(token).iss, (rules) => void checkBeforeKeys(token, rules, this.#clock() / 1000));
  }

  /**
   * Verification, synchronous when the issuer and its key are known (a new token then costs no
   * promise); every refusal a token can cause is a ScopeguardError, anything else (a failing clock)
   * becomes a 500 in {@link admit}.
   */
  #verifyToken(token: string): VerifiedFacts | Promise<VerifiedFacts> {
    const found = this.#contextFor(token);
    return found instanceof Promise ? found.then((context) => this.#verifyWith(context, token)) : this.#verifyWith(found, token);
  }

  #verifyWith(context: IssuerContext, token: string): VerifiedFacts | Promise<VerifiedFacts> {
    const verified = verifyNow(token, context.rules, context.keys, this.#clock() / 1000);
    return verified instanceof Promise ? verified.then((done) => factsOf(context, done)) : factsOf(context, verified);
  }

  #cachedIntrospection(context: IssuerContext, token: string): Verdict | undefined {
    const claims = context.introspector!.cached(token);
    const verdict = claims && this.#introspected.get(claims);
    return verdict !== undefined && this.#clock() < verdict.notAfter ? verdict : undefined;
  }

  /**
   * RFC 7662: the endpoint's answer stands in for the signature, and is held to the same claim
   * rules as a JWT payload (claims.ts). An answer without `iss` speaks for the endpoint's issuer;
   * one without `exp` (outside strict mode) is valid for the answer's cache ttl.
   */
  async #introspect(context: IssuerContext, token: string): Promise<Verdict> {
    const claims = await context.introspector!.introspect(token);
    const known = this.#introspected.get(claims);
    if (known) return known;
    const options = context.rules;
    const now = this.#clock() / 1000;
    const payload: Record<string, unknown> = { ...claims, iss: claims.iss === undefined ? options.issuers[0] : claims.iss };
    checkClaims(payload, options, now, 'introspection');
    const notAfter = validUntil(payload, options) * 1000;
    payload.exp ??= Math.floor(now + (options.introspection?.ttl ?? 60));
    const facts = tokenFacts(payload, options.profile, options.requireClientCredentials);
    const verdict: Verdict = { engine: this, notAfter, keyId: '', keySet: NO_KEY, context, facts, principal: undefined, held: undefined };
    this.#introspected.set(claims, verdict);
    return verdict;
  }

  /** Caches a verdict until `exp` (+ tolerance), or `iat + maxTokenAge` when that comes first. */
  #remember(token: string, { context, verified, facts }: VerifiedFacts): Verdict {
    const verdict: Verdict = {
      engine: this,
      notAfter: validUntil(verified.payload, context.rules) * 1000,
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

  #principal(verdict: Verdict, token: string): Principal | Promise<Principal> {
    const { revocation } = verdict.context;
    // A JWT stands until exp by itself: the app's isRevoked says whether it was revoked before (introspection answers say it themselves).
    if (revocation !== undefined && verdict.keySet !== NO_KEY) {
      const revoked = revocation.revoked(verdict.facts, token);
      if (revoked instanceof Promise) return revoked.then((answer) => this.#notRevoked(answer, verdict, token));
      return this.#notRevoked(revoked, verdict, token);
    }
    return this.#withPermissionSource(verdict, token);
  }

  #notRevoked(revoked: boolean, verdict: Verdict, token: string): Principal | Promise<Principal> {
    if (revoked) throw new InvalidTokenError('ERR_TOKEN_REVOKED', 'the token was revoked');
    return this.#withPermissionSource(verdict, token);
  }

  #withPermissionSource(verdict: Verdict, token: string): Principal | Promise<Principal> {
    const { permissions: source } = verdict.context;
    if (source === undefined) return verdict.principal ?? this.#build(verdict, undefined, token);
    const { clientId } = verdict.facts;
    if (clientId === undefined) throw InsufficientScopeError.unknownClient('the token names no client (see clientIdClaims)');
    const held = source.lookup({ clientId, issuer: verdict.facts.issuer, subject: verdict.facts.subject, claims: verdict.facts.claims });
    return held instanceof Promise ? held.then((set) => this.#withPermissions(verdict, set, token)) : this.#withPermissions(verdict, held, token);
  }

  #withPermissions(verdict: Verdict, held: HeldPermissions, token: string): Principal {
    if (held === undefined) throw InsufficientScopeError.unknownClient(unknownClientDetail(verdict.facts.clientId, verdict.context.permissions));
    if (held === INACTIVE_CLIENT) throw new InvalidTokenError('ERR_CLIENT_INACTIVE', "the client's application is not active");
    // Rebuild only when the service user's permissions changed since the last request.
    return verdict.principal !== undefined && verdict.held === held ? verdict.principal : this.#build(verdict, held, token);
  }

  /** A verdict's principal for the permissions held (`undefined`: no permission source). */
  #build(verdict: Verdict, held: ReadonlySet<string> | undefined, token: string): Principal {
    const principal = principalOf(verdict.facts, permissionsFor(verdict.facts.scopes, held, verdict.context.rules.scopeMap), token, verdict);
    verdict.principal = principal;
    verdict.held = held;
    return principal;
  }
}

/** Whether an Authorization value (the first, if several) starts with the Bearer or DPoP scheme's name. */
function startsLikeBearer(header: string | readonly string[] | undefined): boolean {
  const value = typeof header === 'string' ? header : header?.[0];
  return value !== undefined && /^\s*(bearer|dpop)/i.test(value);
}

/** What {@link Scopeguard.health} answers. */
export interface EngineHealth {
  /** Every key set can verify tokens now. */
  readonly ready: boolean;
  readonly issuers: readonly IssuerHealth[];
}

/** A verified token, the issuer it was verified for, and the facts read from it. */
interface VerifiedFacts {
  readonly context: IssuerContext;
  readonly verified: VerifiedToken;
  readonly facts: TokenFacts;
}

function factsOf(context: IssuerContext, verified: VerifiedToken): VerifiedFacts {
  const { rules } = context;
  // A verified JWT's payload is frozen by its parse.
  return { context, verified, facts: frozenTokenFacts(verified.payload, rules.profile, rules.requireClientCredentials) };
}

/** The start-up notice for an issuer entry that leaves `permissions` out. */
function intersectionOffNotice(entry: ResolvedOptions['issuers'][number]): string {
  const issuer = entry.pattern?.source ?? entry.issuers.join(', ');
  return (
    `scopeguard: no "permissions" for ${issuer}: every client it issues a token to is admitted with the token's scopes as they are ` +
    "(no scope ∩ permission intersection, no unknown-service-user refusal). Give a map or a resolver, or permissions: 'token' to choose this on purpose."
  );
}

/** For the operator: which client the permissions lack, and whom a map names (at most five). */
function unknownClientDetail(clientId: string | undefined, source: PermissionSource | undefined): string {
  const names = source?.clients;
  const named = names === undefined ? 'the permission resolver answered undefined' : names.length === 0 ? 'it names no one' : `it names ${names.slice(0, 5).map(shown).join(', ')}${names.length > 5 ? `, ... (${names.length} in all)` : ''}`;
  return `client ${shown(clientId)} is not in this API's permissions (${named})`;
}
