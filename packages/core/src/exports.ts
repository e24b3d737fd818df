/** Everything the package exports, on every platform (index.ts: Node; web.ts: WebCrypto runtimes). */
export { Scopeguard, type EngineHealth } from './pipeline/engine';
export type { CacheChange, IssuerHealth } from './keys/issuers';
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
} from './http/answers';
export { admitFetch, admitFetchNow, fetchRequestInfo, formBodyOf, responseOf, tokenRequestFromFetch, type FetchRequestExtras } from './http/fetch';
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
} from './token/bearer';
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
} from './http/errors';
export { PinnedKeySet, RemoteKeySet, unusableReason, type CandidateKey, type IssuerKeys, type KeySetEvent, type KeySetHealth, type KeySource } from './keys/jwks';
export { discoverJwksUri, metadataUrls } from './keys/discovery';
export { callKeySetSink, describeDecision, describeKeySet, withAuditLog, type DecisionEvent, type RequestInfo } from './hooks/audit';
export type { OperatorLogger } from './hooks/operator-log';
export { DpopError, DpopVerifier, MemoryReplayStore, jwkThumbprint, type DpopOptions, type DpopReplayStore, type DpopRequest } from './proof/dpop';
export { certificateThumbprint, confirmCertificateBinding, derFromPem, type MtlsOptions } from './proof/mtls';
export { Introspector, isCompactJws, type IntrospectedClaims, type IntrospectionOptions } from './hooks/introspection';
export { resourceMetadataDocument, resourceMetadataUrl } from './http/resource-metadata';
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
} from './pipeline/options';
export type { RevocationCheck, RevocationQuery } from './hooks/revocation';
export {
  INACTIVE_CLIENT,
  effectivePermissions,
  type HeldPermissions,
  type PermissionMap,
  type PermissionResolver,
  type ServiceUser,
} from './hooks/permissions';
export { PRESETS, claimAt, clientIdFromClaims, type ClaimPath, type ClaimProfile, type PresetName } from './token/presets';
export { accessTokenOf, isPrincipal, type Claims, type Principal } from './pipeline/principal';
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
} from './pipeline/scopes';
export { RFC9068_REQUIRED_CLAIMS, verifyAccessToken, type JoseHeader, type VerifiedToken } from './token/verify';
export { checkClaims, type ClaimRules, type ClaimSource } from './token/claims';
export { parseCompactJws, type ParsedJws } from './token/jws';
export { publicKeyFromJwk, verifySignature, type VerificationKey } from './token/signature';
export { cryptoPlatform } from './keys/platform';
