/**
 * The Node platform: `node:crypto`, synchronous. OpenSSL's verify called directly: jose 6 verifies
 * through WebCrypto, which sends every verification to the thread pool and back; measured, that cost
 * 2.5× a bare `crypto.verify` per RS256 token (bench/ scenario 3). Same primitive, minus the dispatch.
 */
import { constants, createHash, createHmac, createPublicKey, randomBytes, verify, KeyObject, X509Certificate } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { Platform, VerificationKey } from '.';

interface Scheme {
  /** Digest for `crypto.verify` (`null` for EdDSA, which hashes internally). */
  readonly hash: string | null;
  readonly options?: { padding?: number; saltLength?: number; dsaEncoding?: 'ieee-p1363' };
}

const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
// ECDSA signatures in JWS are fixed-size R‖S (RFC 7518 §3.4).
const P1363 = { dsaEncoding: 'ieee-p1363' } as const;
const SCHEMES: Readonly<Record<string, Scheme>> = {
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
  // RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash.
  PS256: { hash: 'sha256', options: PSS },
  PS384: { hash: 'sha384', options: PSS },
  PS512: { hash: 'sha512', options: PSS },
  ES256: { hash: 'sha256', options: P1363 },
  ES384: { hash: 'sha384', options: P1363 },
  ES512: { hash: 'sha512', options: P1363 },
  EdDSA: { hash: null },
  Ed25519: { hash: null },
};

function importJwk(jwk: Record<string, unknown>): KeyObject {
  const key = createPublicKey({ key: jwk as never, format: 'jwk' });
  if (key.type !== 'public') throw new TypeError('not a public key');
  return key;
}

function importKeyMaterial(value: unknown): { jwk: Record<string, unknown>; key: VerificationKey } {
  let key: KeyObject;
  if (typeof value === 'string') {
    if (/PRIVATE KEY-----/.test(value)) throw new Error('is a private key: pin the public key');
    try {
      key = createPublicKey(value);
    } catch {
      throw new Error('is not a PEM public key or certificate');
    }
  } else if (value instanceof KeyObject) {
    if (value.type !== 'public') throw new Error(`is a ${value.type} KeyObject: pin the public key`);
    key = value;
  } else throw new Error('must be a PEM string or a KeyObject');
  return { jwk: key.export({ format: 'jwk' }) as Record<string, unknown>, key };
}

/**
 * One buffer, reused, for what is decoded or encoded only to be read at once: a new token's signing
 * input (`crypto.verify` is synchronous and reads it before it returns) and the bytes of its payload
 * (copied out as a string before anything else uses the buffer). `Buffer.from` per new token
 * cost a slice of the pool and its object, twice, for the garbage collector (the signing input: 0.22
 * against 0.14 µs in a loop, 2026-12-07). It grows to the next power of two above the longest input
 * and stays so: `maxTokenLength` bounds access tokens, the HTTP header limit DPoP proofs.
 */
let scratch = Buffer.allocUnsafeSlow(4096);
function scratchOf(bytes: number): Buffer {
  if (bytes > scratch.length) scratch = Buffer.allocUnsafeSlow(2 ** Math.ceil(Math.log2(bytes)));
  return scratch;
}

function signingBytes(signingInput: string): Buffer {
  const buffer = scratchOf(signingInput.length);
  return buffer.subarray(0, buffer.write(signingInput, 0, 'latin1'));
}

/**
 * Node's base64url decoder is lenient: it skips what is not base64, takes `+` and `/` as well, stops
 * at `=`, and reads only the low byte of a character above U+00FF.
 * Re-encoding what it decoded and comparing makes it strict: only the canonical, unpadded base64url
 * of the bytes is that encoding (RFC 7515 §2). Decoding and re-encoding cost less than one pattern
 * over the segment (~5.6k instructions less a new token, 2026-12-07).
 */
function decodeCanonicalBase64url(text: string): Uint8Array | undefined {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

function decodeCanonicalBase64urlText(text: string): string | undefined {
  const buffer = scratchOf(Math.ceil((text.length * 3) / 4));
  const length = buffer.write(text, 0, 'base64url');
  if (buffer.toString('base64url', 0, length) !== text || !isUtf8(buffer.subarray(0, length))) return undefined;
  const decoded = buffer.toString('utf8', 0, length);
  return decoded.charCodeAt(0) === 0xfeff ? decoded.slice(1) : decoded;
}

export const nodePlatform: Platform = {
  name: 'node',
  decodeBase64url: (text) => Buffer.from(text, 'base64url'),
  decodeCanonicalBase64url,
  decodeCanonicalBase64urlText,
  importJwk,
  verify(alg, key, signingInput, signature) {
    const scheme = SCHEMES[alg];
    if (scheme === undefined) return false;
    try {
      return verify(scheme.hash, signingBytes(signingInput), scheme.options ? { key: key as KeyObject, ...scheme.options } : (key as KeyObject), signature);
    } catch {
      return false;
    }
  },
  importKeyMaterial,
  isKeyObject: (value) => value instanceof KeyObject,
  sha256Base64url: (data) => createHash('sha256').update(data).digest('base64url'),
  hmacSha256Base64url: (key, data) => createHmac('sha256', key).update(data).digest('base64url'),
  randomBytes: (size) => randomBytes(size),
  certificateDer(pem) {
    try {
      return new X509Certificate(pem).raw;
    } catch {
      return undefined;
    }
  },
};
