/**
 * The adapter kit, on every platform: what a framework adapter or an extension (a store, a verifier)
 * needs besides the user's API. `@scopeguard/core/adapter` (adapter.ts on Node, adapter-web.ts on
 * WebCrypto runtimes) exports it; our adapters use nothing else, as a third party's would.
 */
// Translating a request: the Node and Fetch entries, and bearer extraction (RFC 6750).
export {
  authorizationValues,
  extractBearerToken,
  socketThumbprint,
  tokenRequestFromNode,
  usesDpopScheme,
  type ExtractOptions,
  type NodeRequestLike,
  type TokenSource,
} from './token/bearer';
export { admitFetch, admitFetchNow, fetchRequestInfo, formBodyOf, responseOf, tokenRequestFromFetch, type FetchRequestExtras } from './http/fetch';
// Answering: refusals, the RFC 9728 metadata, readiness, as status, headers and body.
export {
  engineFrom,
  healthAnswer,
  isMetadataRequest,
  metadataAnswer,
  refusalAnswer,
  sendAnswer,
  type HttpAnswer,
  type NodeResponseLike,
  type NoticeLogger,
} from './http/answers';
export {
  InsufficientScopeError,
  InternalError,
  InvalidRequestError,
  InvalidTokenError,
  MissingTokenError,
  UnavailableError,
  sanitizeDescription,
  type ChallengeOptions,
  type ErrorResponse,
  type OAuthErrorCode,
} from './http/errors';
export { resourceMetadataDocument, resourceMetadataUrl } from './http/resource-metadata';
// Decisions and key-set events, as the audit log writes them.
export { callKeySetSink, describeDecision, describeKeySet, withAuditLog, type RequestInfo } from './hooks/audit';
// Route checks and permissions, for guards that check outside `admit` (MCP tools, Nest metadata).
export { assertRequirement, isScopeToken, meetsRequirement, NO_ACCESS, parseScopeClaim, scopesFromClaims, type HasPermissions } from './pipeline/scopes';
export { effectivePermissions, type HeldPermissions } from './hooks/permissions';
// The verification steps, one by one, for tools and benchmarks.
export type { IssuerHealth } from './keys/issuers';
export { PinnedKeySet, RemoteKeySet, unusableReason, type CandidateKey, type IssuerKeys, type KeySetEvent, type KeySetHealth, type KeySource } from './keys/jwks';
export { discoverJwksUri, metadataUrls } from './keys/discovery';
export { RFC9068_REQUIRED_CLAIMS, checkTokenHeader, verifyAccessToken, type JoseHeader, type VerifiedToken } from './token/verify';
export { tokenFacts, type TokenFacts } from './pipeline/principal';
export { checkClaims, type ClaimRules, type ClaimSource } from './token/claims';
export { parseCompactJws, type ParsedJws } from './token/jws';
export { publicKeyFromJwk, verifySignature, type VerificationKey } from './token/signature';
export { PRESETS, claimAt, clientIdFromClaims, type ClaimPath, type ClaimProfile } from './token/presets';
export { DpopError, DpopVerifier, jwkThumbprint, type DpopOptions, type DpopRequest } from './proof/dpop';
export { certificateThumbprint, confirmCertificateBinding, derFromPem, type MtlsOptions } from './proof/mtls';
export { Introspector, isCompactJws, type IntrospectedClaims, type IntrospectionOptions } from './hooks/introspection';
export { resolveOptions, type ResolvedIssuer, type ResolvedIssuerPattern, type ResolvedOptions, type SharedOptions, type TrustLookupOptions } from './pipeline/options';
export type { JwksOptions, PinnedKeys } from './keys/jwks';
export type { PermissionLookupOptions } from './hooks/answer-cache';
export type { TokenScopesOnly } from './hooks/permissions';
export type { ResourceMetadataOptions } from './http/resource-metadata';
export type { TokenCacheOptions } from './pipeline/verdict-cache';
