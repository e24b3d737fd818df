/**
 * Options: the public shape, validation at construction (a wrong option throws naming it) and the
 * defaults, which are always the safe choice.
 */
import { ScopeguardConfigError } from './errors';
import type { PermissionMap, PermissionResolver } from './permissions';
import { PRESETS, type ClaimProfile, type PresetName } from './presets';
import { isScopeToken } from './scopes';
import type { TokenSource } from './bearer';
import type { DecisionEvent } from './audit';
import type { IntrospectionOptions } from './introspection';
import type { MtlsOptions } from './confirmation';
import type { DpopOptions } from './dpop';

/** Asymmetric JWS algorithms (RFC 7518, RFC 8037, RFC 9864). `none` and HS* are never accepted. */
export const SUPPORTED_ALGORITHMS = [
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA', 'Ed25519',
] as const;

/** One of {@link SUPPORTED_ALGORITHMS}. */
export type JwsAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

/** Settings of the issuer's key set (JWKS) and discovery document fetches. */
export interface JwksOptions {
  /** Abort a fetch after this many milliseconds. Default 5000. */
  timeoutMs?: number;
  /**
   * After a failure, at most one fetch per this many milliseconds; and the longest wait between
   * refetches for unknown `kid`s, which start 1 s apart and double while they bring no new key.
   * Default 30000.
   */
  cooldownMs?: number;
  /** Refresh the cached set in the background once it is this old, in milliseconds. Default 600000 (10 min). */
  maxAgeMs?: number;
}

/** Bounds of the verified-token cache. */
export interface TokenCacheOptions {
  /** Most tokens kept. Default 10000. */
  maxEntries?: number;
  /** Most bytes kept (token text plus bookkeeping, estimated). Default 32 MiB. */
  maxBytes?: number;
}

/** Settings of the permission lookup when `permissions` is a resolver. */
export interface PermissionLookupOptions {
  /** Keep a resolver's answer this many seconds. Default 60. */
  ttl?: number;
  /** A resolver slower than this many milliseconds is a failure (503). Default 2000. */
  timeoutMs?: number;
  /** Most clients kept. Default 10000. */
  maxEntries?: number;
}

/** How one trusted issuer's tokens are verified and read. `issuer` and `audience` are required. */
export interface IssuerOptions {
  /** Trusted issuer(s); the token's `iss` must equal one exactly. */
  issuer: string | readonly string[];
  /** This API's identifier(s); the token's `aud` (string or array) must contain one. */
  audience: string | readonly string[];
  /** The issuer's JWKS. When absent it is discovered (RFC 8414, then OpenID Connect Discovery). */
  jwksUri?: string;
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
  /** Claims holding scopes; overrides the preset's. */
  scopeClaims?: readonly string[];
  /** Claims holding the client id, tried in order; overrides the preset's. */
  clientIdClaims?: readonly string[];
  /** Refuse tokens that represent a user rather than a client acting for itself. Default false. */
  requireClientCredentials?: boolean;
  /** The permissions each service user (client) holds: a map by client id or a resolver. */
  permissions?: PermissionMap | PermissionResolver;
  /** Settings of the resolver's cache and timeout. */
  permissionLookup?: PermissionLookupOptions;
  /** A scope may stand for a set of permissions; scopes not listed stand for themselves. */
  scopeMap?: Readonly<Record<string, readonly string[]>>;
  /** JWKS and discovery fetch settings. */
  jwks?: JwksOptions;
  /** Opaque (non-JWT) tokens of this issuer are checked at its RFC 7662 introspection endpoint. */
  introspection?: IntrospectionOptions;
}

/** OAuth 2.0 Protected Resource Metadata (RFC 9728) this API publishes. */
export interface ResourceMetadataOptions {
  /** This API's resource identifier: its public https URL (configured, never taken from `Host`). */
  resource: string;
  /** Authorization servers clients may use. Default: every trusted issuer. */
  authorizationServers?: readonly string[];
  /** Scopes to list besides those collected from the routes' requirements. */
  scopesSupported?: readonly string[];
  /** A human-readable name of the API. */
  resourceName?: string;
  /** A URL of the API's documentation. */
  resourceDocumentation?: string;
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
  /** The current time in epoch milliseconds, for every time rule (claims, caches, DPoP). Default `Date.now`; tests freeze it. */
  clock?: () => number;
  /** RFC 8705 certificate-bound tokens. Off unless given. */
  mtls?: MtlsOptions;
  /** RFC 9449 DPoP. Off unless given. */
  dpop?: DpopOptions;
}

/**
 * Everything `@scopeguard/core` can be told: one issuer's options at the top level, or several
 * issuers (tenants) in `issuers`, each with its own audience, keys, algorithms, preset and
 * permissions; plus the shared settings.
 */
export type ScopeguardOptions = (IssuerOptions & SharedOptions) | ({ issuers: readonly IssuerOptions[] } & SharedOptions);

/** Options after validation, with defaults applied. */
export interface ResolvedOptions {
  readonly issuers: readonly string[];
  readonly audiences: readonly string[];
  readonly jwksUri: string | undefined;
  readonly algorithms: readonly JwsAlgorithm[];
  readonly clockTolerance: number;
  readonly maxTokenAge: number | undefined;
  readonly strict: boolean;
  readonly profile: ClaimProfile;
  readonly requireClientCredentials: boolean;
  readonly permissions: PermissionMap | PermissionResolver | undefined;
  readonly permissionLookup: Required<PermissionLookupOptions>;
  readonly scopeMap: ReadonlyMap<string, readonly string[]> | undefined;
  readonly tokenSources: ReadonlySet<TokenSource>;
  readonly maxTokenLength: number;
  readonly realm: string | undefined;
  readonly jwks: Required<JwksOptions>;
  readonly tokenCache: Required<TokenCacheOptions> | false;
  readonly resourceMetadata: Readonly<ResourceMetadataOptions> | undefined;
  readonly introspection: Readonly<IntrospectionOptions> | undefined;
  readonly mtls: { readonly mode: 'bound' | 'required'; readonly certificateHeader: string | undefined } | undefined;
  readonly dpop: Readonly<DpopOptions> | undefined;
  readonly onDecision: ((event: DecisionEvent) => void | Promise<unknown>) | undefined;
  readonly clock: () => number;
}

const ISSUER_OPTIONS = [
  'issuer', 'audience', 'jwksUri', 'algorithms', 'clockTolerance', 'maxTokenAge', 'strict', 'preset',
  'scopeClaims', 'clientIdClaims', 'requireClientCredentials', 'permissions', 'permissionLookup', 'scopeMap', 'jwks',
  'introspection',
];
const SHARED_OPTIONS = ['tokenSources', 'maxTokenLength', 'realm', 'tokenCache', 'resourceMetadata', 'onDecision', 'mtls', 'dpop', 'clock'];
const TOKEN_SOURCES: readonly TokenSource[] = ['header', 'body', 'query'];
// A realm is sent as an RFC 9110 quoted-string; we keep to characters that need no escaping.
const QUOTABLE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function fail(option: string, message: string): never {
  throw new ScopeguardConfigError(option, message);
}

function stringList(option: string, value: unknown, required: boolean): string[] {
  if (value === undefined && !required) return [];
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? [...value] : fail(option, 'must be a string or an array of strings');
  if (list.length === 0) fail(option, 'must not be empty');
  for (const item of list) if (typeof item !== 'string' || item.length === 0) fail(option, 'must hold non-empty strings');
  return list as string[];
}

function httpUrl(option: string, value: unknown): string {
  if (typeof value !== 'string') fail(option, 'must be a URL string');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(option, 'must be an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail(option, 'must be an http(s) URL');
  return value;
}

function number(option: string, value: unknown, fallback: number, min: number, integer = false, max = Infinity): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    fail(option, `must be a ${integer ? 'whole ' : ''}number of at least ${min}${max < Infinity ? ` and at most ${max}` : ''}`);
  }
  return value;
}

/** Node's timers hold at most 2^31 − 1 ms; a longer timeout silently becomes 1 ms. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** A deadline in milliseconds, as timers can hold it. */
function timeout(option: string, value: unknown, fallback: number): number {
  return number(option, value, fallback, 1, false, MAX_TIMEOUT_MS);
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

function boolean(option: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') fail(option, 'must be true or false');
  return value;
}

function object(option: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(option, 'must be an object');
  return value as Record<string, unknown>;
}

function only(option: string, value: Record<string, unknown>, keys: readonly string[]): void {
  for (const key of Object.keys(value)) if (!keys.includes(key)) fail(`${option}.${key}`, 'is not a known option');
}

function algorithms(value: unknown): JwsAlgorithm[] {
  if (value === undefined) return ['RS256'];
  const list = stringList('algorithms', value, true);
  for (const alg of list) {
    if (alg.toLowerCase() === 'none') fail('algorithms', 'must not contain "none": unsigned tokens are never accepted');
    if (/^HS/i.test(alg)) fail('algorithms', `must not contain ${alg}: a symmetric algorithm cannot be verified with an issuer's public key set`);
    if (!(SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)) fail('algorithms', `holds unsupported ${alg}; use ${SUPPORTED_ALGORITHMS.join(', ')}`);
  }
  return list as JwsAlgorithm[];
}

function permissions(value: unknown): PermissionMap | PermissionResolver | undefined {
  if (value === undefined || typeof value === 'function') return value as PermissionResolver | undefined;
  const map = object('permissions', value);
  for (const [clientId, list] of Object.entries(map)) {
    if (!Array.isArray(list) || !list.every(isScopeToken)) fail(`permissions.${clientId}`, 'must be an array of scope-tokens');
  }
  return map as PermissionMap;
}

function scopeMap(value: unknown): Map<string, readonly string[]> | undefined {
  if (value === undefined) return undefined;
  const map = new Map<string, readonly string[]>();
  for (const [scope, list] of Object.entries(object('scopeMap', value))) {
    if (!isScopeToken(scope)) fail('scopeMap', `key ${JSON.stringify(scope)} is not a scope-token`);
    if (!Array.isArray(list) || !list.every(isScopeToken)) fail(`scopeMap.${scope}`, 'must be an array of scope-tokens');
    map.set(scope, Object.freeze([...list]));
  }
  return map;
}

function profile(input: IssuerOptions): ClaimProfile {
  const preset = input.preset ?? 'rfc9068';
  if (!Object.hasOwn(PRESETS, preset)) fail('preset', `must be one of ${Object.keys(PRESETS).join(', ')}`);
  const base = PRESETS[preset];
  const scopeClaims = input.scopeClaims === undefined ? base.scopeClaims : stringList('scopeClaims', input.scopeClaims, true);
  const clientIdClaims = input.clientIdClaims === undefined ? base.clientIdClaims : stringList('clientIdClaims', input.clientIdClaims, true);
  return { scopeClaims, clientIdClaims, isClientCredentials: base.isClientCredentials };
}

function introspection(value: unknown): IntrospectionOptions | undefined {
  if (value === undefined) return undefined;
  const input = object('introspection', value);
  only('introspection', input, ['endpoint', 'clientId', 'clientSecret', 'authMethod', 'ttl', 'timeoutMs', 'endpointChecksAudience']);
  const endpoint = httpUrl('introspection.endpoint', input.endpoint);
  for (const key of ['clientId', 'clientSecret'] as const) {
    if (typeof input[key] !== 'string' || (input[key] as string).length === 0) fail(`introspection.${key}`, 'must be a non-empty string');
  }
  const authMethod = input.authMethod ?? 'client_secret_basic';
  if (authMethod !== 'client_secret_basic' && authMethod !== 'client_secret_post') fail('introspection.authMethod', 'must be client_secret_basic or client_secret_post');
  return Object.freeze({
    endpoint,
    clientId: input.clientId as string,
    clientSecret: input.clientSecret as string,
    authMethod,
    ttl: number('introspection.ttl', input.ttl, 60, 0),
    timeoutMs: timeout('introspection.timeoutMs', input.timeoutMs, 5000),
    endpointChecksAudience: boolean('introspection.endpointChecksAudience', input.endpointChecksAudience),
  });
}

function dpop(value: unknown): DpopOptions | undefined {
  if (value === undefined) return undefined;
  const input = object('dpop', value);
  only('dpop', input, ['mode', 'algorithms', 'publicBaseUrl', 'iatWindow', 'nonce', 'replayStore', 'replayStoreTimeoutMs']);
  const mode = input.mode ?? 'allowed';
  if (mode !== 'allowed' && mode !== 'required') fail('dpop.mode', 'must be "allowed" or "required"');
  const algs = input.algorithms === undefined ? undefined : algorithms(input.algorithms);
  const base = input.publicBaseUrl === undefined ? undefined : httpUrl('dpop.publicBaseUrl', input.publicBaseUrl);
  const store = input.replayStore as { claim?: unknown } | undefined;
  if (store !== undefined && (typeof store !== 'object' || typeof store.claim !== 'function')) fail('dpop.replayStore', 'must have a claim(key, expiresAt) method');
  return Object.freeze({
    mode,
    ...(algs && { algorithms: algs }),
    ...(base && { publicBaseUrl: base }),
    iatWindow: number('dpop.iatWindow', input.iatWindow, 60, 1),
    nonce: boolean('dpop.nonce', input.nonce),
    ...(store && { replayStore: store as DpopOptions['replayStore'] }),
    replayStoreTimeoutMs: timeout('dpop.replayStoreTimeoutMs', input.replayStoreTimeoutMs, 1000),
  });
}

function mtls(value: unknown): ResolvedOptions['mtls'] {
  if (value === undefined) return undefined;
  const input = object('mtls', value);
  only('mtls', input, ['mode', 'certificateHeader']);
  const mode = input.mode ?? 'bound';
  if (mode !== 'bound' && mode !== 'required') fail('mtls.mode', 'must be "bound" or "required"');
  const header = input.certificateHeader;
  if (header !== undefined && (typeof header !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header))) fail('mtls.certificateHeader', 'must be a header name');
  return Object.freeze({ mode, certificateHeader: header as string | undefined });
}

function resourceMetadata(value: unknown): ResourceMetadataOptions | undefined {
  if (value === undefined) return undefined;
  const input = object('resourceMetadata', value);
  only('resourceMetadata', input, ['resource', 'authorizationServers', 'scopesSupported', 'resourceName', 'resourceDocumentation']);
  const resource = httpUrl('resourceMetadata.resource', input.resource);
  if (new URL(resource).hash) fail('resourceMetadata.resource', 'must not have a fragment (RFC 9728 §1.2)');
  const servers = input.authorizationServers === undefined ? undefined : stringList('resourceMetadata.authorizationServers', input.authorizationServers, true);
  servers?.forEach((server) => httpUrl('resourceMetadata.authorizationServers', server));
  const scopes = input.scopesSupported === undefined ? undefined : stringList('resourceMetadata.scopesSupported', input.scopesSupported, true);
  if (scopes && !scopes.every(isScopeToken)) fail('resourceMetadata.scopesSupported', 'must hold scope-tokens');
  if (input.resourceName !== undefined && typeof input.resourceName !== 'string') fail('resourceMetadata.resourceName', 'must be a string');
  const documentation = input.resourceDocumentation === undefined ? undefined : httpUrl('resourceMetadata.resourceDocumentation', input.resourceDocumentation);
  return Object.freeze({
    resource,
    ...(servers && { authorizationServers: servers }),
    ...(scopes && { scopesSupported: scopes }),
    ...(input.resourceName !== undefined && { resourceName: input.resourceName as string }),
    ...(documentation && { resourceDocumentation: documentation }),
  });
}

/**
 * Validates `input` and applies defaults: one {@link ResolvedOptions} per trusted issuer entry
 * (shared settings repeated in each). Throws {@link ScopeguardConfigError} naming the first wrong option.
 */
export function resolveIssuers(input: ScopeguardOptions): ResolvedOptions[] {
  const raw = object('options', input);
  if (!Object.hasOwn(raw, 'issuers')) return [resolveOptions(input)];
  for (const key of Object.keys(raw)) {
    if (ISSUER_OPTIONS.includes(key)) fail(key, 'belongs inside each entry of "issuers" when "issuers" is given');
    if (key !== 'issuers' && !SHARED_OPTIONS.includes(key)) fail(key, 'is not a known option');
  }
  const entries = raw.issuers;
  if (!Array.isArray(entries) || entries.length === 0) fail('issuers', 'must be a non-empty array of issuer options');
  const shared = Object.fromEntries(SHARED_OPTIONS.filter((key) => raw[key] !== undefined).map((key) => [key, raw[key]]));
  const resolved = entries.map((entry, index) => {
    const fields = object(`issuers[${index}]`, entry);
    for (const key of Object.keys(fields)) if (!ISSUER_OPTIONS.includes(key)) fail(`issuers[${index}].${key}`, 'is not a known issuer option');
    return resolveOptions({ ...(fields as unknown as IssuerOptions), ...shared });
  });
  const seen = new Set<string>();
  for (const options of resolved) {
    for (const issuer of options.issuers) {
      if (seen.has(issuer)) fail('issuers', `names ${issuer} twice`);
      seen.add(issuer);
    }
  }
  return resolved;
}

/** Validates one issuer's options (with the shared settings) and applies defaults. */
export function resolveOptions(input: ScopeguardOptions): ResolvedOptions {
  const raw = object('options', input);
  if (Object.hasOwn(raw, 'issuers')) return resolveIssuers(input)[0]!;
  for (const key of Object.keys(raw)) if (!ISSUER_OPTIONS.includes(key) && !SHARED_OPTIONS.includes(key)) fail(key, 'is not a known option');
  const single = input as IssuerOptions & SharedOptions;

  const issuers = stringList('issuer', single.issuer, true);
  issuers.forEach((issuer) => httpUrl('issuer', issuer));
  const audiences = stringList('audience', single.audience, true);
  const jwksUri = single.jwksUri === undefined ? undefined : httpUrl('jwksUri', single.jwksUri);
  if (jwksUri === undefined && issuers.length > 1) {
    fail('jwksUri', 'is required when several issuers share one entry: discovery would not know whose keys to use');
  }
  if (single.onDecision !== undefined && typeof single.onDecision !== 'function') fail('onDecision', 'must be a function');

  const sources = stringList('tokenSources', single.tokenSources ?? ['header'], true);
  for (const source of sources) if (!(TOKEN_SOURCES as string[]).includes(source)) fail('tokenSources', `holds ${source}; use header, body or query`);

  let realm = single.realm;
  if (realm !== undefined && (typeof realm !== 'string' || !QUOTABLE.test(realm))) {
    fail('realm', 'must be a string without quotes, backslashes or control characters');
  }
  realm ??= QUOTABLE.test(audiences[0]!) ? audiences[0] : undefined;

  const jwks = object('jwks', single.jwks);
  only('jwks', jwks, ['timeoutMs', 'cooldownMs', 'maxAgeMs']);
  const lookup = object('permissionLookup', single.permissionLookup);
  only('permissionLookup', lookup, ['ttl', 'timeoutMs', 'maxEntries']);
  let tokenCache: Required<TokenCacheOptions> | false = false;
  if (single.tokenCache !== false) {
    const cache = object('tokenCache', single.tokenCache);
    only('tokenCache', cache, ['maxEntries', 'maxBytes']);
    tokenCache = {
      maxEntries: number('tokenCache.maxEntries', cache.maxEntries, 10_000, 1, true),
      maxBytes: number('tokenCache.maxBytes', cache.maxBytes, 32 * 1024 * 1024, 1024, true),
    };
  }

  const strict = boolean('strict', single.strict);
  return Object.freeze({
    issuers,
    audiences,
    jwksUri,
    algorithms: algorithms(single.algorithms),
    clockTolerance: number('clockTolerance', single.clockTolerance, 5, 0),
    maxTokenAge: single.maxTokenAge === undefined ? undefined : number('maxTokenAge', single.maxTokenAge, 0, 1),
    strict,
    profile: profile(single),
    requireClientCredentials: boolean('requireClientCredentials', single.requireClientCredentials),
    permissions: permissions(single.permissions),
    permissionLookup: {
      ttl: number('permissionLookup.ttl', lookup.ttl, 60, 0),
      timeoutMs: timeout('permissionLookup.timeoutMs', lookup.timeoutMs, 2000),
      maxEntries: number('permissionLookup.maxEntries', lookup.maxEntries, 10_000, 1, true),
    },
    scopeMap: scopeMap(single.scopeMap),
    tokenSources: new Set(sources as TokenSource[]),
    maxTokenLength: number('maxTokenLength', single.maxTokenLength, 8192, 16, true),
    realm,
    jwks: {
      timeoutMs: timeout('jwks.timeoutMs', jwks.timeoutMs, 5000),
      cooldownMs: number('jwks.cooldownMs', jwks.cooldownMs, 30_000, 0),
      maxAgeMs: number('jwks.maxAgeMs', jwks.maxAgeMs, 600_000, 1000),
    },
    tokenCache,
    resourceMetadata: resourceMetadata(single.resourceMetadata),
    introspection: introspection(single.introspection),
    mtls: mtls(single.mtls),
    dpop: dpop(single.dpop),
    onDecision: single.onDecision,
    clock: clock(single.clock),
  });
}
