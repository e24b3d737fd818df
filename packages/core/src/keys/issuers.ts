/**
 * Which issuer's rules and keys apply to a token: the trusted issuers known at start-up, and issuer
 * patterns (tenants that come and go) confirmed one by one by the app's `isTrusted`.
 *
 * The unverified `iss` only selects; nothing is trusted before the signature verifies. Bounds that
 * keep an attacker's random `iss` values from costing anything: an `iss` that matches no entry is
 * refused before any lookup; an `iss` of a pattern's shape costs one `isTrusted` call (its answer,
 * yes or no, is cached for `trustLookup.ttl`, in bounded LRUs) and never a fetch unless trusted; key
 * sets are created for trusted issuers only, at most `maxIssuers` per pattern (least recently used
 * dropped). A pattern with fixed keys (`jwksUri`, `keys`) shares one key set among its issuers.
 */
import { LRUCache } from 'lru-cache';
import { checkIssuer } from '../token/claims';
import { discoverJwksUri } from './discovery';
import { InvalidTokenError, UnavailableError } from '../http/errors';
import { callHook, callSink, type HookPolicy } from '../hooks/bounded-call';
import { Introspector } from '../hooks/introspection';
import { PinnedKeySet, RemoteKeySet, type IssuerKeys, type KeySetEvent, type KeySetHealth } from './jwks';
import type { ResolvedIssuer, ResolvedIssuerPattern, ResolvedOptions } from '../pipeline/options';
import { createPermissionSource, type PermissionSource } from '../hooks/permissions';
import { RevocationSource } from '../hooks/revocation';
import { traced, type Telemetry } from '../hooks/telemetry';

/** One trusted issuer (tenant): its rules, its keys, its service users. */
export interface IssuerContext {
  /** The entry's settings; `issuers` holds exactly the issuer(s) this context stands for. */
  readonly rules: ResolvedIssuer;
  readonly keys: IssuerKeys;
  readonly permissions: PermissionSource | undefined;
  readonly revocation: RevocationSource | undefined;
  readonly introspector: Introspector | undefined;
}

/** A key set's readiness and the issuer(s) it serves. */
export type IssuerHealth = { readonly issuer: string } & KeySetHealth;

/** Where key-set events go: the engine's `onKeySet`, called as a sink (never awaited, failures ignored). */
type KeySetSink = ((event: KeySetEvent) => unknown) | undefined;

function keysFor(rules: ResolvedIssuer, issuer: string | undefined, clock: () => number, onKeySet: KeySetSink, telemetry: Telemetry | undefined): IssuerKeys {
  if (rules.keys !== undefined) return new PinnedKeySet(rules.keys);
  const { jwksUri, jwks } = rules;
  const resolveUri = jwksUri !== undefined ? async () => jwksUri : () => traced(telemetry, 'discovery', () => discoverJwksUri(issuer!, jwks.timeoutMs), { issuer });
  const label = issuer ?? rules.pattern?.source ?? rules.issuers.join(', ');
  return new RemoteKeySet(resolveUri, jwks, clock, onKeySet && ((event) => callSink(onKeySet, { ...event, issuer: label })), telemetry && { telemetry, issuer: label });
}

function untrusted(): InvalidTokenError {
  return new InvalidTokenError('ERR_TOKEN_CLAIM', 'the iss claim is not accepted', { claim: 'iss' });
}

/** An issuer a pattern trusts: its context, and until when the `isTrusted` answer holds. */
interface TrustedIssuer {
  readonly context: IssuerContext;
  until: number;
  /** Set when a later `isTrusted` answer withdrew the trust: verdicts of its tokens are dropped. */
  withdrawn: boolean;
  checking: boolean;
}

/** The issuers of one pattern entry, created as they are confirmed. */
class PatternIssuers {
  readonly #rules: ResolvedIssuer;
  readonly #onKeySet: KeySetSink;
  readonly #pattern: ResolvedIssuerPattern;
  readonly #clock: () => number;
  readonly #shared: IssuerKeys | undefined;
  readonly #permissions: PermissionSource | undefined;
  readonly #revocation: RevocationSource | undefined;
  readonly #trusted: LRUCache<string, TrustedIssuer>;
  /** Issuers `isTrusted` refused, until when the answer holds. */
  readonly #refused: LRUCache<string, number>;
  readonly #pending = new Map<string, Promise<IssuerContext>>();
  readonly #policy: HookPolicy<boolean>;
  readonly #telemetry: Telemetry | undefined;

  constructor(rules: ResolvedIssuer, clock: () => number, onKeySet: KeySetSink, telemetry: Telemetry | undefined) {
    this.#rules = rules;
    this.#telemetry = telemetry;
    this.#pattern = rules.pattern!;
    this.#clock = clock;
    this.#onKeySet = onKeySet;
    const fixed = rules.keys !== undefined || rules.jwksUri !== undefined;
    this.#shared = fixed ? keysFor(rules, undefined, clock, onKeySet, telemetry) : undefined;
    this.#permissions = createPermissionSource(rules.permissions, rules.permissionLookup, clock, telemetry);
    this.#revocation = rules.isRevoked && new RevocationSource(rules.isRevoked, rules.revocationLookup, clock, telemetry);
    this.#trusted = new LRUCache({ max: this.#pattern.maxIssuers });
    this.#refused = new LRUCache({ max: this.#pattern.trustLookup.maxEntries });
    this.#policy = {
      timeoutMs: this.#pattern.trustLookup.timeoutMs,
      accept: (answer) => {
        if (typeof answer !== 'boolean') throw new TypeError('isTrusted must answer true or false');
        return answer;
      },
      unavailable: (cause) => new UnavailableError('ERR_ISSUER_LOOKUP_UNAVAILABLE', 'the issuer trust lookup failed', { cause }),
    };
  }

  /** The permission and revocation sources its issuers share. */
  get sources(): { readonly permissions: PermissionSource | undefined; readonly revocation: RevocationSource | undefined } {
    return { permissions: this.#permissions, revocation: this.#revocation };
  }

  /** The placeholders' values when `issuer` has the pattern's shape. */
  match(issuer: string): Record<string, string> | undefined {
    const found = this.#pattern.matcher.exec(issuer);
    if (found === null) return undefined;
    return Object.fromEntries(this.#pattern.names.map((name, index) => [name, found[index + 1]!]));
  }

  /**
   * The context of a trusted `issuer` of this pattern. A known issuer whose answer is older than the
   * ttl keeps it while `isTrusted` is asked again in the background. An issuer seen for the first time
   * must pass `precheck` (every rule that needs no key) before `isTrusted` is asked.
   */
  contextFor(issuer: string, values: Record<string, string>, precheck?: (rules: ResolvedIssuer) => void): IssuerContext | Promise<IssuerContext> {
    const now = this.#clock();
    const known = this.#trusted.get(issuer);
    if (known !== undefined && !known.withdrawn) {
      if (now >= known.until) this.#recheck(issuer, known);
      return known.context;
    }
    const refusedUntil = this.#refused.get(issuer);
    if (refusedUntil !== undefined && now < refusedUntil) throw untrusted();
    precheck?.(Object.freeze({ ...this.#rules, issuers: Object.freeze([issuer]) }));
    if (this.#pattern.isTrusted === undefined) return this.#trust(issuer, undefined).context;
    const pending = this.#pending.get(issuer);
    if (pending !== undefined) return pending;
    // Concurrent first tokens of distinct issuers each wait on a lookup: bounded like the answers.
    if (this.#pending.size >= this.#pattern.trustLookup.maxEntries) {
      throw new UnavailableError('ERR_ISSUER_LOOKUP_UNAVAILABLE', 'too many issuer trust lookups at once');
    }
    const answer = callHook(() => this.#pattern.isTrusted!(issuer, Object.freeze(values)), this.#policy);
    if (!(answer instanceof Promise)) return this.#settle(issuer, answer, undefined);
    const settled = answer.then((trusted) => this.#settle(issuer, trusted, undefined)).finally(() => this.#pending.delete(issuer));
    this.#pending.set(issuer, settled);
    return settled;
  }

  /** Every issuer's keys held now, the shared set counted once. */
  keySets(): IssuerKeys[] {
    if (this.#shared !== undefined) return [this.#shared];
    return [...this.#trusted.values()].map((trusted) => trusted.context.keys);
  }

  /** Each key set held, with the issuer it serves (the pattern, for one shared set). */
  health(): IssuerHealth[] {
    if (this.#shared !== undefined) return [{ issuer: this.#pattern.source, ...this.#shared.health() }];
    return [...this.#trusted.entries()].map(([issuer, trusted]) => ({ issuer, ...trusted.context.keys.health() }));
  }

  get size(): { issuers: number; refused: number } {
    return { issuers: this.#trusted.size, refused: this.#refused.size };
  }

  #settle(issuer: string, trusted: boolean, known: TrustedIssuer | undefined): IssuerContext {
    if (!trusted) {
      if (known !== undefined) {
        known.withdrawn = true;
        this.#trusted.delete(issuer);
      }
      this.#refused.set(issuer, this.#answerUntil());
      throw untrusted();
    }
    this.#refused.delete(issuer);
    return this.#trust(issuer, known).context;
  }

  #trust(issuer: string, known: TrustedIssuer | undefined): TrustedIssuer {
    const until = this.#answerUntil();
    if (known !== undefined && !known.withdrawn) {
      known.until = until;
      this.#trusted.set(issuer, known);
      return known;
    }
    const keys = this.#shared ?? keysFor(this.#rules, issuer, this.#clock, this.#onKeySet, this.#telemetry);
    const entry: TrustedIssuer = { context: undefined!, until, withdrawn: false, checking: false };
    // Verdicts of this issuer's tokens stand while its trust does: asked again (in the background,
    // from a cache hit) once the answer is older than the ttl, and dropped when it is withdrawn.
    const guarded: IssuerKeys = {
      candidates: (alg, kid) => keys.candidates(alg, kid),
      isCurrent: (id) => {
        if (!entry.withdrawn && this.#clock() >= entry.until) this.#recheck(issuer, entry);
        return !entry.withdrawn && keys.isCurrent(id);
      },
      refresh: () => keys.refresh(),
      health: () => keys.health(),
      get fetchCount() {
        return keys.fetchCount;
      },
    };
    (entry as { context: IssuerContext }).context = Object.freeze({
      rules: Object.freeze({ ...this.#rules, issuers: Object.freeze([issuer]) }),
      keys: guarded,
      permissions: this.#permissions,
      revocation: this.#revocation,
      introspector: undefined,
    });
    this.#trusted.set(issuer, entry);
    return entry;
  }

  #recheck(issuer: string, entry: TrustedIssuer): void {
    if (this.#pattern.isTrusted === undefined) {
      entry.until = this.#answerUntil(); // the pattern alone trusts: nothing to ask
      return;
    }
    if (entry.checking) return;
    entry.checking = true;
    Promise.resolve()
      .then(() => callHook(() => this.#pattern.isTrusted!(issuer, Object.freeze(this.match(issuer) ?? {})), this.#policy))
      .then((trusted) => {
        if (trusted) entry.until = this.#answerUntil();
        else this.#settle(issuer, false, entry); // withdraws the trust (and throws its refusal, dropped here)
      })
      // An outage keeps the last answer; the next cache hit asks again.
      .catch(() => undefined)
      .finally(() => {
        entry.checking = false;
      });
  }

  /** Until when an answer of `isTrusted` given now holds. */
  #answerUntil(): number {
    return this.#clock() + this.#pattern.trustLookup.ttl * 1000;
  }
}

/** Every issuer entry of an engine, fixed and patterned. */
/** What changed elsewhere (another instance heard it): a revoked token's `jti`, a client's standing. */
export interface CacheChange {
  readonly jti?: string | undefined;
  readonly clientId?: string | undefined;
}

export class IssuerRegistry {
  readonly #exact = new Map<string, IssuerContext>();
  readonly #contexts: readonly IssuerContext[];
  readonly #patterns: readonly PatternIssuers[];
  /** The only context when there is one fixed entry and no pattern: its claim rules refuse every other `iss`. */
  readonly single: IssuerContext | undefined;
  /** The entry whose endpoint introspects opaque tokens (at most one). */
  readonly introspecting: IssuerContext | undefined;
  /** The issuers known at start-up. */
  readonly fixed: readonly string[];

  constructor(options: ResolvedOptions, clock: () => number, telemetry?: Telemetry) {
    const exact = options.issuers.filter((rules) => rules.pattern === undefined);
    this.#contexts = exact.map((rules) => {
      const context: IssuerContext = {
        rules,
        keys: keysFor(rules, rules.issuers.length === 1 ? rules.issuers[0] : undefined, clock, options.onKeySet, telemetry),
        permissions: createPermissionSource(rules.permissions, rules.permissionLookup, clock, telemetry),
        revocation: rules.isRevoked && new RevocationSource(rules.isRevoked, rules.revocationLookup, clock, telemetry),
        introspector: rules.introspection && new Introspector(rules.introspection, clock, telemetry),
      };
      for (const issuer of rules.issuers) this.#exact.set(issuer, context);
      return context;
    });
    this.#patterns = options.issuers.filter((rules) => rules.pattern !== undefined).map((rules) => new PatternIssuers(rules, clock, options.onKeySet, telemetry));
    this.fixed = [...this.#exact.keys()];
    this.single = this.#contexts.length === 1 && this.#patterns.length === 0 ? this.#contexts[0] : undefined;
    this.introspecting = this.#contexts.find((context) => context.introspector !== undefined);
  }

  /**
   * The context for a token's unverified `iss`: a fixed issuer, or one a pattern trusts (asking
   * `isTrusted` when the answer is not known). Throws a 401 for an issuer no entry trusts, a 503
   * when the trust lookup fails.
   */
  contextFor(iss: unknown, precheck?: (rules: ResolvedIssuer) => void): IssuerContext | Promise<IssuerContext> {
    if (typeof iss === 'string') {
      const known = this.#exact.get(iss);
      if (known !== undefined) return known;
      for (const pattern of this.#patterns) {
        const values = pattern.match(iss);
        if (values !== undefined) return pattern.contextFor(iss, values, precheck);
      }
    }
    checkIssuer(iss, this.fixed); // throws: missing, not a string, or not trusted
    throw untrusted();
  }

  /** Every key set held now (fixed issuers and the trusted issuers of patterns). */
  keySets(): IssuerKeys[] {
    return [...this.#contexts.map((context) => context.keys), ...this.#patterns.flatMap((pattern) => pattern.keySets())];
  }

  /** Each key set's readiness, with the issuer(s) it serves. */
  health(): IssuerHealth[] {
    return [...this.#contexts.map((context) => ({ issuer: context.rules.issuers.join(', '), ...context.keys.health() })), ...this.#patterns.flatMap((pattern) => pattern.health())];
  }

  /** Every context with an introspector or permissions, for counters. */
  get contexts(): readonly IssuerContext[] {
    return this.#contexts;
  }

  /** Drops cached revocation answers of `jti` and permissions of `clientId`, on every entry; all when neither is given. */
  forget(change: CacheChange): void {
    const all = change.jti === undefined && change.clientId === undefined;
    const sources = [...this.#contexts, ...this.#patterns.map((pattern) => pattern.sources)];
    for (const { permissions, revocation } of sources) {
      if (all || change.jti !== undefined) revocation?.forget(change.jti);
      if (all || change.clientId !== undefined) permissions?.forget(change.clientId);
    }
  }

  /** Issuers held from patterns, and refusals remembered. */
  patternStats(): { issuers: number; refused: number } {
    let issuers = 0;
    let refused = 0;
    for (const pattern of this.#patterns) {
      issuers += pattern.size.issuers;
      refused += pattern.size.refused;
    }
    return { issuers, refused };
  }
}
