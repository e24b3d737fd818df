/**
 * @scopeguard/express — `app.use(scopeguard(options))` and per-route `requireScopes(...)`.
 * @packageDocumentation
 */
export { optionalAuth, scopeguard, scopeguardHealth, type ScopeguardMiddleware, type ScopeguardMiddlewareOptions } from './middleware';
export { requireAnyScope, requireScopes, type ScopeCheck } from './require-scopes';
export type { ErrorMode, GuardedRequest, Next } from './context';
export {
  Scopeguard,
  ScopeguardConfigError,
  ScopeguardError,
  type Principal,
  type ScopeguardOptions,
} from '@scopeguard/core';
