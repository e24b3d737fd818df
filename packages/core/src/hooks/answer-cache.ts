/**
 * The cache of a hook's answers (revocation, permissions): per issuer and name (a `jti`, a client id),
 * kept for a ttl, with concurrent asks for one key sharing one call, failures never kept, and every
 * answer about a name forgettable at once (another instance heard of a change) without a scan.
 */
import { LRUCache } from 'lru-cache';
import { number, object, only, timeout } from '../pipeline/option-checks';

interface Kept<V> {
  readonly value: V;
  readonly expiresAt: number;
}

export class AnswerCache<V> {
  readonly #ttlMs: number;
  readonly #clock: () => number;
  readonly #kept: LRUCache<string, Kept<V>>;
  readonly #pending = new Map<string, Promise<V>>();
  /** The keys (kept or pending) of each name, so that forgetting one touches only its own. */
  readonly #byName = new Map<string, Set<string>>();
  /** Each key's name; not split from the key, since an issuer and a `jti` may both hold a newline. */
  readonly #nameOf = new Map<string, string>();

  constructor(ttlSeconds: number, maxEntries: number, clock: () => number) {
    this.#ttlMs = ttlSeconds * 1000;
    this.#clock = clock;
    // An entry replaced by a newer answer stays indexed; one evicted or deleted leaves the index.
    this.#kept = new LRUCache({ max: maxEntries, dispose: (_value, key, reason) => reason !== 'set' && this.#unindex(key) });
  }

  /** The answer for `name` of `issuer`: kept, pending, or asked now; synchronous when kept or answered so. */
  get(issuer: string, name: string, ask: () => V | Promise<V>): V | Promise<V> {
    const key = `${issuer}\n${name}`;
    const kept = this.#kept.get(key);
    if (kept !== undefined && kept.expiresAt > this.#clock()) return kept.value;
    const pending = this.#pending.get(key);
    if (pending) return pending;
    const answer = ask(); // a failure throws or rejects, and is not kept: the next request asks again
    if (!(answer instanceof Promise)) return this.#keep(key, name, answer);
    this.#index(key, name);
    const settled: Promise<V> = answer.then(
      (value) => (this.#pending.get(key) === settled ? this.#keep(key, name, value) : value), // forgotten meanwhile: not kept
    );
    const done = () => {
      if (this.#pending.get(key) !== settled) return;
      this.#pending.delete(key);
      if (!this.#kept.has(key)) this.#unindex(key);
    };
    settled.then(done, done);
    this.#pending.set(key, settled);
    return settled;
  }

  /** Forgets every answer about `name` (of any issuer), kept or under way; everything when `name` is undefined. */
  forget(name?: string): void {
    if (name === undefined) {
      this.#pending.clear();
      this.#kept.clear();
      this.#byName.clear();
      this.#nameOf.clear();
      return;
    }
    for (const key of this.#byName.get(name) ?? []) {
      this.#pending.delete(key);
      this.#kept.delete(key);
      this.#nameOf.delete(key);
    }
    this.#byName.delete(name);
  }

  #keep(key: string, name: string, value: V): V {
    this.#kept.set(key, { value, expiresAt: this.#clock() + this.#ttlMs });
    this.#index(key, name);
    return value;
  }

  #index(key: string, name: string): void {
    this.#nameOf.set(key, name);
    let keys = this.#byName.get(name);
    if (keys === undefined) this.#byName.set(name, (keys = new Set()));
    keys.add(key);
  }

  #unindex(key: string): void {
    if (this.#pending.has(key)) return;
    const name = this.#nameOf.get(key);
    if (name === undefined) return;
    this.#nameOf.delete(key);
    const keys = this.#byName.get(name);
    keys?.delete(key);
    if (keys?.size === 0) this.#byName.delete(name);
  }
}

// ── Options: a hook's cache and deadline ────────────────────────────────────────────────────

/** Settings of a hook's lookup: `permissionLookup` (when `permissions` is a resolver) and `revocationLookup`. */
export interface PermissionLookupOptions {
  /** Keep a resolver's answer this many seconds. Default 60. */
  ttl?: number;
  /** A resolver slower than this many milliseconds is a failure (503). Default 2000. */
  timeoutMs?: number;
  /** Most clients kept. Default 10000. */
  maxEntries?: number;
}

/** A hook's lookup option (`permissionLookup`, `revocationLookup`), with defaults applied. */
export function resolveLookup(option: string, value: unknown): Required<PermissionLookupOptions> {
  const lookup = object(option, value);
  only(option, lookup, ['ttl', 'timeoutMs', 'maxEntries']);
  return {
    ttl: number(`${option}.ttl`, lookup.ttl, 60, 0),
    timeoutMs: timeout(`${option}.timeoutMs`, lookup.timeoutMs, 2000),
    maxEntries: number(`${option}.maxEntries`, lookup.maxEntries, 10_000, 1, true),
  };
}
