/**
 * Revoked tokens: a JWT is valid until `exp` by itself, so an API that must honour revocation before
 * then asks the app (`isRevoked`: a deny list, a session store). Answers are cached per token for
 * `revocationLookup.ttl` seconds, concurrent asks share one call, and a hook that throws, rejects,
 * times out or answers anything but a boolean is a 503, never a pass.
 */
import { LRUCache } from 'lru-cache';
import { UnavailableError } from './errors';
import { callHook, type HookPolicy } from './hooks';
import { platform } from './platform';
import type { PermissionLookupOptions } from './options';
import type { TokenFacts } from './principal';
import { traced, type Telemetry } from './telemetry';

/** What `isRevoked` is given: the token's `jti` (RFC 9068 §2.2) and the caller it was issued to. */
export interface RevocationQuery {
  readonly jti: string | undefined;
  readonly principal: TokenFacts;
}

/** Answers whether a verified token was revoked before its `exp`. */
export type RevocationCheck = (query: RevocationQuery) => boolean | Promise<boolean>;

interface CachedAnswer {
  readonly revoked: boolean;
  readonly expiresAt: number;
}

export class RevocationSource {
  readonly #check: RevocationCheck;
  readonly #ttlMs: number;
  readonly #clock: () => number;
  readonly #cache: LRUCache<string, CachedAnswer>;
  readonly #pending = new Map<string, Promise<boolean>>();
  readonly #policy: HookPolicy<boolean>;
  readonly #telemetry: Telemetry | undefined;
  /** Counts {@link forget} calls: an answer asked for before one is not cached after it. */
  #generation = 0;

  constructor(check: RevocationCheck, options: Required<PermissionLookupOptions>, clock: () => number, telemetry?: Telemetry) {
    this.#check = check;
    this.#telemetry = telemetry;
    this.#ttlMs = options.ttl * 1000;
    this.#clock = clock;
    this.#cache = new LRUCache({ max: options.maxEntries });
    this.#policy = {
      timeoutMs: options.timeoutMs,
      accept: (answer) => {
        if (typeof answer !== 'boolean') throw new TypeError('isRevoked must answer true or false');
        return answer;
      },
      unavailable: (cause) => new UnavailableError('ERR_REVOCATION_UNAVAILABLE', 'the revocation check failed', { cause }),
    };
  }

  /** Whether the token (its `jti`, or the token itself when it has none) was revoked; synchronous when cached. */
  revoked(facts: TokenFacts, token: string): boolean | Promise<boolean> {
    const jti = typeof facts.claims.jti === 'string' ? facts.claims.jti : undefined;
    // Without a jti, the token's SHA-256 (where hashing is synchronous): 10 000 whole tokens are not kept.
    const key = `${facts.issuer}\n${jti ?? platform().sha256Base64url?.(token) ?? token}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined && cached.expiresAt > this.#clock()) return cached.revoked;
    const pending = this.#pending.get(key);
    if (pending) return pending;
    // Failures are never cached: the next request asks again.
    const answer = traced(this.#telemetry, 'revocationCheck', () => callHook(() => this.#check({ jti, principal: facts }), this.#policy), { issuer: facts.issuer });
    if (!(answer instanceof Promise)) return this.#remember(key, answer, this.#generation);
    const generation = this.#generation;
    const settled = answer.then((revoked) => this.#remember(key, revoked, generation)).finally(() => this.#pending.get(key) === settled && this.#pending.delete(key));
    this.#pending.set(key, settled);
    return settled;
  }

  /** Drops cached answers: those of `jti` (of any issuer), or all. Lookups under way are not cached. */
  forget(jti?: string): void {
    this.#generation++;
    forgetKeys(this.#cache, this.#pending, jti);
  }

  #remember(key: string, revoked: boolean, generation: number): boolean {
    if (generation === this.#generation) this.#cache.set(key, { revoked, expiresAt: this.#clock() + this.#ttlMs });
    return revoked;
  }
}

/**
 * Drops the entries keyed `<issuer>\n<name>` of one name (every entry when `name` is undefined) from a
 * cache and its pending lookups. A scan, since changes are rare next to lookups.
 */
export function forgetKeys<V extends object>(cache: LRUCache<string, V>, pending: Map<string, unknown>, name: string | undefined): void {
  if (name === undefined) {
    cache.clear();
    pending.clear();
    return;
  }
  const suffix = `\n${name}`;
  for (const key of [...cache.keys()]) if (key.endsWith(suffix)) cache.delete(key);
  for (const key of [...pending.keys()]) if (key.endsWith(suffix)) pending.delete(key);
}
