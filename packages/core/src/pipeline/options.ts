/**
 * Options, composed: the public shape of an issuer entry and the shared settings, and
 * `resolveOptions`, which validates them at construction (a wrong option throws naming it) with
 * defaults that are always the safe choice. Each feature's own options (type, defaults, validation)
 * live beside it: `resolveDpop` in proof/dpop.ts, `resolveJwks` in keys/jwks.ts, and so on.
 */
import { ScopeguardConfigError } from '../http/errors';
import { resolvePermissions, resolveScopeMap, type PermissionMap, type PermissionResolver, type TokenScopesOnly } from '../hooks/permissions';
import type { RevocationCheck } from '../hooks/revocation';
import { resolveLookup, type PermissionLookupOptions } from '../hooks/answer-cache';
import { fitsAlgorithm, resolveJwks, resolvePinnedKeys, type JwksOptions, type KeySetEvent, type PinnedKey, type PinnedKeys } from '../keys/jwks';
import { PRESETS, claimPathProblem, type ClaimPath, type ClaimProfile, type PresetName } from '../token/presets';
import { resolveAlgorithms, type JwsAlgorithm } from '../token/signature';
import type { TokenSource } from '../token/bearer';
import type { DecisionEvent } from '../hooks/audit';
import { resolveIntrospection, type IntrospectionOptions } from '../hooks/introspection';
import { resolveMtls, type MtlsOptions, type ResolvedMtls } from '../proof/mtls';
import { resolveDpop, type DpopOptions } from '../proof/dpop';
import { resolveTelemetry, type TelemetryOptions } from '../hooks/telemetry';
import { resolveResourceMetadata, type ResourceMetadataOptions } from '../http/resource-metadata';
import { resolveTokenCache, type TokenCacheOptions } from './verdict-cache';
import { ADAPTER_OPTIONS, boolean, fail, httpUrl, number, object, only, stringList, timeout, unknownOption } from './option-checks';

/** How one trusted issuer's (or one family of issuers') tokens are verified and read. */
export interface IssuerSettings {
  /** This API's identifier(s); the token's `aud` (string or array) must contain one. With the `cognito` preset: the resource-server identifier(s). */
  audience: string | readonly string[];
  /** The issuer's JWKS. When absent (and no `keys`) it is discovered (RFC 8414, then OpenID Connect Discovery). */
  jwksUri?: string;
  /**
   * Keys distributed out of band: a JWK Set, PEM or `KeyObject`s. No network at all: no discovery, no
   * JWKS fetch. Not with `jwksUri`.
   */
  keys?: PinnedKeys;
  /** Allowed `alg` values. Default `['RS256']`. */
  algorithms?: readonly JwsAlgorithm[];
  /** Leeway for `exp`, `nbf` and `iat`, in seconds. Default 5. */
  clockTolerance?: number;
  /** Refuse tokens whose `iat` is older than this many seconds (and require `iat`). */
  maxTokenAge?: number;
  /** RFC 9068 profile: `typ` must be `at+jwt` and `iss exp aud sub client_id iat jti` are required. Default false. */
  strict?: boolean;
  /** Claim layout of a known identity provider. Default `rfc9068`. */
  preset?: PresetName;
  /**
   * Claims holding scopes; overrides the preset's. A name with dots is a path into nested claims
   * (`resource_access.orders-api.roles`) unless the token has a claim of that whole name (Auth0's
   * namespaced claims); an array of names is a path whose segments may hold dots.
   */
  scopeClaims?: readonly ClaimPath[];
  /** Claims holding the client id, tried in order (names or paths, as in `scopeClaims`); overrides the preset's. */
  clientIdClaims?: readonly ClaimPath[];
  /** Accept only tokens issued to these clients. Required by the `cognito` preset, whose access tokens carry no `aud`. */
  clientIds?: readonly string[];
  /** Refuse tokens that represent a user rather than a client acting for itself. Default false. */
  requireClientCredentials?: boolean;
  /**
   * The permissions each service user (client) holds: a map by client id or a resolver. Leaving it
   * out trusts the token's scopes as they are and is announced once at start-up; `'token'` says so
   * on purpose.
   */
  permissions?: PermissionMap | PermissionResolver | TokenScopesOnly;
  /** Settings of the resolver's cache and timeout. */
  permissionLookup?: PermissionLookupOptions;
  /**
   * Revocation before `exp`: asked with the token's `jti` and principal once verified, answers cached
   * per token for `revocationLookup.ttl` seconds (default 60); `true` refuses it (401
   * `ERR_TOKEN_REVOKED`). A throw, rejection, time-out (`revocationLookup.timeoutMs`, default 2000) or
   * an answer that is not a boolean is a 503, never a pass. Not asked for introspected tokens.
   */
  isRevoked?: RevocationCheck;
  /** Cache and deadline of `isRevoked`: `ttl` seconds (60), `timeoutMs` (2000), `maxEntries` (10000). */
  revocationLookup?: PermissionLookupOptions;
  /** A scope may stand for a set of permissions; scopes not listed stand for themselves. */
  scopeMap?: Readonly<Record<string, readonly string[]>>;
  /** JWKS and discovery fetch settings. */
  jwks?: JwksOptions;
  /** Opaque (non-JWT) tokens of this issuer are checked at its RFC 7662 introspection endpoint. */
  introspection?: IntrospectionOptions;
}

/** One trusted issuer (or several sharing one key set): `issuer` and `audience` are required. */
export interface IssuerOptions extends IssuerSettings {
  /** Trusted issuer(s); the token's `iss` must equal one exactly. */
  issuer: string | readonly string[];
}

/** Settings of the `isTrusted` lookup of an issuer pattern. */
export interface TrustLookupOptions {
  /** Keep an answer (trusted or not) this many seconds. Default 300. */
  ttl?: number;
  /** No answer within this many milliseconds is a failure (503). Default 2000. */
  timeoutMs?: number;
  /** Most answers about untrusted issuers kept. Default 10000. */
  maxEntries?: number;
}

/**
 * Issuers not known at start-up (tenants that come and go): every `iss` of a pattern's shape that
 * `isTrusted` confirms. Key sets are created when a trusted issuer's first token arrives, at most
 * `maxIssuers` of them (least recently used dropped), so random `iss` values cause no fetch and no growth.
 */
export interface IssuerPatternOptions extends IssuerSettings {
  /**
   * The issuer URL with `{name}` placeholders, e.g. `https://login.microsoftonline.com/{tenant}/v2.0`.
   * A placeholder stands for one host label (letters, digits, `-`) or one path segment (also `.`, `_`, `~`).
   */
  issuerPattern: string;
  /**
   * Whether an issuer of the pattern's shape is trusted, given its placeholders' values (a tenant
   * look-up). Required unless the keys are fixed (`jwksUri` or `keys`): otherwise any issuer of that
   * shape could make the API fetch. A throw, rejection or time-out is a 503.
   */
  isTrusted?: (issuer: string, values: Readonly<Record<string, string>>) => boolean | Promise<boolean>;
  /** Most issuers whose key sets (and rules) are kept at once. Default 100. */
  maxIssuers?: number;
  /** Settings of the `isTrusted` lookup. */
  trustLookup?: TrustLookupOptions;
}


/** Settings shared by every issuer of an engine. */
export interface SharedOptions {
  /** Where a token may come from (RFC 6750 §2). Default `['header']`. */
  tokenSources?: readonly TokenSource[];
  /** Tokens longer than this many characters are refused before decoding. Default 8192. */
  maxTokenLength?: number;
  /** The `realm` of challenges. Default: the first audience, when it can be quoted. */
  realm?: string;
  /** Verified-token cache bounds, or `false` to verify every request. */
  tokenCache?: TokenCacheOptions | false;
  /** Publish RFC 9728 metadata and point every 401/403 challenge at it (`resource_metadata`). */
  resourceMetadata?: ResourceMetadataOptions;
  /**
   * Called with every decision (audit, metering, alerting). Never given the token. Not awaited: a
   * sink that throws, rejects or never settles changes nothing.
   */
  onDecision?: (event: DecisionEvent) => void | Promise<unknown>;
  /**
   * Called when an issuer's key set starts being served stale (its refresh failed), passes
   * `jwks.maxStaleMs` (requests needing keys get 503), or recovers. Not awaited; failures ignored.
   * Adapters log these through their `logger` besides.
   */
  onKeySet?: (event: KeySetEvent) => void | Promise<unknown>;
  /** The current time in epoch milliseconds, for every time rule (claims, caches, DPoP). Default `Date.now`; tests freeze it. */
  clock?: () => number;
  /** RFC 8705 certificate-bound tokens. Off unless given. */
  mtls?: MtlsOptions;
  /** RFC 9449 DPoP. Off unless given. */
  dpop?: DpopOptions;
  /**
   * OpenTelemetry metrics and spans, recorded when `@opentelemetry/api` is installed (an optional peer
   * dependency): `adapter` names the `adapter` attribute of decisions; `false` records nothing. Default `{}`.
   */
  telemetry?: TelemetryOptions | false;
}

/**
 * Everything `@scopeguard/core` can be told: one issuer's options at the top level (exact issuers or
 * an issuer pattern), or several in `issuers` (tenants), each with its own audience, keys, algorithms,
 * preset and permissions; plus the shared settings.
 */
export type ScopeguardOptions =
  // Not an exclusive union (`issuerPattern?: never` on exact entries): `Partial<ScopeguardOptions>`
  // spreads, common in apps' test helpers, would stop compiling; a mixed entry is refused at construction.
  | (IssuerOptions & SharedOptions)
  | (IssuerPatternOptions & SharedOptions)
  | ({ issuers: readonly (IssuerOptions | IssuerPatternOptions)[] } & SharedOptions);

/** An issuer pattern after validation. */
export interface ResolvedIssuerPattern {
  /** The pattern as configured. */
  readonly source: string;
  /** Matches the issuers of this shape; its groups are the placeholders' values. */
  readonly matcher: RegExp;
  readonly names: readonly string[];
  readonly isTrusted: IssuerPatternOptions['isTrusted'];
  readonly maxIssuers: number;
  readonly trustLookup: Required<TrustLookupOptions>;
}

/** One entry of `issuers` (or the top-level issuer) after validation, with defaults applied. */
export interface ResolvedIssuer {
  /** The exact issuers this entry trusts; empty for a pattern entry until one is confirmed. */
  readonly issuers: readonly string[];
  /** Issuers not known at start-up, when the entry is a pattern. */
  readonly pattern: ResolvedIssuerPattern | undefined;
  readonly audiences: readonly string[];
  readonly jwksUri: string | undefined;
  /** Pinned keys, when given: no network for this entry's keys. */
  readonly keys: readonly PinnedKey[] | undefined;
  readonly algorithms: readonly JwsAlgorithm[];
  readonly clockTolerance: number;
  readonly maxTokenAge: number | undefined;
  readonly strict: boolean;
  readonly profile: ClaimProfile;
  readonly clientIds: readonly string[] | undefined;
  readonly requireClientCredentials: boolean;
  /** `undefined`: left out (announced at start-up); `'token'`: the token's scopes on purpose. */
  readonly permissions: PermissionMap | PermissionResolver | TokenScopesOnly | undefined;
  readonly permissionLookup: Required<PermissionLookupOptions>;
  readonly isRevoked: RevocationCheck | undefined;
  readonly revocationLookup: Required<PermissionLookupOptions>;
  readonly scopeMap: ReadonlyMap<string, readonly string[]> | undefined;
  readonly jwks: Required<JwksOptions>;
  readonly introspection: Readonly<IntrospectionOptions> | undefined;
}

/** Options after validation, with defaults applied: the shared settings and every issuer entry. */
export interface ResolvedOptions {
  /**
   * The issuer entries, in the order given. A token's `iss` selects the entry that names it exactly;
   * failing that, the first entry whose pattern it has the shape of.
   */
  readonly issuers: readonly ResolvedIssuer[];
  readonly tokenSources: ReadonlySet<TokenSource>;
  readonly maxTokenLength: number;
  readonly realm: string | undefined;
  readonly tokenCache: Required<TokenCacheOptions> | false;
  readonly resourceMetadata: Readonly<ResourceMetadataOptions> | undefined;
  readonly mtls: ResolvedMtls | undefined;
  readonly dpop: Readonly<DpopOptions> | undefined;
  readonly onDecision: ((event: DecisionEvent) => void | Promise<unknown>) | undefined;
  readonly onKeySet: ((event: KeySetEvent) => void | Promise<unknown>) | undefined;
  readonly telemetry: Readonly<TelemetryOptions> | false;
  readonly clock: () => number;
}

const ISSUER_OPTIONS = [
  'issuer', 'issuerPattern', 'isTrusted', 'maxIssuers', 'trustLookup', 'audience', 'jwksUri', 'keys', 'algorithms',
  'clockTolerance', 'maxTokenAge', 'strict', 'preset', 'scopeClaims', 'clientIdClaims', 'clientIds', 'requireClientCredentials',
  'permissions', 'permissionLookup', 'isRevoked', 'revocationLookup', 'scopeMap', 'jwks', 'introspection',
];
const SHARED_OPTIONS = ['tokenSources', 'maxTokenLength', 'realm', 'tokenCache', 'resourceMetadata', 'onDecision', 'onKeySet', 'mtls', 'dpop', 'telemetry', 'clock'];
const TOKEN_SOURCES: readonly TokenSource[] = ['header', 'body', 'query'];
// A realm is sent as an RFC 9110 quoted-string; we keep to characters that need no escaping.
const QUOTABLE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function claimPaths(option: string, value: unknown): ClaimPath[] {
  if (!Array.isArray(value) || value.length === 0) fail(option, 'must be a non-empty array of claim names or paths');
  return value.map((path: unknown, index) => {
    const problem = claimPathProblem(path);
    if (problem !== undefined) fail(`${option}[${index}]`, problem);
    return typeof path === 'string' ? path : Object.freeze([...(path as string[])]);
  });
}

function profile(input: IssuerSettings, audiences: readonly string[]): ClaimProfile {
  const preset = input.preset ?? 'rfc9068';
  if (typeof preset !== 'string' || !Object.hasOwn(PRESETS, preset)) fail('preset', `must be one of ${Object.keys(PRESETS).join(', ')}`);
  const base = PRESETS[preset];
  const scopeClaims = input.scopeClaims === undefined ? base.scopeClaims : claimPaths('scopeClaims', input.scopeClaims);
  const clientIdClaims = input.clientIdClaims === undefined ? base.clientIdClaims : claimPaths('clientIdClaims', input.clientIdClaims);
  // Cognito: the audience is the resource-server identifier, the prefix of this API's scopes.
  const scopePrefixes = base.audienceIn === 'scope-prefix' ? audiences.map((audience) => `${audience}/`) : undefined;
  return Object.freeze({ ...base, scopeClaims, clientIdClaims, ...(scopePrefixes && { scopePrefixes }) });
}

// A placeholder stands for one host label (lower case, as hosts are compared: `Acme` and `acme` must
// not become two issuers), or one path segment that is not `.` or `..`, compared exactly.
const HOST_VALUE = '([a-z0-9-]{1,63})';
const PATH_VALUE = '((?!\\.{1,2}(?:/|$))[A-Za-z0-9._~-]{1,128})';

function issuerPattern(input: IssuerPatternOptions, fixedKeys: boolean): ResolvedIssuerPattern {
  const source = input.issuerPattern;
  if (typeof source !== 'string') fail('issuerPattern', 'must be a URL string with {placeholders}');
  const scheme = /^https?:\/\//.exec(source)?.[0] ?? fail('issuerPattern', 'must start with https:// (or http://)');
  const rest = source.slice(scheme.length);
  const authority = rest.includes('/') ? rest.slice(0, rest.indexOf('/')) : rest;
  // RFC 8414 §2: an issuer has no query or fragment; user information would make `iss` name another host.
  if (/[?#]/.test(source)) fail('issuerPattern', 'may not hold a query or fragment');
  if (authority.includes('@')) fail('issuerPattern', 'may not hold user information');
  if (authority.includes(':') && authority.slice(authority.indexOf(':')).includes('{')) fail('issuerPattern', 'may not hold a placeholder in the port');
  const names: string[] = [];
  const example = source.replace(/\{([A-Za-z][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    if (names.includes(name)) fail('issuerPattern', `names {${name}} twice`);
    names.push(name);
    return 'placeholder';
  });
  if (names.length === 0) fail('issuerPattern', 'has no {placeholder}; use issuer for a fixed issuer');
  if (/[{}]/.test(example)) fail('issuerPattern', 'has a brace that is not a {name} placeholder');
  httpUrl('issuerPattern', example);
  const hostEnd = scheme.length + authority.length;
  const escape = (text: string) => text.replace(/[.*+?^$()|[\]\\\/]/g, '\\$&');
  let matcher = '';
  let last = 0;
  for (const match of source.matchAll(/\{[A-Za-z][A-Za-z0-9_]*\}/g)) {
    matcher += escape(source.slice(last, match.index)) + (match.index < hostEnd ? HOST_VALUE : PATH_VALUE);
    last = match.index + match[0].length;
  }
  matcher += escape(source.slice(last));
  const isTrusted = input.isTrusted;
  if (isTrusted !== undefined && typeof isTrusted !== 'function') fail('isTrusted', 'must be a function');
  if (isTrusted === undefined && !fixedKeys) {
    fail('isTrusted', 'is required for an issuerPattern whose keys are discovered (no jwksUri or keys): otherwise any issuer of that shape could make the API fetch');
  }
  const lookup = object('trustLookup', input.trustLookup);
  only('trustLookup', lookup, ['ttl', 'timeoutMs', 'maxEntries']);
  return Object.freeze({
    source,
    matcher: new RegExp(`^${matcher}$`),
    names: Object.freeze(names),
    isTrusted,
    maxIssuers: number('maxIssuers', input.maxIssuers, 100, 1, true),
    trustLookup: {
      ttl: number('trustLookup.ttl', lookup.ttl, 300, 0),
      timeoutMs: timeout('trustLookup.timeoutMs', lookup.timeoutMs, 2000),
      maxEntries: number('trustLookup.maxEntries', lookup.maxEntries, 10_000, 1, true),
    },
  });
}

/**
 * The `clock` option: checked once here (a finite number of epoch milliseconds, as `Date.now()`
 * returns; seconds are refused), and on every call, where a non-finite answer throws (a 500),
 * because every time rule compared against NaN would pass.
 */
function clock(value: unknown): () => number {
  if (value === undefined) return Date.now;
  if (typeof value !== 'function') fail('clock', 'must be a function returning epoch milliseconds');
  const read = value as () => unknown;
  const probe = read();
  if (typeof probe !== 'number' || !Number.isFinite(probe) || probe < 1e12) fail('clock', 'must return epoch milliseconds (a finite number, as Date.now() does)');
  return () => {
    const now = read();
    if (typeof now !== 'number' || !Number.isFinite(now)) throw new TypeError('the clock option returned no finite time');
    return now;
  };
}

/** One issuer entry's settings, validated; `fail` names options without the entry's position. */
function resolveIssuer(entry: IssuerOptions | IssuerPatternOptions): ResolvedIssuer {
  const fields = entry as { issuer?: unknown; issuerPattern?: unknown; isTrusted?: unknown; maxIssuers?: unknown; trustLookup?: unknown };
  const hasExact = fields.issuer !== undefined;
  const hasPattern = fields.issuerPattern !== undefined;
  if (hasExact && hasPattern) fail('issuerPattern', 'cannot be given with issuer: an entry names fixed issuers or a pattern');
  if (!hasPattern) for (const key of ['isTrusted', 'maxIssuers', 'trustLookup'] as const) if (fields[key] !== undefined) fail(key, 'belongs to an issuerPattern entry');
  const issuers = hasPattern ? [] : stringList('issuer', fields.issuer, true);
  issuers.forEach((issuer) => httpUrl('issuer', issuer));
  const audiences = stringList('audience', entry.audience, true);
  const jwksUri = entry.jwksUri === undefined ? undefined : httpUrl('jwksUri', entry.jwksUri);
  const keys = resolvePinnedKeys(entry.keys);
  if (jwksUri !== undefined && keys !== undefined) fail('keys', 'cannot be given with jwksUri: pinned keys mean no key set is fetched');
  if (jwksUri === undefined && keys === undefined && issuers.length > 1) {
    fail('jwksUri', 'is required when several issuers share one entry: discovery would not know whose keys to use');
  }
  const pattern = hasPattern ? issuerPattern(entry as IssuerPatternOptions, jwksUri !== undefined || keys !== undefined) : undefined;
  const allowed = resolveAlgorithms(entry.algorithms);
  if (keys !== undefined && !allowed.some((alg) => fitsAlgorithm(keys, alg))) {
    fail('keys', `holds no key for the allowed algorithms (${allowed.join(', ')}): every token would be refused`);
  }
  const strict = boolean('strict', entry.strict);
  const claimProfile = profile(entry, audiences);
  if (claimProfile.audienceIn === 'scope-prefix' && strict) fail('strict', 'cannot hold with the cognito preset: Cognito access tokens have no aud and no at+jwt type');
  const clientIds = entry.clientIds === undefined ? undefined : stringList('clientIds', entry.clientIds, true);
  if (claimProfile.audienceIn === 'scope-prefix' && clientIds === undefined) {
    fail('clientIds', 'is required by the cognito preset: its access tokens carry no aud, so the client list says which tokens are for this API');
  }
  const granted = resolvePermissions(entry.permissions);
  if (granted === 'token' && entry.permissionLookup !== undefined) fail('permissionLookup', "has nothing to look up with permissions: 'token'");
  const introspecting = resolveIntrospection(entry.introspection);
  if (introspecting !== undefined && pattern !== undefined) fail('introspection', 'cannot belong to an issuerPattern entry: an opaque token does not say which issuer it is from');
  // Resolved here, before the checks below, so that of several mistakes the one named first stays where it was.
  const jwks = resolveJwks(entry.jwks);
  const permissionLookup = resolveLookup('permissionLookup', entry.permissionLookup);
  if (entry.isRevoked !== undefined && typeof entry.isRevoked !== 'function') fail('isRevoked', 'must be a function of { jti, principal } answering true or false');
  const revocationLookup = resolveLookup('revocationLookup', entry.revocationLookup);
  return Object.freeze({
    issuers: Object.freeze(issuers),
    pattern,
    audiences: Object.freeze(audiences),
    jwksUri,
    keys,
    algorithms: allowed,
    clockTolerance: number('clockTolerance', entry.clockTolerance, 5, 0),
    maxTokenAge: entry.maxTokenAge === undefined ? undefined : number('maxTokenAge', entry.maxTokenAge, 0, 1),
    strict,
    profile: claimProfile,
    clientIds: clientIds && Object.freeze(clientIds),
    requireClientCredentials: boolean('requireClientCredentials', entry.requireClientCredentials),
    permissions: granted,
    permissionLookup,
    isRevoked: entry.isRevoked as RevocationCheck | undefined,
    revocationLookup,
    scopeMap: resolveScopeMap(entry.scopeMap),
    jwks,
    introspection: introspecting,
  });
}

/** Runs `resolve`, naming a wrong option by its place in `issuers` (`issuers[1].audience`). */
function inEntry<T>(prefix: string, resolve: () => T): T {
  try {
    return resolve();
  } catch (error) {
    if (error instanceof ScopeguardConfigError && prefix) throw new ScopeguardConfigError(`${prefix}${error.option}`, error.reason);
    throw error;
  }
}

/**
 * Validates `input` and applies defaults: the shared settings once, and every issuer entry
 * (one for top-level issuer options). Contradictions are refused here, at construction: two entries
 * naming one issuer, introspection in more than one entry (an opaque token does not say whose it
 * is), `keys` with `jwksUri`, an issuer pattern without a bound on what it may fetch.
 * @throws {@link ScopeguardConfigError} naming the first wrong option.
 */
export function resolveOptions(input: ScopeguardOptions): ResolvedOptions {
  const raw = object('options', input);
  const several = Object.hasOwn(raw, 'issuers');
  for (const key of Object.keys(raw)) {
    if (several && ISSUER_OPTIONS.includes(key)) fail(key, 'belongs inside each entry of "issuers" when "issuers" is given');
    if (key !== 'issuers' && !ISSUER_OPTIONS.includes(key) && !SHARED_OPTIONS.includes(key)) unknownOption(key, key, [...ISSUER_OPTIONS, ...SHARED_OPTIONS, 'issuers', ...ADAPTER_OPTIONS]);
    if (key === 'issuers' && !several) fail(key, 'is not a known option');
  }
  let entries: (IssuerOptions | IssuerPatternOptions)[];
  if (several) {
    const list = raw.issuers;
    if (!Array.isArray(list) || list.length === 0) fail('issuers', 'must be a non-empty array of issuer options');
    entries = list.map((entry, index) => {
      const fields = object(`issuers[${index}]`, entry);
      for (const key of Object.keys(fields)) if (!ISSUER_OPTIONS.includes(key)) unknownOption(`issuers[${index}].${key}`, key, ISSUER_OPTIONS);
      return fields as unknown as IssuerOptions | IssuerPatternOptions;
    });
  } else {
    entries = [Object.fromEntries(ISSUER_OPTIONS.filter((key) => raw[key] !== undefined).map((key) => [key, raw[key]])) as unknown as IssuerOptions];
    if (raw.issuer === undefined && raw.issuerPattern === undefined) fail('issuer', 'is required (or issuerPattern, or issuers)');
  }
  const issuers = entries.map((entry, index) => inEntry(several ? `issuers[${index}].` : '', () => resolveIssuer(entry)));
  const seen = new Set<string>();
  for (const entry of issuers) {
    for (const issuer of entry.issuers) {
      if (seen.has(issuer)) fail('issuers', `names ${issuer} twice`);
      seen.add(issuer);
    }
  }
  // An exact issuer is decided by its entry even when a pattern has its shape (one tenant with settings
  // of its own); among patterns the first that matches decides, so one given twice is a mistake.
  const patterns = issuers.map((entry) => entry.pattern?.source);
  patterns.forEach((source, index) => {
    if (source !== undefined && patterns.indexOf(source) !== index) fail(`issuers[${index}].issuerPattern`, `repeats issuers[${patterns.indexOf(source)}].issuerPattern`);
  });
  const introspecting = issuers.map((entry, index) => [entry, index] as const).filter(([entry]) => entry.introspection !== undefined);
  if (introspecting.length > 1) {
    fail(`issuers[${introspecting[1]![1]}].introspection`, 'is given for a second issuer: an opaque token does not say whose it is, so one issuer entry may introspect');
  }
  const shared = raw as SharedOptions;
  if (shared.onDecision !== undefined && typeof shared.onDecision !== 'function') fail('onDecision', 'must be a function');
  if (shared.onKeySet !== undefined && typeof shared.onKeySet !== 'function') fail('onKeySet', 'must be a function');
  const sources = stringList('tokenSources', shared.tokenSources ?? ['header'], true);
  for (const source of sources) if (!(TOKEN_SOURCES as string[]).includes(source)) fail('tokenSources', `holds ${source}; use header, body or query`);

  let realm = shared.realm;
  if (realm !== undefined && (typeof realm !== 'string' || !QUOTABLE.test(realm))) {
    fail('realm', 'must be a string without quotes, backslashes or control characters');
  }
  const firstAudience = issuers[0]!.audiences[0]!;
  realm ??= QUOTABLE.test(firstAudience) ? firstAudience : undefined;

  const tokenCache = resolveTokenCache(shared.tokenCache);
  const metadata = resolveResourceMetadata(shared.resourceMetadata);
  if (metadata !== undefined && metadata.authorizationServers === undefined && seen.size === 0) {
    fail('resourceMetadata.authorizationServers', 'is required when every issuer is a pattern: there is no fixed issuer to list');
  }
  return Object.freeze({
    issuers: Object.freeze(issuers),
    tokenSources: new Set(sources as TokenSource[]),
    maxTokenLength: number('maxTokenLength', shared.maxTokenLength, 8192, 16, true),
    realm,
    tokenCache,
    resourceMetadata: metadata,
    mtls: resolveMtls(shared.mtls),
    dpop: resolveDpop(shared.dpop),
    onDecision: shared.onDecision,
    onKeySet: shared.onKeySet,
    telemetry: resolveTelemetry(shared.telemetry),
    clock: clock(shared.clock),
  });
}
