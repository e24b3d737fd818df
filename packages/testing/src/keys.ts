/**
 * Keys, JWS signatures, JWKs and JWK thumbprints on `node:crypto` alone: no ESM-only dependency, so
 * the kit loads under any CommonJS test runner (Jest's default loader included).
 */
import { KeyObject, constants, createHash, createPublicKey, generateKeyPair as generateKeyPairCallback, sign } from 'node:crypto';
import type { webcrypto } from 'node:crypto';

/** A signing algorithm the kit holds keys for and signs with (RFC 7518, RFC 8037, RFC 9864). */
export type TestAlgorithm =
  | 'RS256' | 'RS384' | 'RS512'
  | 'PS256' | 'PS384' | 'PS512'
  | 'ES256' | 'ES384' | 'ES512'
  | 'EdDSA' | 'Ed25519';

/** A JSON Web Key (RFC 7517), as published in the issuer's JWK Set. */
export interface JWK {
  kty?: string;
  kid?: string;
  alg?: string;
  use?: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  [member: string]: unknown;
}

/** A private key {@link signCompact} accepts: a `node:crypto` `KeyObject` or a WebCrypto `CryptoKey` (e.g. from jose). */
export type SigningKeyInput = KeyObject | webcrypto.CryptoKey;

const ALGORITHMS: readonly string[] = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
];

/** The curve of each ECDSA algorithm, by JWK name and by the name `asymmetricKeyDetails` gives. */
const CURVES: Record<string, { jwk: string; openssl: string }> = {
  ES256: { jwk: 'P-256', openssl: 'prime256v1' },
  ES384: { jwk: 'P-384', openssl: 'secp384r1' },
  ES512: { jwk: 'P-521', openssl: 'secp521r1' },
};

/** A fresh key pair for `alg`: RSA 2048 for RS and PS, the algorithm's curve for ES, Ed25519 for EdDSA. */
export function generateKeyPair(alg: TestAlgorithm): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, publicKey: KeyObject, privateKey: KeyObject) =>
      error ? reject(error) : resolve({ privateKey, publicKey });
    const family = alg.slice(0, 2);
    if (family === 'RS' || family === 'PS') generateKeyPairCallback('rsa', { modulusLength: 2048 }, done);
    else if (family === 'ES' && CURVES[alg]) generateKeyPairCallback('ec', { namedCurve: CURVES[alg].jwk }, done);
    else if (alg === 'EdDSA' || alg === 'Ed25519') generateKeyPairCallback('ed25519', {}, done);
    else reject(new TypeError(`test kit: unsupported algorithm ${String(alg)}`));
  });
}

/** The public JWK of a key (private members never included): `kty` and the key's members only. */
export function publicJwk(key: KeyObject): JWK {
  return (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' }) as JWK;
}

/** The members RFC 7638 §3.2 hashes, per key type, in lexicographic order. */
const THUMBPRINT_MEMBERS: Record<string, readonly string[]> = {
  RSA: ['e', 'kty', 'n'],
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
};

/**
 * The RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key: the required members only, in
 * lexicographic order, serialized with no whitespace. A DPoP-bound token's `cnf.jkt` (RFC 9449 §6.1).
 */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): string {
  const members = THUMBPRINT_MEMBERS[String(jwk.kty)];
  if (!members) throw new TypeError(`test kit: no thumbprint for a JWK of kty ${String(jwk.kty)}`);
  const required: Record<string, string> = {};
  for (const member of members) {
    const value = jwk[member];
    if (typeof value !== 'string') throw new TypeError(`test kit: a ${String(jwk.kty)} JWK needs "${member}" for its thumbprint`);
    required[member] = value;
  }
  return createHash('sha256').update(JSON.stringify(required)).digest('base64url');
}

function isTestAlgorithm(alg: unknown): alg is TestAlgorithm {
  return typeof alg === 'string' && ALGORITHMS.includes(alg);
}

/** Whether `key` (a `node:crypto` key) can make `alg` signatures. */
function fits(key: KeyObject, alg: TestAlgorithm): boolean {
  const family = alg.slice(0, 2);
  switch (key.asymmetricKeyType) {
    case 'rsa': return family === 'RS' || family === 'PS';
    case 'rsa-pss': return family === 'PS';
    case 'ec': return key.asymmetricKeyDetails?.namedCurve === CURVES[alg]?.openssl;
    case 'ed25519': return alg === 'EdDSA' || alg === 'Ed25519';
    default: return false;
  }
}

/** What a WebCrypto key was made for, as a JWS algorithm (the key's own algorithm decides). */
function algorithmOfCryptoKey(key: webcrypto.CryptoKey): TestAlgorithm | undefined {
  const algorithm = key.algorithm as { name: string; hash?: { name: string } | string; namedCurve?: string };
  const hash = typeof algorithm.hash === 'string' ? algorithm.hash : algorithm.hash?.name;
  const bits = hash?.replace(/^SHA-/, '');
  switch (algorithm.name) {
    case 'RSASSA-PKCS1-v1_5': return isTestAlgorithm(`RS${bits}`) ? (`RS${bits}` as TestAlgorithm) : undefined;
    case 'RSA-PSS': return isTestAlgorithm(`PS${bits}`) ? (`PS${bits}` as TestAlgorithm) : undefined;
    case 'ECDSA': return (Object.keys(CURVES) as TestAlgorithm[]).find((alg) => CURVES[alg]!.jwk === algorithm.namedCurve);
    case 'Ed25519': return 'EdDSA';
    default: return undefined;
  }
}

/** The algorithm a `node:crypto` key signs with when nothing says otherwise. */
function defaultAlgorithm(key: KeyObject, headerAlg: unknown): TestAlgorithm | undefined {
  if (isTestAlgorithm(headerAlg) && fits(key, headerAlg) && key.asymmetricKeyType !== 'ec') return headerAlg;
  switch (key.asymmetricKeyType) {
    case 'rsa': return 'RS256';
    case 'rsa-pss': {
      const hash = key.asymmetricKeyDetails?.hashAlgorithm?.replace(/^sha-?/i, '') ?? '256';
      return isTestAlgorithm(`PS${hash}`) ? (`PS${hash}` as TestAlgorithm) : 'PS256';
    }
    case 'ec': return (Object.keys(CURVES) as TestAlgorithm[]).find((alg) => fits(key, alg));
    case 'ed25519': return 'EdDSA';
    default: return undefined;
  }
}

/**
 * Signs any header and payload as a compact JWS with `node:crypto`. Unlike a JWT library's signer it
 * checks nothing, so tests can mint what an attacker would (`exp` as a string, unknown `crit`, a
 * lying `alg`): `header.alg` is only written. The signature is made with `signWith` when given, else
 * with the key's own algorithm (a WebCrypto key's, an EC key's curve, Ed25519), else — for an RSA
 * `KeyObject` — with `header.alg` when it is an RS or PS algorithm, else RS256.
 *
 * @param key a private `KeyObject` or WebCrypto `CryptoKey`.
 * @param payload an object (serialized as JSON) or exact text.
 */
export async function signCompact(
  header: Record<string, unknown>,
  payload: unknown,
  key: SigningKeyInput,
  signWith?: TestAlgorithm,
): Promise<string> {
  const keyObject = key instanceof KeyObject ? key : KeyObject.from(key);
  if (keyObject.type !== 'private') throw new TypeError(`test kit: signing needs a private key, not a ${keyObject.type} key`);
  const alg = signWith ?? (key instanceof KeyObject ? undefined : algorithmOfCryptoKey(key)) ?? defaultAlgorithm(keyObject, header.alg);
  if (!alg || !fits(keyObject, alg)) {
    throw new TypeError(`test kit: a ${keyObject.asymmetricKeyType ?? keyObject.type} key cannot sign ${alg ?? 'any supported algorithm'}`);
  }
  const encode = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
  const input = `${encode(header)}.${encode(payload)}`;
  return `${input}.${signature(alg, keyObject, Buffer.from(input)).toString('base64url')}`;
}

/** A JWS signature (RFC 7518 §3): PKCS#1 v1.5, PSS with salt = hash length, ECDSA as R‖S, Ed25519. */
function signature(alg: TestAlgorithm, key: KeyObject, data: Buffer): Buffer {
  const bits = Number(alg.slice(2));
  const hash = `sha${bits}`;
  switch (alg.slice(0, 2)) {
    case 'RS': return sign(hash, data, key);
    case 'PS': return sign(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: bits / 8 });
    case 'ES': return sign(hash, data, { key, dsaEncoding: 'ieee-p1363' });
    default: return sign(null, data, key);
  }
}
