/**
 * The user's API, on every platform (index.ts: Node; web.ts: WebCrypto runtimes): the engine, its
 * options, the principal, scope requirements, permission sources and errors. What only an adapter or
 * an extension needs is `@scopeguard/core/adapter` (kit.ts).
 */
export { Scopeguard, type EngineHealth } from './pipeline/engine';
export type { CacheChange } from './keys/issuers';
export type { AdapterOptions, GuardOptions } from './http/answers';
export type { IssuerOptions, IssuerPatternOptions, IssuerSettings, ScopeguardOptions } from './pipeline/options';
export { SUPPORTED_ALGORITHMS, type JwsAlgorithm } from './token/signature';
export type { PresetName } from './token/presets';
export { INACTIVE_CLIENT, permissionResolverOf, type PermissionMap, type PermissionResolver, type ServiceUser } from './hooks/permissions';
export type { RevocationCheck, RevocationQuery } from './hooks/revocation';
export { MemoryReplayStore, type DpopReplayStore } from './proof/dpop';
export { accessTokenOf, isPrincipal, type Claims, type Principal } from './pipeline/principal';
export { requireAnyScope, requireScopes, scopeRequirement, type ScopeRequirement } from './pipeline/scopes';
export { ScopeguardConfigError, ScopeguardError, isScopeguardError, type ScopeguardErrorCode } from './http/errors';
export type { TokenRequest } from './token/bearer';
export type { DecisionEvent } from './hooks/audit';
export type { OperatorLogger } from './hooks/operator-log';
export { cryptoPlatform } from './keys/platform';
