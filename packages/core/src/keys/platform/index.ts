/**
 * The runtime's cryptographic primitives, behind one interface: `node:crypto` on Node (the package's
 * default entry, index.ts) and WebCrypto where `node:crypto` is missing (the `workerd`, `worker`
 * and `browser` entry, web.ts). Deno loads the default entry: it resolves `require()` with Node's
 * conditions, so a `deno` entry would give an app that imports core and an adapter that requires it
 * two copies of the engine (two `Scopeguard` classes, principals one copy does not recognize); Deno's
 * node:crypto passes every runtime test (test/runtimes). Every JWS rule is above this line and shared, so both
 * paths run the same checks; only the primitive differs.
 */

/** A public key ready for {@link Platform.verify}; what it holds is the platform's own. */
export type VerificationKey = object;

export interface Platform {
  /** `node` (node:crypto, synchronous) or `web` (WebCrypto, asynchronous). */
  readonly name: 'node' | 'web';
  /** The bytes of unpadded base64url text (the caller checked its alphabet). */
  decodeBase64url(text: string): Uint8Array;
  /**
   * Node only: the bytes of `text` when it is their canonical, unpadded base64url (RFC 7515 §2),
   * else `undefined`: the alphabet and the unused bits checked in the same pass as the decoding.
   */
  readonly decodeCanonicalBase64url?: (text: string) => Uint8Array | undefined;
  /**
   * Node only: likewise the UTF-8 text (a leading BOM dropped, as `TextDecoder` drops it); `undefined`
   * when `text` is not canonical base64url or its bytes are not UTF-8. Elsewhere the alphabet is
   * checked by pattern, then {@link decodeBase64url} and a fatal `TextDecoder` give the same.
   */
  readonly decodeCanonicalBase64urlText?: (text: string) => string | undefined;
  /** A verification key from a public JWK the caller validated; throws for material it cannot use. */
  importJwk(jwk: Record<string, unknown>): VerificationKey;
  /**
   * Whether `signature` over the ASCII `signingInput` verifies with `key` under `alg` (whose key type
   * and signature size the caller checked). Never throws or rejects: a failure is `false`.
   */
  verify(alg: string, key: VerificationKey, signingInput: string, signature: Uint8Array): boolean | Promise<boolean>;
  /**
   * Node only: a PEM public key or certificate, or a public `KeyObject`, as its JWK and key; throws
   * saying why not. Absent where the runtime has no such key formats (pin a JWK Set there).
   */
  readonly importKeyMaterial?: (value: unknown) => { jwk: Record<string, unknown>; key: VerificationKey };
  /** Node only: whether `value` is a `KeyObject`. */
  readonly isKeyObject?: (value: unknown) => boolean;
  /**
   * Node only, synchronous hashing and randomness for DPoP (RFC 9449), certificate-bound tokens
   * (RFC 8705) and introspection's cache keys. Where they are absent, DPoP and mTLS are refused at
   * construction, never skipped.
   */
  readonly sha256Base64url?: (data: string | Uint8Array) => string;
  readonly hmacSha256Base64url?: (key: Uint8Array, data: string) => string;
  readonly randomBytes?: (size: number) => Uint8Array;
  /** The DER of a PEM certificate, `undefined` when it is not one. */
  readonly certificateDer?: (pem: string) => Uint8Array | undefined;
}

let current: Platform | undefined;

/** Chooses the platform; each entry point (index.ts, web.ts) calls it once, before anything runs. */
export function usePlatform(chosen: Platform): void {
  // Both entries in one module graph would switch every engine's keys to a platform that cannot use them.
  if (current !== undefined && current !== chosen) {
    throw new Error(`scopeguard: @scopeguard/core was loaded for both ${current.name === 'node' ? 'node:crypto' : 'WebCrypto'} and ${chosen.name === 'node' ? 'node:crypto' : 'WebCrypto'} in one process; a bundler's conditions mix its entries`);
  }
  current = chosen;
}

/** The platform the package was loaded for. */
export function platform(): Platform {
  if (current === undefined) throw new Error('scopeguard: no crypto platform was chosen; import @scopeguard/core, not its files');
  return current;
}

/**
 * Which primitives this copy of the package verifies with: `node` (node:crypto; Node and Bun load the
 * default entry, as does Deno) or `web` (WebCrypto; workerd and browsers' workers load the web entry).
 */
export function cryptoPlatform(): 'node' | 'web' {
  return platform().name;
}

/** What a feature that needs Node's synchronous primitives (DPoP, mTLS) gets on this platform, or why not. */
export function nodeOnly<K extends 'sha256Base64url' | 'hmacSha256Base64url' | 'randomBytes' | 'certificateDer'>(name: K, feature: string): NonNullable<Platform[K]> {
  const found = platform()[name];
  if (found === undefined) throw new Error(`${feature} needs node:crypto, which this runtime does not offer`);
  return found as NonNullable<Platform[K]>;
}
