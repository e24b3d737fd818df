/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728): the document that tells clients which
 * authorization servers issue tokens for this API, which scopes it knows and how to send a token,
 * served from the configured resource URL (never from `Host`).
 */
import type { TokenSource } from '../token/bearer';
import { fail, httpUrl, object, only, stringList } from '../pipeline/option-checks';
import { isScopeToken } from '../pipeline/scopes';

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

// ── Options ─────────────────────────────────────────────────────────────────────────────────

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

/** The `resourceMetadata` option (RFC 9728), validated. */
export function resolveResourceMetadata(value: unknown): ResourceMetadataOptions | undefined {
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
