/**
 * Identity-provider presets: where each issuer puts scopes and the client id, and how to tell
 * a client-credentials (machine) token from a token that represents a user. Claims are read from
 * own properties only, by name or by path into nested claims (Keycloak's `resource_access`).
 */

/** Names of the built-in presets. */
export type PresetName = 'rfc9068' | 'auth0' | 'okta' | 'entra' | 'keycloak' | 'cognito';

/** A claim name, or a path into nested claims (see `IssuerSettings.scopeClaims`). */
export type ClaimPath = string | readonly string[];

/** How to read a family of tokens. */
export interface ClaimProfile {
  /** Claims whose values are unioned into the granted scopes. */
  readonly scopeClaims: readonly ClaimPath[];
  /** Claims tried in order for the client id; the first string wins. */
  readonly clientIdClaims: readonly ClaimPath[];
  /** Whether the token was issued to a client acting for itself, not for a user. */
  isClientCredentials(claims: Record<string, unknown>, clientId: string | undefined): boolean;
  /**
   * Where the token names this API: `aud` (RFC 9068), or `scope-prefix` (AWS Cognito: no `aud`; each
   * scope is prefixed by the resource-server identifier, which the `audience` option names).
   */
  readonly audienceIn?: 'aud' | 'scope-prefix';
  /** A `token_use` claim that must be present with this value (Cognito: `access`, never `id`). */
  readonly tokenUse?: string;
  /** Only scopes with one of these prefixes count, without it (set from `audience` for `scope-prefix`). */
  readonly scopePrefixes?: readonly string[];
  /** A `username` that names the client's own service account, not a user (Keycloak's `service-account-<client>`). */
  readonly serviceAccountUsername?: (username: string, clientId: string | undefined) => boolean;
}

/**
 * Whether the claims name a user in the one way every issuer shares: RFC 7662 §2.2's `username`, the
 * resource owner (introspection answers, Cognito's tokens), unless it is the client's own id or the
 * profile's service-account name. Checked on every preset before its own rule: a token that names a
 * user is never a client-credentials token, whatever else it says.
 */
export function namesAUser(claims: Record<string, unknown>, clientId: string | undefined, profile: ClaimProfile): boolean {
  const { username } = claims;
  if (username === undefined || username === null) return false;
  if (typeof username !== 'string') return true;
  return username !== clientId && profile.serviceAccountUsername?.(username, clientId) !== true;
}

/** Names a claim path may not hold: reading them would reach the prototype chain, not a claim. */
const PROTOTYPE_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/** Why `path` is not a usable claim path, or `undefined`. */
export function claimPathProblem(path: unknown): string | undefined {
  const segments = typeof path === 'string' ? path.split('.') : Array.isArray(path) ? (path as unknown[]) : undefined;
  if (segments === undefined || segments.length === 0) return 'must be a claim name or a path (an array of names)';
  for (const segment of segments) {
    if (typeof segment !== 'string' || segment.length === 0) return `${JSON.stringify(path)} has an empty or non-string segment`;
    if (PROTOTYPE_NAMES.has(segment)) return `${JSON.stringify(path)} names ${segment}, which is never a claim`;
  }
  return undefined;
}

function walk(value: unknown, segments: readonly string[]): unknown {
  for (const segment of segments) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

/**
 * The value at `path`: a claim of that whole name first (Auth0's namespaced claims hold dots, as in
 * `https://example.com/roles`), else, for a dotted name, the nested path; an array is always a path.
 * Own properties only.
 */
export function claimAt(claims: Record<string, unknown>, path: ClaimPath): unknown {
  if (typeof path !== 'string') return walk(claims, path);
  if (Object.hasOwn(claims, path)) return claims[path];
  return path.includes('.') ? walk(claims, path.split('.')) : undefined;
}

/**
 * RFC 9068 §2.2: for grants with no resource owner, such as client credentials, `sub` identifies
 * the client, so `sub` equal to the client id (or no `sub` at all) marks a machine token.
 * `gty` (Auth0) and `idtyp` (Entra ID) are honoured where present.
 */
function genericIsClientCredentials(claims: Record<string, unknown>, clientId: string | undefined): boolean {
  if (claims.gty !== undefined) return claims.gty === 'client-credentials';
  if (claims.idtyp !== undefined) return claims.idtyp === 'app';
  if (claims.sub === undefined) return true;
  return clientId !== undefined && claims.sub === clientId;
}

/**
 * Keycloak names a client's service account `service-account-<client id>`, lower-cased as all its
 * usernames are: that of this token's client, not any name with the prefix (a user may be called so).
 */
function keycloakServiceAccount(username: string, clientId: string | undefined): boolean {
  return clientId !== undefined && username === `service-account-${clientId.toLowerCase()}`;
}

export const PRESETS: Readonly<Record<PresetName, ClaimProfile>> = Object.freeze({
  rfc9068: {
    scopeClaims: ['scope', 'scp'],
    clientIdClaims: ['client_id', 'azp', 'cid', 'appid'],
    isClientCredentials: genericIsClientCredentials,
  },
  // Auth0: RBAC puts API permissions in `permissions`. Default-format M2M tokens carry `gty` and
  // `sub` "<id>@clients"; RFC 9068-format tokens carry `client_id` and no `gty`. With agent subject
  // claims on, `sub_profile` says who `sub` is: "ai_agent" (an agent acting for itself, `sub` its
  // agent id) or "user".
  auth0: {
    scopeClaims: ['scope', 'permissions'],
    clientIdClaims: ['azp', 'client_id'],
    isClientCredentials: (claims, clientId) => {
      if (claims.gty !== undefined) return claims.gty === 'client-credentials';
      if (claims.sub_profile !== undefined) return claims.sub_profile === 'ai_agent';
      return clientId !== undefined && (claims.sub === `${clientId}@clients` || claims.sub === clientId);
    },
  },
  // Okta: scopes in `scp`, client id in `cid`; for client credentials `sub` is the client id.
  okta: {
    scopeClaims: ['scp', 'scope'],
    clientIdClaims: ['cid', 'client_id'],
    isClientCredentials: (claims, clientId) => clientId !== undefined && claims.sub === clientId,
  },
  // Entra ID: app-only tokens carry application permissions in `roles` and no `scp`; delegated
  // tokens carry `scp`. `idtyp: "app"` when the optional claim is on; otherwise an access token (it
  // names its client in `azp`/`appid`, which ID tokens lack) without `scp` is app-only, whether `sub`
  // is the service principal's `oid` or, for agent identities, another identifier.
  entra: {
    scopeClaims: ['roles', 'scp'],
    clientIdClaims: ['azp', 'appid'],
    isClientCredentials: (claims, clientId) =>
      claims.idtyp !== undefined ? claims.idtyp === 'app' : claims.scp === undefined && claims.oid !== undefined && clientId !== undefined,
  },
  // Keycloak: service-account tokens have `client_id` (or legacy `clientId`) and a
  // `service-account-…` username; `sub` is the service account's user id. Roles live in
  // `realm_access.roles` and `resource_access.<client>.roles` (see `scopeClaims` paths).
  keycloak: {
    scopeClaims: ['scope'],
    clientIdClaims: ['client_id', 'azp', 'clientId'],
    serviceAccountUsername: keycloakServiceAccount,
    isClientCredentials: (claims, clientId) =>
      claims.client_id !== undefined ||
      claims.clientId !== undefined ||
      (typeof claims.preferred_username === 'string' && keycloakServiceAccount(claims.preferred_username, clientId)),
  },
  // AWS Cognito: access tokens have `token_use: "access"` (ID tokens: "id"), no `aud`, `client_id`,
  // and scopes prefixed by the resource-server identifier; user tokens have `username`, client-credentials
  // tokens none (and `sub`, when present, equal to the client id).
  cognito: {
    scopeClaims: ['scope'],
    clientIdClaims: ['client_id'],
    isClientCredentials: (claims, clientId) => clientId !== undefined && claims.username === undefined && (claims.sub === undefined || claims.sub === clientId),
    audienceIn: 'scope-prefix',
    tokenUse: 'access',
  },
});

/** The first non-empty string among `claimNames`. */
export function clientIdFromClaims(claims: Record<string, unknown>, claimNames: readonly ClaimPath[]): string | undefined {
  for (const name of claimNames) {
    const value = claimAt(claims, name);
    if (typeof value === 'string' && value.length > 0) return value;
  }
  return undefined;
}
