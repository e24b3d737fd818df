/**
 * JWS signature verification (RFC 7515 §5.2, RFC 7518 §3, RFC 8037 §3.1) with `node:crypto`:
 * OpenSSL's verify, called synchronously. jose 6 verifies through WebCrypto, which sends every
 * verification to the thread pool and back; measured, that cost 2.5× a bare `crypto.verify` per
 * RS256 token (bench/ scenario 3). This is the same primitive, minus the dispatch.
 */
import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto';

interface Scheme {
  /** Digest for `crypto.verify` (`null` for EdDSA, which hashes internally). */
  readonly hash: string | null;
  readonly options?: { padding?: number; saltLength?: number; dsaEncoding?: 'ieee-p1363' };
  /** ECDSA signatures are fixed-size R‖S (RFC 7518 §3.4). */
  readonly signatureLength?: number;
}

const SCHEMES: Readonly<Record<string, Scheme>> = {
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
  // RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash.
  PS256: { hash: 'sha256', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } },
  PS384: { hash: 'sha384', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } },
  PS512: { hash: 'sha512', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } },
  ES256: { hash: 'sha256', options: { dsaEncoding: 'ieee-p1363' }, signatureLength: 64 },
  ES384: { hash: 'sha384', options: { dsaEncoding: 'ieee-p1363' }, signatureLength: 96 },
  ES512: { hash: 'sha512', options: { dsaEncoding: 'ieee-p1363' }, signatureLength: 132 },
  EdDSA: { hash: null },
  Ed25519: { hash: null },
};

/** A public key from a JWK, ready for {@link verifySignature}; throws for unusable material. */
export function publicKeyFromJwk(jwk: Record<string, unknown>): KeyObject {
  const key = createPublicKey({ key: jwk as never, format: 'jwk' });
  if (key.type !== 'public') throw new TypeError('not a public key');
  return key;
}

/**
 * Whether `signature` over `signingInput` (the ASCII `header.payload`) verifies with `key` under
 * `alg`. The caller has already matched `alg` to the key's type and curve. Never throws.
 */
export function verifySignature(alg: string, key: KeyObject, signingInput: string, signature: Buffer): boolean {
  const scheme = SCHEMES[alg];
  if (scheme === undefined) return false;
  if (scheme.signatureLength !== undefined && signature.length !== scheme.signatureLength) return false;
  try {
    return verify(scheme.hash, Buffer.from(signingInput, 'latin1'), scheme.options ? { key, ...scheme.options } : key, signature);
  } catch {
    return false;
  }
}
