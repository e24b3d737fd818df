/**
 * The scope ∩ permission intersection. A token's scopes say what the client asked for; the API
 * holds what each service user (client) is permitted. What a request may do is the intersection:
 * a scope the authorization server granted but the API never permitted counts for nothing.
 */
import { LRUCache } from 'lru-cache';
import type { Claims } from './principal';
import { UnavailableError } from './errors';
import type { PermissionLookupOptions } from './options';

/** Permissions by client id. A client not listed is unknown and refused. */
export type PermissionMap = Readonly<Record<string, readonly string[]>>;

/** The service user whose permissions are looked up. */
export interface ServiceUser {
  readonly clientId: string;
  readonly issuer: string;
  readonly subject: string | undefined;
  readonly claims: Claims;
}

/**
 * Looks up a service user's permissions (a database, a policy service). Return `undefined` or
 * `null` for an unknown client (refused with 403). A throw, a rejection or a time-out is a 503.
 */
export type PermissionResolver = (
  user: ServiceUser,
) => Iterable<string> | null | undefined | Promise<Iterable<string> | null | undefined>;

/** Permissions held, `undefined` for an unknown client; synchronous when already known. */
export type PermissionLookup = ReadonlySet<string> | undefined | Promise<ReadonlySet<string> | undefined>;

/** A source of service-user permissions. */
export interface PermissionSource {
  lookup(user: ServiceUser): PermissionLookup;
}

class StaticPermissions implements PermissionSource {
  readonly #map: ReadonlyMap<string, ReadonlySet<string>>;

  constructor(map: PermissionMap) {
    this.#map = new Map(Object.entries(map).map(([clientId, list]) => [clientId, new Set(list)]));
  }

  lookup(user: ServiceUser): ReadonlySet<string> | undefined {
    return this.#map.get(user.clientId);
  }
}

interface CachedLookup {
  readonly held: ReadonlySet<string> | undefined;
  readonly expiresAt: number;
}

class ResolvedPermissions implements PermissionSource {
  readonly #resolve: PermissionResolver;
  readonly #options: Required<PermissionLookupOptions>;
  readonly #cache: LRUCache<string, CachedLookup>;
  readonly #pending = new Map<string, Promise<ReadonlySet<string> | undefined>>();

  constructor(resolve: PermissionResolver, options: Required<PermissionLookupOptions>) {
    this.#resolve = resolve;
    this.#options = options;
    this.#cache = new LRUCache({ max: options.maxEntries });
  }

  lookup(user: ServiceUser): PermissionLookup {
    const key = `${user.issuer}\n${user.clientId}`;
    const cached = this.#cache.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.held;
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = this.#call(user).then(
        (held) => {
          this.#cache.set(key, { held, expiresAt: Date.now() + this.#options.ttl * 1000 });
          return held;
        },
      ).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    return pending;
  }

  async #call(user: ServiceUser): Promise<ReadonlySet<string> | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new UnavailableError('ERR_PERMISSIONS_UNAVAILABLE', 'the permission lookup timed out')),
        this.#options.timeoutMs,
      );
      timer.unref();
    });
    try {
      const result = await Promise.race([Promise.resolve().then(() => this.#resolve(user)), timeout]);
      if (result === undefined || result === null) return undefined;
      if (typeof (result as Iterable<string>)[Symbol.iterator] !== 'function' || typeof result === 'string') {
        throw new TypeError('the permission resolver must return an iterable of strings');
      }
      return new Set([...result].filter((value) => typeof value === 'string'));
    } catch (error) {
      // Failures are never cached: the next request asks again.
      if (error instanceof UnavailableError) throw error;
      throw new UnavailableError('ERR_PERMISSIONS_UNAVAILABLE', 'the permission lookup failed', { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The source for the `permissions` option, or `undefined` when none is configured. */
export function createPermissionSource(
  permissions: PermissionMap | PermissionResolver | undefined,
  options: Required<PermissionLookupOptions>,
): PermissionSource | undefined {
  if (permissions === undefined) return undefined;
  return typeof permissions === 'function' ? new ResolvedPermissions(permissions, options) : new StaticPermissions(permissions);
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
    for (const permission of scopeMap?.get(scope) ?? [scope]) {
      if (held === undefined || held.has(permission)) effective.add(permission);
    }
  }
  return [...effective];
}
