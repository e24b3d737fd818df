/**
 * The web platform: WebCrypto (`crypto.subtle`), for runtimes without `node:crypto` (Cloudflare
 * Workers, browsers' workers). Verification is asynchronous there. A JWK is imported once per
 * algorithm it is used with (WebCrypto binds a key to one algorithm), on first use.
 */
// Types only (erased): the WebCrypto types as @types/node declares them; nothing of node:crypto loads.
import type { webcrypto } from 'node:crypto';
import type { Platform, VerificationKey } from '.';

type CryptoKey = webcrypto.CryptoKey;
type JsonWebKey = webcrypto.JsonWebKey;

type Params = { readonly import: Record<string, unknown>; readonly verify: Record<string, unknown> };

const rsa = (hash: string): Params => ({ import: { name: 'RSASSA-PKCS1-v1_5', hash }, verify: { name: 'RSASSA-PKCS1-v1_5' } });
// RFC 7518 §3.5: salt as long as the hash.
const pss = (hash: string, saltLength: number): Params => ({ import: { name: 'RSA-PSS', hash }, verify: { name: 'RSA-PSS', saltLength } });
const ecdsa = (hash: string, namedCurve: string): Params => ({ import: { name: 'ECDSA', namedCurve }, verify: { name: 'ECDSA', hash } });
const ed25519: Params = { import: { name: 'Ed25519' }, verify: { name: 'Ed25519' } };

const ALGORITHMS: Readonly<Record<string, Params>> = {
  RS256: rsa('SHA-256'),
  RS384: rsa('SHA-384'),
  RS512: rsa('SHA-512'),
  PS256: pss('SHA-256', 32),
  PS384: pss('SHA-384', 48),
  PS512: pss('SHA-512', 64),
  // WebCrypto's ECDSA signatures are R‖S, as JWS's (RFC 7518 §3.4).
  ES256: ecdsa('SHA-256', 'P-256'),
  ES384: ecdsa('SHA-384', 'P-384'),
  ES512: ecdsa('SHA-512', 'P-521'),
  EdDSA: ed25519,
  Ed25519: ed25519,
};

/** The public members of each key type: only these are handed to importKey. */
const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[]>> = { RSA: ['kty', 'n', 'e'], EC: ['kty', 'crv', 'x', 'y'], OKP: ['kty', 'crv', 'x'] };

class WebKey {
  readonly #jwk: JsonWebKey;
  readonly #imported = new Map<string, Promise<CryptoKey | undefined>>();

  constructor(jwk: Record<string, unknown>) {
    const members = PUBLIC_MEMBERS[jwk.kty as string];
    if (members === undefined) throw new TypeError('not a public key type WebCrypto verifies with');
    this.#jwk = Object.fromEntries(members.filter((name) => jwk[name] !== undefined).map((name) => [name, jwk[name]])) as JsonWebKey;
  }

  /** The key for `alg`; `undefined` when the material does not import (then nothing verifies with it). */
  forAlgorithm(alg: string, params: Params): Promise<CryptoKey | undefined> {
    let found = this.#imported.get(alg);
    if (found === undefined) {
      found = crypto.subtle.importKey('jwk', this.#jwk, params.import as never, false, ['verify']).catch(() => undefined);
      this.#imported.set(alg, found);
    }
    return found;
  }
}

const encoder = new TextEncoder();

async function verifyWeb(alg: string, key: VerificationKey, signingInput: string, signature: Uint8Array): Promise<boolean> {
  const params = ALGORITHMS[alg];
  if (params === undefined || !(key instanceof WebKey)) return false;
  try {
    const imported = await key.forAlgorithm(alg, params);
    return imported !== undefined && (await crypto.subtle.verify(params.verify as never, imported, signature as Uint8Array<ArrayBuffer>, encoder.encode(signingInput)));
  } catch {
    return false;
  }
}

/** The bytes of base64url text; callers checked the alphabet, and anything atob refuses decodes to nothing. */
function decodeBase64url(text: string): Uint8Array {
  let binary: string;
  try {
    binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return new Uint8Array(0);
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export const webPlatform: Platform = {
  name: 'web',
  decodeBase64url,
  importJwk: (jwk) => new WebKey(jwk),
  verify: verifyWeb,
};
