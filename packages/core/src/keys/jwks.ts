/**
 * The issuer's signing keys (RFC 7517 JWK Set), cached whole.
 *
 * Why not `jwks-rsa` or jose's `createRemoteJWKSet` as they are: neither keeps serving the last
 * known good set when a refresh fails (jose rethrows once its cache is stale, and retries on every
 * request while the issuer is down), neither tells "the issuer is down" (503) apart from "no such
 * key" (401), and neither says *which* key verified a token, which the verified-token cache needs
 * to drop a token's verdict when its key leaves the set. Keys are imported once per fetch with
 * `node:crypto` (see signature.ts for why).
 *
 * Rules kept here: the whole set is fetched and cached; concurrent misses share one fetch; an
 * unknown `kid` triggers at most one refetch per cooldown, as does a failure; a stale set is
 * refreshed in the background while it keeps serving; unusable keys (`use` other than `sig`,
 * private or symmetric material, RSA under 2048 bits) are never loaded.
 */
import { InvalidTokenError, RETRY_AFTER_SECONDS, UnavailableError } from '../http/errors';
import { fetchJsonObject, shownUrl } from './json-endpoint';
import { shown } from '../token/mismatch';
import { platform } from './platform';
import { publicKeyFromJwk, type VerificationKey } from '../token/signature';
import { traced, type CallAbout, type Telemetry } from '../hooks/telemetry';
import type { KeyObject } from 'node:crypto';
import { fail, number, object, only, timeout } from '../pipeline/option-checks';

/** A key chosen for a token: `id` identifies the exact key material (see {@link KeySource.isCurrent}). */
export interface CandidateKey {
  readonly id: string;
  readonly key: VerificationKey;
}

/** What the verifier asks of a key store; implemented by {@link RemoteKeySet} and {@link PinnedKeySet}. */
export interface KeySource {
  /** Keys that may have signed a token with this header, best first; an array when known at once. */
  candidates(alg: string, kid: string | undefined): readonly CandidateKey[] | Promise<readonly CandidateKey[]>;
  /** Whether the key with this id is still in the set. */
  isCurrent(id: string): boolean;
}

/** An issuer's keys as the engine holds them: a source that can be refreshed and counts its fetches. */
export interface IssuerKeys extends KeySource {
  /** Fetches the set now; rejects when the fetch fails (the old set stays). */
  refresh(): Promise<void>;
  /** How many fetches (JWKS and discovery) were started. */
  readonly fetchCount: number;
  /** What a health check should know of the set now. */
  health(): KeySetHealth;
}

/**
 * A key set's readiness: `pinned` (given in the options), `loading` (never fetched yet), `fresh`,
 * `stale` (the last refresh failed: the last good set still serves), `expired` (stale for longer than
 * `jwks.maxStaleMs` past due: requests needing keys get 503) or `unavailable` (never fetched: failing).
 */
export interface KeySetHealth {
  readonly state: 'pinned' | 'loading' | 'fresh' | 'stale' | 'expired' | 'unavailable';
  readonly jwksUri: string | undefined;
  /** Usable keys held. */
  readonly keys: number;
  /** When the set being served was fetched. */
  readonly fetchedAt: Date | undefined;
  readonly ageMs: number | undefined;
  /** Why the last fetch failed, when it did (cleared by a successful one). */
  readonly lastError: string | undefined;
  readonly lastErrorAt: Date | undefined;
}

/** A change an operator should hear of: the last good set serves while the issuer is down, is past its bound, or the issuer is back. */
export interface KeySetEvent {
  /**
   * `unavailable`: no set could be fetched yet (requests that need it get 503); `stale`: a fetch
   * failed, the last good set serves; `expired`: past `jwks.maxStaleMs`, 503; `recovered`: fetched
   * again after any of these. Each is told once per outage.
   */
  readonly state: 'unavailable' | 'stale' | 'expired' | 'recovered';
  /** The issuer whose set it is (for an issuer pattern with one shared key set: the pattern). */
  readonly issuer: string;
  readonly jwksUri: string | undefined;
  /** When the set being served was fetched. */
  readonly fetchedAt: Date | undefined;
  /** Why the last fetch failed (`unavailable`, `stale`, `expired`). */
  readonly error?: string;
}

/** The JWK members selection looks at. */
interface KeyDescription {
  readonly kty: string;
  readonly crv?: string;
  readonly alg?: string;
  readonly kid?: string;
}

interface LoadedKey {
  readonly id: string;
  readonly jwk: KeyDescription;
  readonly key: VerificationKey;
  /** A pinned PEM or `KeyObject` has no `kid`: it is a candidate whatever `kid` a token names. */
  readonly anyKid?: boolean;
}

/** A key given in the options (`keys`), validated and imported at construction. */
export type PinnedKey = LoadedKey;

/** JWK members that only private or symmetric keys have (RFC 7518 §6). */
export const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const MAX_CANDIDATES = 4;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/**
 * The first refetch for an unknown kid may come this soon after the last fetch, so that a key
 * published with no overlap is picked up within about a second. Refetches that bring nothing new
 * double the interval (1, 2, 4, 8 … s) up to `cooldownMs`: a 10 s flood of random kids costs the
 * issuer at most 4 fetches, and a steady one one fetch per cooldown, as before.
 */
const UNKNOWN_KID_INTERVAL_MS = 1000;
/** How often tokens of retired kids may refetch the set: a live key a stale answer dropped is back within this. */
const RETIRED_REFETCH_MS = 5000;
/** Retired kids remembered per key set: rotations keep a few at most; a set that churns more is no rotation. */
const MAX_RETIRED = 32;

/** Key type and curve an algorithm needs (RFC 7518 §3, RFC 8037 §3.1). */
export function keyTypeFor(alg: string): { kty: string; crv?: readonly string[] } | undefined {
  if (/^(RS|PS)(256|384|512)$/.test(alg)) return { kty: 'RSA' };
  switch (alg) {
    case 'ES256': return { kty: 'EC', crv: ['P-256'] };
    case 'ES384': return { kty: 'EC', crv: ['P-384'] };
    case 'ES512': return { kty: 'EC', crv: ['P-521'] };
    case 'EdDSA': return { kty: 'OKP', crv: ['Ed25519', 'Ed448'] };
    case 'Ed25519': return { kty: 'OKP', crv: ['Ed25519'] };
    default: return undefined;
  }
}

function rsaModulusBits(n: string): number {
  const bytes = platform().decodeBase64url(n);
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  if (start === bytes.length) return 0;
  return (bytes.length - start) * 8 - Math.clz32(bytes[start]!) + 24;
}

/** Why a JWK is not loaded, or `undefined` when it is usable for verification. */
export function unusableReason(jwk: Record<string, unknown>): string | undefined {
  if (typeof jwk.kty !== 'string') return 'no kty';
  if (jwk.kty !== 'RSA' && jwk.kty !== 'EC' && jwk.kty !== 'OKP') return `kty ${jwk.kty} is not an asymmetric signing key type`;
  if (jwk.use !== undefined && jwk.use !== 'sig') return 'use is not sig';
  if (jwk.key_ops !== undefined && (!Array.isArray(jwk.key_ops) || !jwk.key_ops.includes('verify'))) return 'key_ops lacks verify';
  if (PRIVATE_MEMBERS.some((member) => jwk[member] !== undefined)) return 'it holds private key material';
  if (jwk.kid !== undefined && typeof jwk.kid !== 'string') return 'kid is not a string';
  // Key material is base64url (RFC 7518 §6): checked here, so that no platform's decoder decides.
  for (const member of ['n', 'e', 'x', 'y'] as const) {
    if (typeof jwk[member] === 'string' && !BASE64URL.test(jwk[member])) return `${member} is not base64url`;
  }
  if (jwk.kty === 'RSA') {
    if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') return 'RSA key without n and e';
    const bits = rsaModulusBits(jwk.n);
    if (bits < 2048) return 'RSA modulus shorter than 2048 bits';
    // Verification cost grows with the key: no issuer needs more, and a proof key must not cost more.
    if (bits > 8192) return 'RSA modulus longer than 8192 bits';
    if (platform().decodeBase64url(jwk.e).length > 4) return 'RSA exponent longer than 32 bits';
  } else if (typeof jwk.crv !== 'string' || typeof jwk.x !== 'string' || (jwk.kty === 'EC' && typeof jwk.y !== 'string')) {
    return `${jwk.kty} key without crv and coordinates`;
  }
  return undefined;
}

/** The public key material, which identifies a key whatever its `kid`. */
function keyId(jwk: Record<string, unknown>): string {
  return jwk.kty === 'RSA' ? `RSA:${jwk.n}:${jwk.e}` : `${jwk.kty}:${jwk.crv}:${jwk.x}:${jwk.y ?? ''}`;
}

/** The keys of `keys` that may have signed a token with this `alg` and `kid`, at most {@link MAX_CANDIDATES}. */
/** The refusal of a token no key of `keys` matches (its `alg` passed the allow-list), naming for the operator what it asked and what the set holds. */
function noMatchingKey(keys: readonly LoadedKey[], alg: string, kid: string | undefined): InvalidTokenError {
  const kids = [...new Set(keys.map((key) => key.jwk.kid).filter((id): id is string => id !== undefined))];
  const held = kids.length === 0 ? `${keys.length} key(s) without kid` : `${kids.slice(0, 8).map(shown).join(', ')}${kids.length > 8 ? `, ... (${kids.length} in all)` : ''}`;
  const asked = kid === undefined ? `no key for ${alg} (the token names no kid)` : `no key for kid ${shown(kid)} (${alg})`;
  return new InvalidTokenError('ERR_TOKEN_KEY_NOT_FOUND', 'no key of the issuer matches the token', {
    detail: `${asked} in the issuer's key set, which holds ${held}`,
  });
}

/** 401 for a token of a key the issuer's set held and dropped: a rotation, not a forged kid. */
function retiredKey(kid: string, alg: string, retiredAt: number): InvalidTokenError {
  return new InvalidTokenError('ERR_TOKEN_KEY_NOT_FOUND', 'no key of the issuer matches the token', {
    detail: `kid ${shown(kid)} (${alg}) is retired: the issuer's key set dropped it at ${new Date(retiredAt).toISOString()}, so its tokens are refused until they expire`,
  });
}

/**
 * {@link selectKeys} over one list of keys, remembered per (alg, kid): a new token costs two map
 * lookups, not a scan and an array. Only selections for a kid some key names exactly (or for no kid)
 * are kept, so a flood of random kids adds nothing, even with keys that match any kid.
 */
class KeySelection {
  readonly #found = new Map<string, Map<string | undefined, readonly LoadedKey[]>>();

  constructor(readonly keys: readonly LoadedKey[]) {}

  of(alg: string, kid: string | undefined): readonly LoadedKey[] {
    const byKid = this.#found.get(alg);
    const known = byKid?.get(kid);
    if (known !== undefined) return known;
    const found = selectKeys(this.keys, alg, kid);
    if (found.length > 0 && (kid === undefined || found.some((key) => key.jwk.kid === kid))) {
      if (byKid === undefined) this.#found.set(alg, new Map([[kid, Object.freeze(found)]]));
      else byKid.set(kid, Object.freeze(found));
    }
    return found;
  }
}

function selectKeys(keys: readonly LoadedKey[], alg: string, kid: string | undefined): LoadedKey[] {
  const type = keyTypeFor(alg);
  if (!type) return [];
  const found: LoadedKey[] = [];
  for (const loaded of keys) {
    const { jwk } = loaded;
    if (jwk.kty !== type.kty) continue;
    if (type.crv && !type.crv.includes(jwk.crv!)) continue;
    if (jwk.alg !== undefined && jwk.alg !== alg && !(alg === 'Ed25519' && jwk.alg === 'EdDSA')) continue;
    if (kid !== undefined && jwk.kid !== kid && !loaded.anyKid) continue;
    found.push(loaded);
    if (found.length === MAX_CANDIDATES) break;
  }
  return found;
}

/** A JWK as a loaded key, or why it is not usable. */
function loadJwk(jwk: Record<string, unknown>, anyKid: boolean): LoadedKey | string {
  const reason = unusableReason(jwk);
  if (reason !== undefined) return reason;
  const { kty, crv, alg, kid } = jwk as { kty: string; crv?: string; alg?: string; kid?: string };
  try {
    return { id: keyId(jwk), jwk: { kty, crv, alg, kid }, key: publicKeyFromJwk(jwk), ...(anyKid && { anyKid }) };
  } catch {
    return 'it is not a valid public key';
  }
}

/** A PEM public key (or certificate) or a public `KeyObject`, as a key without `kid` (Node only). */
function loadKeyMaterial(value: unknown, index: number): LoadedKey {
  const { importKeyMaterial } = platform();
  if (importKeyMaterial === undefined) throw new Error(`[${index}]: PEM and KeyObject keys need node:crypto, which this runtime does not offer; pin a JWK Set`);
  let material: { jwk: Record<string, unknown>; key: VerificationKey };
  try {
    material = importKeyMaterial(value);
  } catch (error) {
    throw new Error(`[${index}] ${(error as Error).message}`);
  }
  const loaded = loadJwk(material.jwk, true);
  if (typeof loaded === 'string') throw new Error(`[${index}] is not usable: ${loaded}`);
  return { ...loaded, key: material.key };
}

/**
 * The `keys` option as loaded keys: a JWK Set, a PEM string, a public `KeyObject`, or a list of
 * PEMs and `KeyObject`s. Every key must be usable (the same rules as for a fetched set).
 * @throws Error saying which key is wrong and why.
 */
export function loadPinnedKeys(value: unknown): PinnedKey[] {
  let keys: LoadedKey[];
  const isKeyObject = platform().isKeyObject ?? (() => false);
  if (typeof value === 'string' || isKeyObject(value)) keys = [loadKeyMaterial(value, 0)];
  else if (Array.isArray(value)) keys = value.map((item: unknown, index) => {
    if (typeof item !== 'string' && !isKeyObject(item)) throw new Error(`[${index}] must be a PEM string or a KeyObject`);
    return loadKeyMaterial(item, index);
  });
  else if (typeof value === 'object' && value !== null && Array.isArray((value as { keys?: unknown }).keys)) {
    keys = ((value as { keys: unknown[] }).keys).map((member, index) => {
      if (typeof member !== 'object' || member === null || Array.isArray(member)) throw new Error(`.keys[${index}] is not a JWK`);
      const loaded = loadJwk(member as Record<string, unknown>, false);
      if (typeof loaded === 'string') throw new Error(`.keys[${index}] is not usable: ${loaded}`);
      return loaded;
    });
  } else throw new Error('must be a JWK Set ({ keys: [...] }), a PEM string, a public KeyObject, or an array of PEMs and KeyObjects');
  if (keys.length === 0) throw new Error('must hold at least one key');
  // Each is a candidate for every token: more than are ever tried for one token could never all verify.
  if (keys.filter((key) => key.anyKid).length > MAX_CANDIDATES) {
    throw new Error(`holds more than ${MAX_CANDIDATES} keys without kid; give them kids in a JWK Set`);
  }
  return keys;
}

/** Whether one of `keys` can verify tokens signed with `alg`. */
export function fitsAlgorithm(keys: readonly PinnedKey[], alg: string): boolean {
  return selectKeys(keys, alg, undefined).length > 0;
}

/**
 * Keys given in the options (jose's `createLocalJWKSet`, express-oauth2-jwt-bearer's `publicKey`):
 * never fetched, never refreshed. An unknown `kid` is a 401: there is nothing to refetch.
 */
export class PinnedKeySet implements IssuerKeys {
  readonly fetchCount = 0;
  readonly #keys: readonly PinnedKey[];
  readonly #ids: ReadonlySet<string>;
  readonly #selection: KeySelection;

  constructor(keys: readonly PinnedKey[]) {
    this.#keys = keys;
    this.#ids = new Set(keys.map((key) => key.id));
    this.#selection = new KeySelection(keys);
  }

  candidates(alg: string, kid: string | undefined): readonly CandidateKey[] {
    const found = this.#selection.of(alg, kid);
    if (found.length === 0) throw noMatchingKey(this.#keys, alg, kid);
    return found;
  }

  isCurrent(id: string): boolean {
    return this.#ids.has(id);
  }

  refresh(): Promise<void> {
    return Promise.resolve();
  }

  health(): KeySetHealth {
    return { state: 'pinned', jwksUri: undefined, keys: this.#keys.length, fetchedAt: undefined, ageMs: undefined, lastError: undefined, lastErrorAt: undefined };
  }
}

/** A remote JWK Set with the caching policy described at the top of this file. */
export class RemoteKeySet implements IssuerKeys {
  readonly #resolveUri: () => Promise<string>;
  readonly #options: Required<JwksOptions>;
  #uri: string | undefined;
  #keys: readonly LoadedKey[] = [];
  #selection = new KeySelection([]);
  #ids: ReadonlySet<string> = new Set();
  /**
   * Kids a refetch dropped from the set, and when (the newest {@link MAX_RETIRED}): clients go on
   * sending tokens of a retired key for as long as those live, and such a token is no sign of a new
   * key. Refetching for each would back the unknown-kid interval off, and delay the next rotation
   * by seconds (LemonLDAP::NG and Glewlwyd, issue 26).
   */
  readonly #retired = new Map<string, number>();
  #loadedAt = -Infinity;
  #attemptedAt = -Infinity;
  #lastFailure: Error | undefined;
  /** How long after a failed fetch the next may come: the 503's Retry-After, doubling while failures go on, up to the cooldown. */
  #failureInterval = RETRY_AFTER_SECONDS * 1000;
  #lastFailureAt = -Infinity;
  #pending: Promise<void> | undefined;
  /** The last change reported: serving stale, or past the bound (cleared by a recovery). */
  #reported: 'unavailable' | 'stale' | 'expired' | undefined;
  readonly #report: ((event: Omit<KeySetEvent, 'issuer'>) => void) | undefined;
  /** The least time between two refetches for unknown kids; doubles while they bring no new key. */
  #kidInterval = UNKNOWN_KID_INTERVAL_MS;
  /** How many JWKS (and discovery) fetches were started; exposed for tests and metrics. */
  fetchCount = 0;

  readonly #clock: () => number;
  readonly #telemetry: Telemetry | undefined;
  readonly #about: CallAbout | undefined;

  /**
   * @param resolveUri gives the JWKS URL (a constant or discovery); called until it succeeds.
   * @param clock epoch milliseconds, for the set's age and the refetch cooldown.
   * @param report hears of changes an operator should know of (see {@link KeySetEvent}); must not throw.
   * @param telemetry traces and counts each fetch, with the issuer as an attribute (telemetry.ts).
   */
  constructor(
    resolveUri: () => Promise<string>,
    options: Required<JwksOptions>,
    clock: () => number = Date.now,
    report?: (event: Omit<KeySetEvent, 'issuer'>) => void,
    telemetry?: { readonly telemetry: Telemetry; readonly issuer: string },
  ) {
    this.#resolveUri = resolveUri;
    this.#options = options;
    this.#clock = clock;
    this.#report = report;
    this.#telemetry = telemetry?.telemetry;
    this.#about = telemetry && { issuer: telemetry.issuer };
  }

  health(): KeySetHealth {
    const now = this.#clock();
    const loaded = this.#keys.length > 0;
    // A probe may be the only caller of an idle instance (or one whose warm start failed): a set that is
    // missing, failing or due is fetched now, in the background, within the cooldown.
    if ((!loaded || this.#lastFailure || now - this.#loadedAt > this.#options.maxAgeMs) && this.#mayFetch(now)) this.#refresh().catch(() => undefined);
    // Past the bound counts only once a refresh failed: an idle set past it is merely due.
    const failing = this.#lastFailure !== undefined;
    const state = !loaded ? (failing ? 'unavailable' : 'loading') : failing ? (this.#expired(now) ? 'expired' : 'stale') : 'fresh';
    return {
      state,
      jwksUri: this.#uri && shownUrl(this.#uri),
      keys: this.#keys.length,
      fetchedAt: loaded ? new Date(this.#loadedAt) : undefined,
      ageMs: loaded ? now - this.#loadedAt : undefined,
      lastError: this.#lastFailure?.message,
      lastErrorAt: this.#lastFailure ? new Date(this.#lastFailureAt) : undefined,
    };
  }

  /** Past the bound of last-known-good: older than `maxAgeMs + maxStaleMs`. */
  #expired(now: number): boolean {
    return this.#keys.length > 0 && now - this.#loadedAt > this.#options.maxAgeMs + this.#options.maxStaleMs;
  }

  #tell(state: KeySetEvent['state']): void {
    if (state !== 'recovered') this.#reported = state;
    const fetchedAt = this.#keys.length > 0 ? new Date(this.#loadedAt) : undefined;
    this.#report?.({ state, jwksUri: this.#uri && shownUrl(this.#uri), fetchedAt, ...(state !== 'recovered' && this.#lastFailure && { error: this.#lastFailure.message }) });
  }

  /**
   * Whether the key with this id is still in the set. Asked on every verdict-cache hit, so a stale
   * set is refreshed (in the background) from cache hits too, and the verdicts of a key the issuer
   * removed are dropped once the refreshed set lacks it.
   */
  isCurrent(id: string): boolean {
    const now = this.#clock();
    if (now - this.#loadedAt > this.#options.maxAgeMs && this.#mayFetch(now)) this.#refresh().catch(() => undefined);
    // Past the bound, a cached verdict is judged anew (and answered 503 while the set cannot be fetched).
    if (this.#expired(now)) return false;
    return this.#ids.has(id);
  }

  candidates(alg: string, kid: string | undefined): readonly CandidateKey[] | Promise<readonly CandidateKey[]> {
    const now = this.#clock();
    if (this.#keys.length > 0 && now - this.#loadedAt <= this.#options.maxAgeMs) {
      const found = this.#select(alg, kid);
      if (found.length > 0) return found;
    }
    return this.#candidatesSlow(alg, kid, now);
  }

  /** Loading, stale sets and unknown kids: the paths that may fetch. */
  async #candidatesSlow(alg: string, kid: string | undefined, now: number): Promise<readonly CandidateKey[]> {
    if (this.#keys.length === 0) {
      if (this.#mayFetch(now)) await this.#refresh().catch(() => undefined);
      else if (this.#pending) await this.#pending.catch(() => undefined);
      if (this.#keys.length === 0) throw this.#unavailable();
    } else if (this.#expired(now)) {
      // Past the bound of last-known-good: only a fresh set will do.
      if (this.#mayFetch(now)) await this.#refresh().catch(() => undefined);
      else if (this.#pending) await this.#pending.catch(() => undefined);
      if (this.#expired(this.#clock())) {
        if (this.#reported !== 'expired') this.#tell('expired');
        throw this.#unavailable();
      }
    } else if (now - this.#loadedAt > this.#options.maxAgeMs && this.#mayFetch(now)) {
      // Stale: refresh in the background, keep serving the last known good set meanwhile.
      this.#refresh().catch(() => undefined);
    }

    let found = this.#select(alg, kid);
    const retiredAt = kid === undefined ? undefined : this.#retired.get(kid);
    if (found.length === 0 && retiredAt !== undefined) {
      // A retired key's token: refused at once. Refetched at most every RETIRED_REFETCH_MS (a stale
      // replica that dropped a live key, an issuer that put one back), and never counted against
      // the unknown-kid interval, so a stream of retired tokens costs the issuer one fetch per 5 s.
      if (this.#mayRefetchRetired(this.#clock())) await this.#refresh().catch(() => undefined);
      else if (this.#pending) await this.#pending.catch(() => undefined);
      found = this.#select(alg, kid);
      if (found.length === 0) {
        if (this.#lastFailure) throw this.#unavailable();
        throw retiredKey(kid!, alg, retiredAt);
      }
    }
    if (found.length === 0) {
      // An unknown kid may mean the issuer rotated (without publishing the next key first): refetch
      // after a short interval that doubles while refetches bring no new key (a flood of random kids),
      // up to the cooldown, and starts short again once one does. After a failure, the cooldown.
      if (this.#mayRefetchForKid(this.#clock())) {
        const known = this.#ids;
        await this.#refresh().catch(() => undefined);
        const added = [...this.#ids].some((id) => !known.has(id));
        this.#kidInterval = added ? UNKNOWN_KID_INTERVAL_MS : Math.min(this.#kidInterval * 2, this.#options.cooldownMs);
      } else if (this.#pending) await this.#pending.catch(() => undefined);
      found = this.#select(alg, kid);
      if (found.length === 0) {
        // We cannot tell "no such key" from "the issuer rotated and we could not fetch".
        if (this.#lastFailure) throw this.#unavailable();
        throw noMatchingKey(this.#keys, alg, kid);
      }
    }
    return found;
  }

  /** Fetches the set now (single flight). Rejects when the fetch fails; the old set stays. */
  refresh(): Promise<void> {
    return this.#refresh();
  }

  #mayFetch(now: number): boolean {
    return this.#idleFor(this.#retryInterval(), now);
  }

  /** No fetch under way, and the last attempt at least `interval` ago. */
  #idleFor(interval: number, now: number): boolean {
    return this.#pending === undefined && now - this.#attemptedAt >= interval;
  }

  /** After a failure, the back-off its 503s announced; otherwise the cooldown. */
  #retryInterval(): number {
    return this.#lastFailure ? Math.min(this.#failureInterval, this.#options.cooldownMs) : this.#options.cooldownMs;
  }

  #mayRefetchRetired(now: number): boolean {
    return this.#idleFor(this.#lastFailure ? this.#retryInterval() : Math.min(RETIRED_REFETCH_MS, this.#options.cooldownMs), now);
  }

  #mayRefetchForKid(now: number): boolean {
    return this.#idleFor(this.#lastFailure ? this.#retryInterval() : Math.min(this.#kidInterval, this.#options.cooldownMs), now);
  }

  #unavailable(): UnavailableError {
    return new UnavailableError('ERR_KEYS_UNAVAILABLE', "the issuer's signing keys could not be obtained", { cause: this.#lastFailure });
  }

  #select(alg: string, kid: string | undefined): readonly LoadedKey[] {
    return this.#selection.of(alg, kid);
  }

  #refresh(): Promise<void> {
    if (this.#pending) return this.#pending;
    this.#attemptedAt = this.#clock();
    this.#pending = traced(this.#telemetry, 'keySetFetch', () => this.#load(), this.#about)
      .then(
        () => {
          this.#lastFailure = undefined;
          this.#failureInterval = RETRY_AFTER_SECONDS * 1000;
          if (this.#reported !== undefined) {
            this.#reported = undefined;
            this.#tell('recovered');
          }
        },
        (error: Error) => {
          // The first retry when the 503s said (Retry-After), then 10, 20 s … up to the cooldown.
          if (this.#lastFailure !== undefined) this.#failureInterval = Math.min(this.#failureInterval * 2, this.#options.cooldownMs);
          this.#lastFailure = error;
          this.#lastFailureAt = this.#clock();
          // The issuer down: the last good set serves, or none does (503); an operator should know, once.
          if (this.#reported === undefined) this.#tell(this.#keys.length > 0 ? 'stale' : 'unavailable');
          throw error;
        },
      )
      .finally(() => {
        this.#pending = undefined;
      });
    return this.#pending;
  }

  /** Notes the kids the new set `keys` dropped as retired, and forgets those it brings back. */
  #retire(keys: readonly LoadedKey[]): void {
    const kept = new Set(keys.map((key) => key.jwk.kid));
    for (const kid of kept) if (kid !== undefined) this.#retired.delete(kid);
    const now = this.#clock();
    for (const { jwk } of this.#keys) {
      if (jwk.kid === undefined || kept.has(jwk.kid)) continue;
      this.#retired.delete(jwk.kid);
      this.#retired.set(jwk.kid, now);
      if (this.#retired.size > MAX_RETIRED) this.#retired.delete(this.#retired.keys().next().value!);
    }
  }

  async #load(): Promise<void> {
    this.fetchCount++;
    this.#uri ??= await this.#resolveUri();
    const document = await fetchJsonObject(this.#uri, this.#options.timeoutMs);
    if (!Array.isArray(document.keys)) throw new Error(`${shownUrl(this.#uri)} is not a JWK Set: no keys array`);
    const previous = new Map(this.#keys.map((loaded) => [loaded.id, loaded]));
    const keys: LoadedKey[] = [];
    for (const member of document.keys as unknown[]) {
      if (typeof member !== 'object' || member === null || Array.isArray(member)) continue;
      const jwk = member as Record<string, unknown>;
      if (unusableReason(jwk) !== undefined) continue;
      const id = keyId(jwk);
      if (keys.some((key) => key.id === id)) continue;
      // Reuse the imported key when the same key comes back; skip material node:crypto rejects.
      const known = previous.get(id);
      if (known) {
        keys.push(known);
        continue;
      }
      // Not a valid public key (bad coordinates, unsupported curve): never loaded.
      const loaded = loadJwk(jwk, false);
      if (typeof loaded !== 'string') keys.push(loaded);
    }
    if (keys.length === 0) throw new Error(`${shownUrl(this.#uri)} holds no usable signing key`);
    this.#retire(keys);
    this.#keys = keys;
    this.#selection = new KeySelection(keys);
    this.#ids = new Set(keys.map((key) => key.id));
    this.#loadedAt = this.#clock();
  }
}

// ── Options: the key set's fetches, pinned keys ─────────────────────────────────────────────

/** Settings of the issuer's key set (JWKS) and discovery document fetches. */
export interface JwksOptions {
  /** Abort a fetch after this many milliseconds. Default 5000. */
  timeoutMs?: number;
  /**
   * After a failure, at most one fetch per this many milliseconds; and the longest wait between
   * refetches for unknown `kid`s, which start 1 s apart and double while they bring no new key.
   * Default 30000.
   */
  cooldownMs?: number;
  /** Refresh the cached set in the background once it is this old, in milliseconds. Default 600000 (10 min). */
  maxAgeMs?: number;
  /**
   * While the issuer cannot be reached, the last good set keeps serving for at most this long past
   * `maxAgeMs`, in milliseconds; after that, requests that need keys (cached verdicts too) get 503
   * until a fetch succeeds. Default 86400000 (24 h): a day-long outage of the issuer rides through,
   * a key it withdrew meanwhile is not trusted forever. `onKeySet` hears of each change.
   */
  maxStaleMs?: number;
}

/** Pinned verification keys: a JWK Set, a PEM public key, a `KeyObject`, or a list of PEMs and `KeyObject`s. */
export type PinnedKeys = { readonly keys: readonly Record<string, unknown>[] } | string | KeyObject | readonly (string | KeyObject)[];

/** An issuer entry's `jwks` option, with defaults applied. */
export function resolveJwks(value: unknown): Required<JwksOptions> {
  const jwks = object('jwks', value);
  only('jwks', jwks, ['timeoutMs', 'cooldownMs', 'maxAgeMs', 'maxStaleMs']);
  return {
    timeoutMs: timeout('jwks.timeoutMs', jwks.timeoutMs, 5000),
    cooldownMs: number('jwks.cooldownMs', jwks.cooldownMs, 30_000, 0),
    maxAgeMs: number('jwks.maxAgeMs', jwks.maxAgeMs, 600_000, 1000),
    maxStaleMs: number('jwks.maxStaleMs', jwks.maxStaleMs, 86_400_000, 0),
  };
}

/** An issuer entry's `keys` option as the keys it pins; `undefined` when it has none. */
export function resolvePinnedKeys(value: unknown): PinnedKey[] | undefined {
  if (value === undefined) return undefined;
  try {
    return loadPinnedKeys(value);
  } catch (error) {
    return fail('keys', (error as Error).message);
  }
}
