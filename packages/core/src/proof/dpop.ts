/**
 * DPoP at the resource server (RFC 9449 §4.3, §7): `Authorization: DPoP <token>` with exactly one
 * `DPoP` proof, a JWT signed with the client's key that names the method and URL, is fresh, is used
 * once (`jti`), hashes the access token (`ath`), and whose key's thumbprint is the token's `cnf.jkt`.
 */
import { LRUCache } from 'lru-cache';
import { ScopeguardError, UnavailableError } from '../http/errors';
import { callHook, type HookPolicy } from '../hooks/bounded-call';
import { parseCompactJws } from '../token/jws';
import { PRIVATE_MEMBERS, keyTypeFor, unusableReason } from '../keys/jwks';
import { nodeOnly } from '../keys/platform';
import { publicKeyFromJwk, verifySignature, type VerificationKey } from '../token/signature';
import { platform } from '../keys/platform';
import { boolean, fail, httpUrl, number, object, only, timeout } from '../pipeline/option-checks';
import { resolveAlgorithms } from '../token/signature';

/** Remembers proof `jti`s until they expire; a shared store (Redis, …) can implement it. */
export interface DpopReplayStore {
  /** Records `key` until `expiresAt` (epoch ms); `false` when it was already recorded (a replay). */
  claim(key: string, expiresAt: number): boolean | Promise<boolean>;
}

/**
 * The default store: in memory, per process, bounded, fair per client, O(1) per claim. Entries are
 * kept in insertion order, which is (nearly) expiry order, so expired ones are dropped from the front
 * as claims arrive, never by scanning. Each client (the proof key's thumbprint, the part of the key
 * before `:`) may hold at most `maxPerClient` live entries: a client that sends more proofs within
 * one window than that is refused (a 503 through the engine), and others are not. A live entry is
 * never forgotten to make room, since a forgotten `jti` could be replayed.
 */
export class MemoryReplayStore implements DpopReplayStore {
  readonly #seen = new Map<string, number>();
  readonly #perClient = new Map<string, number>();
  readonly #max: number;
  readonly #maxPerClient: number;
  readonly #clock: () => number;

  /**
   * @param maxEntries live entries at most (default 100 000).
   * @param clock epoch milliseconds; the engine passes its own, so entries expire on the time proofs are judged by.
   * @param maxPerClient live entries one client may hold (default a tenth of `maxEntries`: about 160
   * proofs a second each, with the default 60 s window).
   */
  constructor(maxEntries = 100_000, clock: () => number = Date.now, maxPerClient = Math.max(1, Math.floor(maxEntries / 10))) {
    this.#max = maxEntries;
    this.#clock = clock;
    this.#maxPerClient = maxPerClient;
  }

  /** Live entries held now. */
  get size(): number {
    return this.#seen.size;
  }

  claim(key: string, expiresAt: number): boolean {
    const now = this.#clock();
    this.#expire(now);
    const until = this.#seen.get(key);
    if (until !== undefined && until > now) return false;
    if (until !== undefined) this.#forget(key);
    const client = key.slice(0, Math.max(0, key.indexOf(':')));
    const held = this.#perClient.get(client) ?? 0;
    if (held >= this.#maxPerClient) throw new RangeError('the DPoP replay store holds as many proofs of this client as it may');
    if (this.#seen.size >= this.#max) throw new RangeError('the DPoP replay store is full');
    this.#seen.set(key, expiresAt);
    this.#perClient.set(client, held + 1);
    return true;
  }

  /** Drops expired entries from the front; stops at the first live one. */
  #expire(now: number): void {
    for (const [key, expiry] of this.#seen) {
      if (expiry > now) return;
      this.#forget(key);
    }
  }

  #forget(key: string): void {
    this.#seen.delete(key);
    const client = key.slice(0, Math.max(0, key.indexOf(':')));
    const held = (this.#perClient.get(client) ?? 1) - 1;
    if (held > 0) this.#perClient.set(client, held);
    else this.#perClient.delete(client);
  }
}

/** DPoP settings. */
export interface DpopOptions {
  /** `allowed`: DPoP and Bearer; `required`: DPoP only. Default `allowed`. */
  mode?: 'allowed' | 'required';
  /** Proof algorithms. Default `['ES256', 'EdDSA', 'RS256', 'PS256']`. */
  algorithms?: readonly string[];
  /** The public origin clients call (`https://api.example.com`), for `htu` behind proxies. Default: from `Host`. */
  publicBaseUrl?: string;
  /** Seconds a proof's `iat` may differ from now. Default 60. */
  iatWindow?: number;
  /** Require server-provided nonces (`use_dpop_nonce`, `DPoP-Nonce`). Default false. */
  nonce?: boolean;
  /**
   * The key nonces are made with (32 bytes at least). Instances behind one load balancer share it, so a
   * nonce one of them issued is accepted by all. Default: random, per engine.
   */
  nonceSecret?: string | Uint8Array;
  /** Where used `jti`s are remembered. Default in memory, per process. */
  replayStore?: DpopReplayStore;
  /**
   * A replay store that has not answered within this many milliseconds has failed (503), as has one
   * that throws, rejects or answers anything but a boolean. Default 1000.
   */
  replayStoreTimeoutMs?: number;
}

/** The request facts a proof is checked against. */
export interface DpopRequest {
  readonly proofs: readonly string[];
  readonly method: string;
  /** The request target: path and query. */
  readonly target: string;
  readonly host: string | undefined;
  readonly secure: boolean;
}

/** 401 `invalid_dpop_proof` / `use_dpop_nonce` (RFC 9449 §7.1, §8). */
export class DpopError extends ScopeguardError {
  /** A fresh nonce to send back as `DPoP-Nonce`. */
  readonly nonce: string | undefined;

  constructor(code: 'ERR_DPOP_PROOF' | 'ERR_DPOP_NONCE', description: string, nonce?: string) {
    super(code, 401, code === 'ERR_DPOP_NONCE' ? 'use_dpop_nonce' : 'invalid_dpop_proof', description);
    this.nonce = nonce;
    this.scheme = 'DPoP';
  }

  protected override extraHeaders(): Record<string, string> {
    return this.nonce === undefined ? {} : { 'DPoP-Nonce': this.nonce };
  }
}

const NONCE_PERIOD_MS = 5 * 60 * 1000;

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key. */
export function jwkThumbprint(jwk: Record<string, unknown>): string {
  const members = jwk.kty === 'RSA' ? ['e', 'kty', 'n'] : jwk.kty === 'EC' ? ['crv', 'kty', 'x', 'y'] : ['crv', 'kty', 'x'];
  const canonical = `{${members.map((name) => `${JSON.stringify(name)}:${JSON.stringify(jwk[name])}`).join(',')}}`;
  return nodeOnly('sha256Base64url', 'DPoP')(canonical);
}

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * RFC 9449 §4.3 step 9 with RFC 3986 §6.2.2–6.2.3: the URL without query and fragment; scheme and host
 * lower case, default port dropped, dot segments removed (the URL parser does these); percent-encoded
 * unreserved characters decoded and other percent-encodings in upper case.
 */
function normalizeHtu(value: string): string | undefined {
  try {
    const url = new URL(value);
    const path = url.pathname.replace(/%[0-9A-Fa-f]{2}/g, (escape) => {
      const char = String.fromCharCode(parseInt(escape.slice(1), 16));
      return UNRESERVED.test(char) ? char : escape.toUpperCase();
    });
    return `${url.protocol}//${url.host}${path}`;
  } catch {
    return undefined;
  }
}

/** Checks DPoP proofs and issues nonces, per engine. */
export class DpopVerifier {
  readonly mode: 'allowed' | 'required';
  readonly algorithms: readonly string[];
  readonly #options: DpopOptions;
  readonly #store: DpopReplayStore;
  readonly #storePolicy: HookPolicy<boolean>;
  readonly #nonceKey: Uint8Array;
  /** Imported proof keys by RFC 7638 thumbprint, which fixes every member the key is made of. */
  readonly #keys = new LRUCache<string, VerificationKey>({ max: 1000 });
  readonly #clock: () => number;

  constructor(options: DpopOptions, clock: () => number = Date.now) {
    this.#options = options;
    this.#clock = clock;
    const secret = options.nonceSecret;
    this.#nonceKey = secret === undefined ? nodeOnly('randomBytes', 'DPoP')(32) : typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
    this.mode = options.mode ?? 'allowed';
    this.algorithms = options.algorithms ?? ['ES256', 'EdDSA', 'RS256', 'PS256'];
    this.#store = options.replayStore ?? new MemoryReplayStore(undefined, clock);
    this.#storePolicy = {
      timeoutMs: options.replayStoreTimeoutMs ?? 1000,
      accept: (value) => {
        if (typeof value !== 'boolean') throw new TypeError('the DPoP replay store must answer true or false');
        return value;
      },
      unavailable: (cause) => new UnavailableError('ERR_REPLAY_STORE_UNAVAILABLE', 'the DPoP proof could not be checked for replay', { cause }),
    };
  }

  /** A nonce valid for this period and the next (RFC 9449 §8). */
  nonce(now = this.#clock()): string {
    return this.#nonceFor(Math.floor(now / NONCE_PERIOD_MS));
  }

  #nonceFor(period: number): string {
    return nodeOnly('hmacSha256Base64url', 'DPoP')(this.#nonceKey, String(period));
  }

  /**
   * Verifies the proof of `request` for `accessToken` bound to `jkt` (the token's `cnf.jkt`).
   * @throws {@link DpopError}.
   */
  async verify(request: DpopRequest | undefined, accessToken: string, jkt: unknown): Promise<void> {
    const fail = (description: string): never => {
      throw new DpopError('ERR_DPOP_PROOF', description);
    };
    // An adapter that cannot describe the request cannot have a proof checked: refuse, never skip.
    if (request === undefined) return fail('this server cannot check DPoP proofs on this request');
    if (request.proofs.length !== 1) fail('exactly one DPoP proof header is required');
    // Two proofs in one field (a proxy joining repeated headers) would otherwise read as a 5-part JWE.
    if (request.proofs[0]!.includes(',')) fail('exactly one DPoP proof is allowed: this header holds several, joined by commas');
    const { header, payload: claims, signature, signingInput } = parseCompactJws(request.proofs[0]!, (why) => fail(`the DPoP proof is malformed: ${why}`));
    if (header.typ !== 'dpop+jwt') fail('the DPoP proof must have typ dpop+jwt');
    // RFC 7515 §4.1.11: we implement no extensions, so any `crit` makes the proof invalid.
    if (header.crit !== undefined) fail('the DPoP proof requires header extensions this API does not understand');
    if (typeof header.alg !== 'string' || !this.algorithms.includes(header.alg)) fail('the DPoP proof algorithm is not allowed');
    const jwk = header.jwk as Record<string, unknown> | undefined;
    if (typeof jwk !== 'object' || jwk === null || PRIVATE_MEMBERS.some((member) => jwk[member] !== undefined)) fail('the DPoP proof must carry a public jwk');
    // The same key rules as for the issuer's keys: no RSA key under an ES alg, no wrong curve, RSA
    // between 2048 and 8192 bits with a small exponent (a huge key costs milliseconds to verify).
    const type = keyTypeFor(header.alg as string);
    if (type === undefined || jwk!.kty !== type.kty || (type.crv !== undefined && !type.crv.includes(jwk!.crv as string)) || unusableReason(jwk!) !== undefined) {
      fail('the DPoP proof key does not suit its algorithm');
    }
    // The binding before the signature: comparing a hash is cheap, verifying is not.
    const thumbprint = jwkThumbprint(jwk!);
    if (jkt !== thumbprint) fail('the access token is not bound to the DPoP proof key');
    // A client signs every proof with one key: importing it again costs as much as the verification.
    let key = this.#keys.get(thumbprint);
    if (key === undefined) {
      try {
        key = publicKeyFromJwk(jwk!);
      } catch {
        return fail('the DPoP proof key is not a valid public key');
      }
      this.#keys.set(thumbprint, key);
    }
    // DPoP runs on node:crypto only (options.ts), where verification is synchronous: a promise is never `true`.
    if (verifySignature(header.alg as string, key, signingInput, signature) !== true) fail('the DPoP proof signature is invalid');

    if (claims.htm !== request.method) fail('the DPoP proof htm does not match the request method');
    const base = this.#options.publicBaseUrl ?? (request.host ? `${request.secure ? 'https' : 'http'}://${request.host}` : undefined);
    const expected = base && normalizeHtu(`${base.replace(/\/$/, '')}${request.target}`);
    if (typeof claims.htu !== 'string' || expected === undefined || normalizeHtu(claims.htu) !== expected) fail('the DPoP proof htu does not match the request URL');
    const now = this.#clock() / 1000;
    const window = this.#options.iatWindow ?? 60;
    if (typeof claims.iat !== 'number' || !Number.isFinite(claims.iat) || Math.abs(claims.iat - now) > window) fail('the DPoP proof is not fresh');
    if (typeof claims.jti !== 'string' || claims.jti.length === 0 || claims.jti.length > 256) fail('the DPoP proof has no valid jti');
    const ath = nodeOnly('sha256Base64url', 'DPoP')(accessToken);
    if (claims.ath !== ath) fail('the DPoP proof ath does not match the access token');

    if (this.#options.nonce) {
      const period = Math.floor(this.#clock() / NONCE_PERIOD_MS);
      if (claims.nonce !== this.#nonceFor(period) && claims.nonce !== this.#nonceFor(period - 1)) {
        throw new DpopError('ERR_DPOP_NONCE', 'the resource server requires a fresh DPoP nonce', this.nonce());
      }
    }
    // Last, so a proof refused for another reason does not use up its jti.
    const replayKey = `${thumbprint}:${claims.jti}`;
    // Remembered for as long as the proof could be accepted: its iat may be up to `window` ahead of now.
    const expiresAt = (Math.max(now, claims.iat as number) + window) * 1000 + 1000;
    if (!(await callHook(() => this.#store.claim(replayKey, expiresAt), this.#storePolicy))) fail('the DPoP proof was already used');
  }
}

// ── Options ─────────────────────────────────────────────────────────────────────────────────

/** The key DPoP nonces are made with, as bytes: 32 bytes at least, so a nonce cannot be guessed. */
function nonceSecret(value: unknown): Uint8Array {
  const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value instanceof Uint8Array ? Uint8Array.from(value) : undefined;
  if (bytes === undefined) return fail('dpop.nonceSecret', 'must be a string or a Uint8Array');
  if (bytes.length < 32) fail('dpop.nonceSecret', 'must be at least 32 bytes long');
  return bytes;
}

/** The `dpop` option, with defaults applied; refused where the runtime has no node:crypto. */
export function resolveDpop(value: unknown): DpopOptions | undefined {
  if (value === undefined) return undefined;
  const input = object('dpop', value);
  // Proofs are checked with Node's synchronous hashing; refused where the runtime has none, never skipped.
  if (platform().sha256Base64url === undefined) fail('dpop', 'needs node:crypto, which this runtime does not offer');
  only('dpop', input, ['mode', 'algorithms', 'publicBaseUrl', 'iatWindow', 'nonce', 'nonceSecret', 'replayStore', 'replayStoreTimeoutMs']);
  const mode = input.mode ?? 'allowed';
  if (mode !== 'allowed' && mode !== 'required') fail('dpop.mode', 'must be "allowed" or "required"');
  const algs = input.algorithms === undefined ? undefined : resolveAlgorithms(input.algorithms);
  const base = input.publicBaseUrl === undefined ? undefined : httpUrl('dpop.publicBaseUrl', input.publicBaseUrl);
  const store = input.replayStore as { claim?: unknown } | undefined;
  if (store !== undefined && (typeof store !== 'object' || typeof store.claim !== 'function')) fail('dpop.replayStore', 'must have a claim(key, expiresAt) method');
  return Object.freeze({
    mode,
    ...(algs && { algorithms: algs }),
    ...(base && { publicBaseUrl: base }),
    iatWindow: number('dpop.iatWindow', input.iatWindow, 60, 1),
    nonce: boolean('dpop.nonce', input.nonce),
    ...(input.nonceSecret !== undefined && { nonceSecret: nonceSecret(input.nonceSecret) }),
    ...(store && { replayStore: store as DpopOptions['replayStore'] }),
    replayStoreTimeoutMs: timeout('dpop.replayStoreTimeoutMs', input.replayStoreTimeoutMs, 1000),
  });
}
