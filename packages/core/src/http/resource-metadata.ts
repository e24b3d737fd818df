/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728): the document that tells clients which
 * authorization servers issue tokens for this API, which scopes it knows and how to send a token,
 * served from the configured resource URL (never from `Host`).
 */
import type { TokenSource } from '../token/bearer';
import type { ResourceMetadataOptions } from '../pipeline/options';

/** RFC 9728 §3.1: the well-known segment is inserted between the host and the resource's path. */
export function resourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${url.origin}/.well-known/oauth-protected-resource${path}${url.search}`;
}

/** Proof-of-possession this API supports, for RFC 9728 §2's DPoP and mTLS members. */
export interface ProofSupport {
  /** DPoP proof algorithms, and whether only DPoP-bound tokens are accepted; absent when DPoP is off. */
  readonly dpop?: { readonly algorithms: readonly string[]; readonly required: boolean } | undefined;
  /** Whether certificate-bound tokens (RFC 8705) are checked. */
  readonly mtls: boolean;
}

/** The metadata document (RFC 9728 §2). */
export function resourceMetadataDocument(
  options: ResourceMetadataOptions,
  issuers: readonly string[],
  tokenSources: ReadonlySet<TokenSource>,
  scopes: Iterable<string>,
  proof: ProofSupport = { mtls: false },
): Record<string, unknown> {
  const scopesSupported = [...new Set([...(options.scopesSupported ?? []), ...scopes])].sort();
  return {
    resource: options.resource,
    authorization_servers: [...(options.authorizationServers ?? issuers)],
    ...(scopesSupported.length && { scopes_supported: scopesSupported }),
    bearer_methods_supported: [...tokenSources],
    ...(options.resourceName !== undefined && { resource_name: options.resourceName }),
    ...(options.resourceDocumentation !== undefined && { resource_documentation: options.resourceDocumentation }),
    ...(proof.mtls && { tls_client_certificate_bound_access_tokens: true }),
    ...(proof.dpop && { dpop_signing_alg_values_supported: [...proof.dpop.algorithms], dpop_bound_access_tokens_required: proof.dpop.required }),
  };
}
