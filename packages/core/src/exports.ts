/** Everything the package exports, on every platform (index.ts: Node; web.ts: WebCrypto runtimes). */
export { Scopeguard, type EngineHealth } from './engine';
export type { CacheChange, IssuerHealth } from './issuers';
export {
  engineFrom,
  healthAnswer,
  isMetadataRequest,
  metadataAnswer,
  refusalAnswer,
  sendAnswer,
  type AdapterOptions,
  type NodeResponseLike,
  type GuardOptions,
  type HttpAnswer,
  type NoticeLogger,
} from './adapter';
export { admitFetch, admitFetchNow, fetchRequestInfo, formBodyOf, responseOf, tokenRequestFromFetch, type FetchRequestExtras } from './fetch';
export {
  authorizationValues,
  extractBearerToken,
  socketThumbprint,
  tokenRequestFromNode,
  usesDpopScheme,
  type ExtractOptions,
  type NodeRequestLike,
  type TokenRequest,
  type TokenSource,
} from './bearer';
export {
  InsufficientScopeError,
  InternalError,
  InvalidRequestError,
  InvalidTokenError,
  MissingTokenError,
  ScopeguardConfigError,
  ScopeguardError,
  UnavailableError,
  isScopeguardError,
  sanitizeDescription,
  type ChallengeOptions,
  type ErrorResponse,
  type OAuthErrorCode,
  type ScopeguardErrorCode,
} from './errors';
export { PinnedKeySet, RemoteKeySet, unusableReason, type CandidateKey, type IssuerKeys, type KeySetEvent, type KeySetHealth, type KeySource } from './jwks';
export { discoverJwksUri, metadataUrls } from './discovery';
export { callKeySetSink, describeDecision, describeKeySet, withAuditLog, type DecisionEvent, type RequestInfo } from './audit';
export type { OperatorLogger } from './operator-log';
export { DpopError, DpopVerifier, MemoryReplayStore, jwkThumbprint, type DpopOptions, type DpopReplayStore, type DpopRequest } from './dpop';
export { certificateThumbprint, confirmCertificateBinding, derFromPem, type MtlsOptions } from './confirmation';
export { Introspector, isCompactJws, type IntrospectedClaims, type IntrospectionOptions } from './introspection';
export { resourceMetadataDocument, resourceMetadataUrl } from './resource-metadata';
export {
  SUPPORTED_ALGORITHMS,
  permissionResolverOf,
  resolveOptions,
  type IssuerOptions,
  type IssuerPatternOptions,
  type IssuerSettings,
  type PinnedKeys,
  type ResolvedIssuer,
  type ResolvedIssuerPattern,
  type TokenScopesOnly,
  type TrustLookupOptions,
  type JwksOptions,
  type ResourceMetadataOptions,
  type SharedOptions,
  type JwsAlgorithm,
  type PermissionLookupOptions,
  type ResolvedOptions,
  type ScopeguardOptions,
  type TokenCacheOptions,
} from './options';
export type { RevocationCheck, RevocationQuery } from './revocation';
export {
  INACTIVE_CLIENT,
  effectivePermissions,
  type HeldPermissions,
  type PermissionMap,
  type PermissionResolver,
  type ServiceUser,
} from './permissions';
export { PRESETS, claimAt, clientIdFromClaims, type ClaimPath, type ClaimProfile, type PresetName } from './presets';
export { accessTokenOf, isPrincipal, type Claims, type Principal } from './principal';
export {
  assertRequirement,
  isScopeToken,
  meetsRequirement,
  NO_ACCESS,
  parseScopeClaim,
  requireAnyScope,
  requireScopes,
  scopeRequirement,
  scopesFromClaims,
  type HasPermissions,
  type ScopeRequirement,
} from './scopes';
export { RFC9068_REQUIRED_CLAIMS, verifyAccessToken, type JoseHeader, type VerifiedToken } from './verify';
export { checkClaims, type ClaimRules, type ClaimSource } from './claims';
export { parseCompactJws, type ParsedJws } from './jws';
export { publicKeyFromJwk, verifySignature, type VerificationKey } from './signature';
export { cryptoPlatform } from './platform';
