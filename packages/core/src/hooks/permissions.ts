/**
 * The scope ∩ permission intersection. A token's scopes say what the client asked for; the API
 * holds what each service user (client) is permitted. What a request may do is the intersection:
 * a scope the authorization server granted but the API never permitted counts for nothing.
 */
import type { Claims } from '../pipeline/principal';
import { UnavailableError } from '../http/errors';
import { callHook, type HookPolicy } from './bounded-call';
import { AnswerCache } from './answer-cache';
import type { PermissionLookupOptions } from './answer-cache';
import { traced, type Telemetry } from './telemetry';
import { fail, object } from '../pipeline/option-checks';
import { isScopeToken } from '../pipeline/scopes';

/**
 * What a permission source answers for a client whose application is disabled (not deleted): its
 * tokens are refused with 401 `ERR_CLIENT_INACTIVE` (within the lookup ttl, on every instance), where an
 * unknown client gets 403.
 */
export const INACTIVE_CLIENT: unique symbol = Symbol.for('scopeguard.inactiveClient');

/** Permissions by client id. A client not listed is unknown and refused; {@link INACTIVE_CLIENT} marks a disabled one. */
export type PermissionMap = Readonly<Record<string, readonly string[] | typeof INACTIVE_CLIENT>>;

/** The service user whose permissions are looked up. */
export interface ServiceUser {
  readonly clientId: string;
  readonly issuer: string;
  readonly subject: string | undefined;
  readonly claims: Claims;
}

/**
 * Looks up a service user's permissions (a database, a policy service). Return `undefined` or
 * `null` for an unknown client (refused with 403). A throw, a rejection, a time-out, or an answer
 * that is not an iterable of at most 10 000 strings is a 503.
 */
export type PermissionResolver = (
  user: ServiceUser,
) => Iterable<string> | typeof INACTIVE_CLIENT | null | undefined | Promise<Iterable<string> | typeof INACTIVE_CLIENT | null | undefined>;

/** Permissions held, `undefined` for an unknown client, {@link INACTIVE_CLIENT} for a disabled one. */
export type HeldPermissions = ReadonlySet<string> | typeof INACTIVE_CLIENT | undefined;

/** What a source answers; synchronous when already known. */
export type PermissionLookup = HeldPermissions | Promise<HeldPermissions>;

/** A source of service-user permissions. */
export interface PermissionSource {
  lookup(user: ServiceUser): PermissionLookup;
  /** Whether answers can change while the process runs (a resolver can; a map cannot). */
  readonly changes: boolean;
  /** Drops cached answers: those of `clientId` (of any issuer), or all. */
  forget(clientId?: string): void;
  /** For an unknown client's refusal, for the operator: the service users a map names (a resolver: none). */
  readonly clients?: readonly string[];
}

class StaticPermissions implements PermissionSource {
  readonly changes = false;
  readonly #map: ReadonlyMap<string, ReadonlySet<string> | typeof INACTIVE_CLIENT>;

  readonly clients: readonly string[];

  constructor(map: PermissionMap) {
    this.#map = new Map(Object.entries(map).map(([clientId, list]) => [clientId, list === INACTIVE_CLIENT ? INACTIVE_CLIENT : new Set(list)]));
    this.clients = [...this.#map.keys()];
  }

  lookup(user: ServiceUser): HeldPermissions {
    return this.#map.get(user.clientId);
  }

  forget(): void {
    // Nothing cached: the map is the answer.
  }
}

/** More permissions than this from one resolver answer is a faulty resolver, not a service user. */
const MAX_PERMISSIONS = 10_000;

/**
 * A resolver's answer as a set: `undefined`/`null` for an unknown client, else an iterable of
 * strings (read at most {@link MAX_PERMISSIONS} + 1 items, so an endless generator cannot hang us).
 * Anything else throws, and the lookup becomes a 503.
 */
function permissionSet(result: unknown): HeldPermissions {
  if (result === undefined || result === null) return undefined;
  if (result === INACTIVE_CLIENT) return INACTIVE_CLIENT;
  if (typeof result === 'string' || typeof (result as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new TypeError('the permission resolver must return an iterable of strings, or undefined for an unknown client');
  }
  const held = new Set<string>();
  let count = 0;
  for (const value of result as Iterable<unknown>) {
    if (++count > MAX_PERMISSIONS) throw new RangeError(`the permission resolver returned more than ${MAX_PERMISSIONS} permissions`);
    if (typeof value !== 'string') throw new TypeError('the permission resolver returned a permission that is not a string');
    held.add(value);
  }
  return held;
}

class ResolvedPermissions implements PermissionSource {
  readonly changes = true;
  readonly #resolve: PermissionResolver;
  readonly #answers: AnswerCache<HeldPermissions>;
  readonly #policy: HookPolicy<HeldPermissions>;
  readonly #telemetry: Telemetry | undefined;

  constructor(resolve: PermissionResolver, options: Required<PermissionLookupOptions>, clock: () => number, telemetry: Telemetry | undefined) {
    this.#resolve = resolve;
    this.#telemetry = telemetry;
    this.#answers = new AnswerCache(options.ttl, options.maxEntries, clock);
    this.#policy = {
      timeoutMs: options.timeoutMs,
      accept: permissionSet,
      unavailable: (cause) => new UnavailableError('ERR_PERMISSIONS_UNAVAILABLE', 'the permission lookup failed', { cause }),
    };
  }

  lookup(user: ServiceUser): PermissionLookup {
    return this.#answers.get(user.issuer, user.clientId, () =>
      traced(this.#telemetry, 'permissionLookup', () => callHook(() => this.#resolve(user), this.#policy), {
        issuer: user.issuer,
        clientId: user.clientId,
      }),
    );
  }

  forget(clientId?: string): void {
    this.#answers.forget(clientId);
  }
}

/** The source for the `permissions` option, or `undefined` when none is configured. */
export function createPermissionSource(
  permissions: PermissionMap | PermissionResolver | 'token' | undefined,
  options: Required<PermissionLookupOptions>,
  clock: () => number,
  telemetry?: Telemetry,
): PermissionSource | undefined {
  if (permissions === undefined || permissions === 'token') return undefined;
  return typeof permissions === 'function' ? new ResolvedPermissions(permissions, options, clock, telemetry) : new StaticPermissions(permissions);
}

/**
 * Effective permissions: each scope expanded through `scopeMap` (a scope not in the map stands
 * for itself), then, when the API holds permissions, kept only where the service user holds them.
 */
export function effectivePermissions(
  scopes: readonly string[],
  held: ReadonlySet<string> | undefined,
  scopeMap: ReadonlyMap<string, readonly string[]> | undefined,
): string[] {
  const effective = new Set<string>();
  for (const scope of scopes) {
    const mapped = scopeMap?.get(scope);
    if (mapped === undefined) {
      if (held === undefined || held.has(scope)) effective.add(scope);
      continue;
    }
    for (const permission of mapped) if (held === undefined || held.has(permission)) effective.add(permission);
  }
  return [...effective];
}

/**
 * {@link effectivePermissions} for a principal, frozen; the token's own (frozen, distinct) scopes
 * as they are when nothing bounds or maps them (`permissions: 'token'`, or no permissions): no copy
 * per new token.
 */
export function permissionsFor(
  scopes: readonly string[],
  held: ReadonlySet<string> | undefined,
  scopeMap: ReadonlyMap<string, readonly string[]> | undefined,
): readonly string[] {
  if (held === undefined && scopeMap === undefined && Object.isFrozen(scopes)) return scopes;
  return Object.freeze(effectivePermissions(scopes, held, scopeMap));
}

// ── Options: the permission source, the scope map ───────────────────────────────────────────

/**
 * `permissions: 'token'`: trust the token's scopes as they are, with no intersection and no
 * unknown-service-user rule. Saying so silences the start-up notice that leaving `permissions` out gives.
 */
export type TokenScopesOnly = 'token';

/** The `permissions` option: a map by client id (checked), a resolver, `'token'`, or left out. */
export function resolvePermissions(value: unknown): PermissionMap | PermissionResolver | TokenScopesOnly | undefined {
  if (value === undefined || value === 'token' || typeof value === 'function') return value as PermissionResolver | TokenScopesOnly | undefined;
  if (typeof value === 'string') fail('permissions', "must be a map by client id, a resolver, or 'token'");
  const map = object('permissions', value);
  for (const [clientId, list] of Object.entries(map)) {
    if (list === INACTIVE_CLIENT) continue;
    if (!Array.isArray(list) || !list.every(isScopeToken)) fail(`permissions.${clientId}`, 'must be an array of scope-tokens, or INACTIVE_CLIENT');
  }
  return map as PermissionMap;
}

/**
 * A `permissions` map or resolver as a resolver, checked as the option is (a wrong map throws
 * {@link ScopeguardConfigError}), answering as the engine would: for a wrapper that adds to what the
 * source says, such as a shared store's inactive clients.
 */
export function permissionResolverOf(value: PermissionMap | PermissionResolver): PermissionResolver {
  const checked = resolvePermissions(value);
  if (typeof checked === 'function') return checked;
  if (checked === undefined || checked === 'token') return fail('permissions', 'must be a map by client id or a resolver');
  const source = createPermissionSource(checked, { ttl: 0, timeoutMs: 0, maxEntries: 1 }, Date.now)!;
  return (user) => source.lookup(user) as ReturnType<PermissionResolver>;
}

/** The `scopeMap` option: scope-token keys, each standing for a list of scope-tokens. */
export function resolveScopeMap(value: unknown): Map<string, readonly string[]> | undefined {
  if (value === undefined) return undefined;
  const map = new Map<string, readonly string[]>();
  for (const [scope, list] of Object.entries(object('scopeMap', value))) {
    if (!isScopeToken(scope)) fail('scopeMap', `key ${JSON.stringify(scope)} is not a scope-token`);
    if (!Array.isArray(list) || !list.every(isScopeToken)) fail(`scopeMap.${scope}`, 'must be an array of scope-tokens');
    map.set(scope, Object.freeze([...list]));
  }
  return map;
}
