/**
 * JWS signature verification (RFC 7515 §5.2, RFC 7518 §3, RFC 8037 §3.1): the rules every platform
 * shares (a known algorithm, ECDSA's fixed signature size), then the platform's primitive
 * (keys/platform/node.ts: node:crypto, synchronous; keys/platform/web.ts: WebCrypto).
 */
import { platform, type VerificationKey } from '../keys/platform';
import { fail, stringList } from '../pipeline/option-checks';

/** ECDSA signatures are fixed-size R‖S (RFC 7518 §3.4): anything else is refused before the primitive. */
const SIGNATURE_LENGTHS: Readonly<Record<string, number>> = { ES256: 64, ES384: 96, ES512: 132 };
const ALGORITHMS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);

export type { VerificationKey } from '../keys/platform';

/** A public key from a JWK, ready for {@link verifySignature}; throws for unusable material. */
export function publicKeyFromJwk(jwk: Record<string, unknown>): VerificationKey {
  return platform().importJwk(jwk);
}

/**
 * Whether `signature` over `signingInput` (the ASCII `header.payload`) verifies with `key` under
 * `alg`. The caller has already matched `alg` to the key's type and curve. Never throws; a promise
 * where the platform verifies asynchronously (WebCrypto).
 */
export function verifySignature(alg: string, key: VerificationKey, signingInput: string, signature: Uint8Array): boolean | Promise<boolean> {
  if (!ALGORITHMS.has(alg)) return false;
  const length = SIGNATURE_LENGTHS[alg];
  if (length !== undefined && signature.length !== length) return false;
  return platform().verify(alg, key, signingInput, signature);
}

// ── Options: the allowed algorithms ─────────────────────────────────────────────────────────

/** Asymmetric JWS algorithms (RFC 7518, RFC 8037, RFC 9864). `none` and HS* are never accepted. */
export const SUPPORTED_ALGORITHMS = [
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA', 'Ed25519',
] as const;

/** One of {@link SUPPORTED_ALGORITHMS}. */
export type JwsAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

/** The `algorithms` option (an issuer's, or DPoP proofs'): default `['RS256']`; never `none` or HS*. */
export function resolveAlgorithms(value: unknown): JwsAlgorithm[] {
  if (value === undefined) return ['RS256'];
  const list = stringList('algorithms', value, true);
  for (const alg of list) {
    if (alg.toLowerCase() === 'none') fail('algorithms', 'must not contain "none": unsigned tokens are never accepted');
    if (/^HS/i.test(alg)) fail('algorithms', `must not contain ${alg}: a symmetric algorithm cannot be verified with an issuer's public key set`);
    if (!(SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)) fail('algorithms', `holds unsupported ${alg}; use ${SUPPORTED_ALGORITHMS.join(', ')}`);
  }
  return list as JwsAlgorithm[];
}
