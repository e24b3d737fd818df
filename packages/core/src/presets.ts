/**
 * Identity-provider presets: where each issuer puts scopes and the client id, and how to tell
 * a client-credentials (machine) token from a token that represents a user.
 */

/** Names of the built-in presets. */
export type PresetName = 'rfc9068' | 'auth0' | 'okta' | 'entra' | 'keycloak';

/** How to read a family of tokens. */
export interface ClaimProfile {
  /** Claims whose values are unioned into the granted scopes. */
  readonly scopeClaims: readonly string[];
  /** Claims tried in order for the client id; the first string wins. */
  readonly clientIdClaims: readonly string[];
  /** Whether the token was issued to a client acting for itself, not for a user. */
  isClientCredentials(claims: Record<string, unknown>, clientId: string | undefined): boolean;
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

export const PRESETS: Readonly<Record<PresetName, ClaimProfile>> = Object.freeze({
  rfc9068: {
    scopeClaims: ['scope', 'scp'],
    clientIdClaims: ['client_id', 'azp', 'cid', 'appid'],
    isClientCredentials: genericIsClientCredentials,
  },
  // Auth0: RBAC puts API permissions in `permissions`; M2M tokens carry gty and sub "<id>@clients".
  auth0: {
    scopeClaims: ['scope', 'permissions'],
    clientIdClaims: ['azp', 'client_id'],
    isClientCredentials: (claims, clientId) =>
      claims.gty === 'client-credentials' || (clientId !== undefined && claims.sub === `${clientId}@clients`),
  },
  // Okta: scopes in `scp`, client id in `cid`; for client credentials `sub` is the client id.
  okta: {
    scopeClaims: ['scp', 'scope'],
    clientIdClaims: ['cid', 'client_id'],
    isClientCredentials: (claims, clientId) => clientId !== undefined && claims.sub === clientId,
  },
  // Entra ID: app-only tokens carry application permissions in `roles`, no `scp`; `idtyp: "app"`
  // when the optional claim is on, otherwise `sub` equals `oid` (the service principal).
  entra: {
    scopeClaims: ['roles'],
    clientIdClaims: ['azp', 'appid'],
    isClientCredentials: (claims) =>
      claims.idtyp !== undefined
        ? claims.idtyp === 'app'
        : claims.scp === undefined && claims.oid !== undefined && claims.sub === claims.oid,
  },
  // Keycloak: service-account tokens have `client_id` (or legacy `clientId`) and a
  // `service-account-…` username; `sub` is the service account's user id.
  keycloak: {
    scopeClaims: ['scope'],
    clientIdClaims: ['client_id', 'azp', 'clientId'],
    isClientCredentials: (claims) =>
      claims.client_id !== undefined ||
      claims.clientId !== undefined ||
      (typeof claims.preferred_username === 'string' && claims.preferred_username.startsWith('service-account-')),
  },
});

/** The first string among `claimNames`. */
export function clientIdFromClaims(claims: Record<string, unknown>, claimNames: readonly string[]): string | undefined {
  for (const name of claimNames) {
    const value = claims[name];
    if (typeof value === 'string' && value.length > 0) return value;
  }
  return undefined;
}
