/**
 * Scopes: reading them from claims (RFC 6749 §3.3, RFC 9068 §2.2.3) and checking a route's
 * requirement against what a principal may do. Matching is exact and case-sensitive: `read`
 * never satisfies `read:all`.
 */
import { InsufficientScopeError, ScopeguardConfigError } from '../http/errors';
import { detachedCopy } from '../token/json';
import { claimAt, type ClaimPath } from '../token/presets';

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/** Up to this many scopes, duplicates are found by a scan (see {@link scopesFromClaims}). */
const FEW_SCOPES = 16;

/** Whether `value` is a valid RFC 6749 scope-token. */
export function isScopeToken(value: unknown): value is string {
  return typeof value === 'string' && SCOPE_TOKEN.test(value);
}

/**
 * Scope values from one claim: a space-delimited string (`scope`) or an array of strings
 * (`scp`, `permissions`, `roles`). Entries that are not scope-tokens are ignored.
 */
export function parseScopeClaim(value: unknown): string[] {
  // Split on each space: the empty strings between two spaces are no scope-tokens and drop out, as
  // with a pattern of spaces, which splits several times slower.
  if (typeof value === 'string') return value.split(' ').filter(isScopeToken);
  if (Array.isArray(value)) return value.filter(isScopeToken);
  return [];
}

/**
 * A Cognito scope's name after its resource-server identifier, or `undefined` when the scope is not
 * of these resource servers. A scope name never holds a `/` (Cognito refuses one), so
 * `https://api.example.com/admin/write` belongs to the resource server `https://api.example.com/admin`,
 * not to `https://api.example.com`.
 */
function unprefixed(scope: string, prefixes: readonly string[]): string | undefined {
  for (const prefix of prefixes) {
    if (scope.length > prefix.length && scope.startsWith(prefix) && !scope.includes('/', prefix.length)) return scope.slice(prefix.length);
  }
  return undefined;
}

/**
 * The union of scopes found at `claimNames` (names or paths, see {@link claimAt}), in first-seen
 * order, without duplicates. With `prefixes` (Cognito's resource-server identifiers), only scopes
 * that start with one count, and without it.
 */
export function scopesFromClaims(claims: Record<string, unknown>, claimNames: readonly ClaimPath[], prefixes?: readonly string[]): string[] {
  const scopes: string[] = [];
  // Distinct by a scan while few (a token's usual handful: no Set per new token), by a set beyond.
  let seen: Set<string> | undefined;
  for (const name of claimNames) {
    for (const scope of parseScopeClaim(claimAt(claims, name))) {
      const found = prefixes === undefined ? scope : unprefixed(scope, prefixes);
      if (found === undefined) continue;
      if (seen === undefined && scopes.length >= FEW_SCOPES) seen = new Set(scopes);
      if (seen === undefined ? scopes.includes(found) : seen.has(found)) continue;
      seen?.add(found);
      scopes.push(found);
    }
  }
  return scopes;
}

/**
 * A verified token's scopes, frozen ({@link scopesFromClaims}). An issuer gives a client's tokens the
 * same `scope` string, so in the usual case (one scope claim present, a string, no prefixes) each distinct
 * string is split and checked once, and its tokens share one frozen list. Bounded as the header memo
 * (jws.ts): at most {@link RECENT_SCOPES} strings of up to {@link REMEMBERED_SCOPE_LENGTH} characters,
 * started over when full; the claims are verified before they get here.
 */
export function tokenScopes(claims: Record<string, unknown>, claimNames: readonly ClaimPath[], prefixes?: readonly string[]): readonly string[] {
  const value = prefixes === undefined ? soleClaim(claims, claimNames) : undefined;
  if (typeof value !== 'string' || value.length > REMEMBERED_SCOPE_LENGTH) return Object.freeze(scopesFromClaims(claims, claimNames, prefixes));
  const known = recentScopes.get(value);
  if (known !== undefined) return known;
  const scopes = Object.freeze(scopesFromClaims(claims, claimNames));
  if (recentScopes.size >= RECENT_SCOPES) recentScopes.clear();
  recentScopes.set(detachedCopy(value), scopes);
  return scopes;
}

/** The value of the one claim of `claimNames` present (presets name two or three: `scope`, `scp`, …); `undefined` when none or several are. */
function soleClaim(claims: Record<string, unknown>, claimNames: readonly ClaimPath[]): unknown {
  let value: unknown;
  for (const name of claimNames) {
    const found = claimAt(claims, name);
    if (found === undefined) continue;
    if (value !== undefined) return undefined;
    value = found;
  }
  return value;
}
const recentScopes = new Map<string, readonly string[]>();
const RECENT_SCOPES = 64;
const REMEMBERED_SCOPE_LENGTH = 1024;

/** A route's scope requirement, validated once when the route is defined. */
export interface ScopeRequirement {
  /** `all`: every scope is needed; `any`: one of them suffices. */
  readonly mode: 'all' | 'any';
  readonly scopes: readonly string[];
}

/**
 * Defines a requirement. An empty list or a value that is not a scope-token is a programming
 * error and throws {@link ScopeguardConfigError} at definition time, not at request time.
 */
export function scopeRequirement(mode: 'all' | 'any', scopes: readonly string[]): ScopeRequirement {
  const flat = scopes.flat() as unknown[];
  if (flat.length === 0) {
    throw new ScopeguardConfigError('scopes', 'must name at least one scope: an empty requirement would allow every token');
  }
  for (const scope of flat) {
    if (!isScopeToken(scope)) {
      throw new ScopeguardConfigError('scopes', `holds ${JSON.stringify(scope)}, which is not an RFC 6749 scope-token`);
    }
  }
  return Object.freeze({ mode, scopes: Object.freeze([...new Set(flat as string[])]) });
}

/** Whether `granted` meets `requirement`. */
export function meetsRequirement(granted: readonly string[], requirement: ScopeRequirement): boolean {
  // Loops, not every/some with a closure: this runs on every request, a reused token's too.
  const { scopes } = requirement;
  if (requirement.mode === 'all') {
    for (let i = 0; i < scopes.length; i++) if (!granted.includes(scopes[i]!)) return false;
    return true;
  }
  for (let i = 0; i < scopes.length; i++) if (granted.includes(scopes[i]!)) return true;
  return false;
}

/**
 * A requirement nobody meets, for a default-deny policy: routes that declare no scope requirement
 * are refused with 403 once the caller is authenticated, so a forgotten decorator never opens one.
 */
export const NO_ACCESS: ScopeRequirement = Object.freeze({ mode: 'any', scopes: Object.freeze([]) });

/** Throws a 403 {@link InsufficientScopeError} unless `granted` meets `requirement`. */
export function assertRequirement(granted: readonly string[], requirement: ScopeRequirement): void {
  if (requirement.scopes.length === 0) throw new InsufficientScopeError([], 'this route declares no scope requirement and the default policy denies it');
  if (meetsRequirement(granted, requirement)) return;
  throw new InsufficientScopeError(
    requirement.scopes,
    requirement.mode === 'all'
      ? 'the request requires more scopes than the client is granted'
      : 'the request requires one of the listed scopes, which the client is not granted',
  );
}

/** Anything with effective permissions: a {@link Principal}. */
export interface HasPermissions {
  readonly permissions: readonly string[];
}

/** Throws a 403 unless the principal holds every one of `scopes` (after the intersection). */
export function requireScopes(principal: HasPermissions, scopes: readonly string[]): void {
  assertRequirement(principal.permissions, scopeRequirement('all', scopes));
}

/** Throws a 403 unless the principal holds at least one of `scopes` (after the intersection). */
export function requireAnyScope(principal: HasPermissions, scopes: readonly string[]): void {
  assertRequirement(principal.permissions, scopeRequirement('any', scopes));
}
