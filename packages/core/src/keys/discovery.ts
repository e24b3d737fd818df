/**
 * Find the issuer's `jwks_uri`: RFC 8414 §3 authorization server metadata first, then OpenID
 * Connect Discovery 1.0 §4. The document's `issuer` must equal the configured issuer (RFC 8414
 * §3.3), or an attacker-controlled document could substitute its own keys.
 */
import { FetchFailure, fetchJsonObject } from './json-endpoint';
import { likeness, shown } from '../token/mismatch';

/**
 * Entra ID v1 issuers (`https://sts.windows.net/<tenant>/`) serve no metadata at their own URL: the
 * tenant's document is at login.microsoftonline.com, and names the sts.windows.net issuer.
 */
const ENTRA_V1 = /^https:\/\/sts\.windows\.net\/([0-9a-f-]{36})\/$/i;

/**
 * The metadata URLs to try for `issuer`, in order: RFC 8414's path-inserted URL, then OpenID Connect
 * Discovery's appended one. A document's `issuer` must still equal the issuer exactly.
 */
export function metadataUrls(issuer: string): string[] {
  const entraV1 = ENTRA_V1.exec(issuer);
  if (entraV1 !== null) return [`https://login.microsoftonline.com/${entraV1[1]}/.well-known/openid-configuration`];
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  // RFC 8414 §3.1 inserts the well-known segment between host and path.
  const rfc8414 = `${url.origin}/.well-known/oauth-authorization-server${path}`;
  // OpenID Connect Discovery appends it to the issuer.
  const oidc = `${url.origin}${path}/.well-known/openid-configuration`;
  return [rfc8414, oidc];
}

/**
 * Discovers the `jwks_uri` of `issuer`. Most providers serve only the OpenID document (Keycloak before
 * 26.4, Okta, Cognito, Glewlwyd), and some answer the RFC 8414 URL with an HTML page (LemonLDAP::NG's
 * login portal): a URL that fails is skipped silently when a later one serves; only when none does is
 * the failure reported, naming each URL and why, never what it answered.
 * @throws {@link FetchFailure} when no document serves.
 */
export async function discoverJwksUri(issuer: string, timeoutMs: number): Promise<string> {
  const failures: string[] = [];
  for (const url of metadataUrls(issuer)) {
    let metadata: Record<string, unknown>;
    try {
      metadata = await fetchJsonObject(url, timeoutMs);
    } catch (error) {
      failures.push((error as Error).message);
      continue;
    }
    if (metadata.issuer !== issuer) {
      // Say which: a trailing slash or an internal host name in the document is the usual cause.
      const named = typeof metadata.issuer === 'string' ? `names issuer ${shown(metadata.issuer)}, not the configured ${shown(issuer)}` : 'names no issuer';
      const hint = typeof metadata.issuer === 'string' ? likeness(metadata.issuer, issuer) : undefined;
      failures.push(`${url} ${named}${hint === undefined ? '' : ` (${hint})`}`);
      continue;
    }
    const jwksUri = metadata.jwks_uri;
    if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri)) {
      failures.push(`${url} has no valid jwks_uri`);
      continue;
    }
    return jwksUri;
  }
  throw new FetchFailure(`discovery failed: ${failures.join('; ')}`);
}
