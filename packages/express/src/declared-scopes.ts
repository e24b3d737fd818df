/**
 * Scopes the app's routes require, collected as `requireScopes(...)`/`requireAnyScope(...)` are
 * defined, for `scopes_supported` in the RFC 9728 resource metadata. Process-wide: Express has no
 * registry of routes to ask, and a scope listed as supported reveals nothing secret.
 */
export const declaredScopes = new Set<string>();
