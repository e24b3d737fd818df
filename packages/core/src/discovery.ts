/**
 * Find the issuer's `jwks_uri`: RFC 8414 §3 authorization server metadata first, then OpenID
 * Connect Discovery 1.0 §4. The document's `issuer` must equal the configured issuer (RFC 8414
 * §3.3), or an attacker-controlled document could substitute its own keys.
 */
import { FetchFailure, fetchJsonObject } from './http';

/** The metadata URLs to try for `issuer`, in order. */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  // RFC 8414 §3.1 inserts the well-known segment between host and path.
  const rfc8414 = `${url.origin}/.well-known/oauth-authorization-server${path}`;
  // OpenID Connect Discovery appends it to the issuer.
  const oidc = `${url.origin}${path}/.well-known/openid-configuration`;
  return [rfc8414, oidc];
}

/** Discovers the `jwks_uri` of `issuer`. @throws {@link FetchFailure} when no document serves. */
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
      failures.push(`${url} names another issuer`);
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
