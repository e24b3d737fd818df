/**
 * A DPoP client key for tests (RFC 9449): makes proofs for requests, and gives the thumbprint to
 * bind tokens to (`issuer.mint({ claims: { cnf: { jkt: key.jkt } } })`).
 */
import { createHash, randomUUID } from 'node:crypto';
import { generateKeyPair, jwkThumbprint, publicJwk, signCompact, type TestAlgorithm } from './keys';

/** What a proof says; every field can be overridden to make a bad one. */
export interface ProofOptions {
  method: string;
  /** The URL requested (query and fragment are dropped, as RFC 9449 §4.2 says). */
  url: string;
  /** The access token, hashed into `ath`. */
  accessToken?: string;
  nonce?: string;
  /** Seconds from now. Default 0. */
  iat?: number;
  jti?: string;
  /** Extra or replacing claims and header parameters. */
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
}

export interface DpopKey {
  readonly alg: TestAlgorithm;
  readonly jwk: Record<string, unknown>;
  /** RFC 7638 thumbprint: the token's `cnf.jkt`. */
  readonly jkt: string;
  proof(options: ProofOptions): Promise<string>;
}

export async function createDpopKey(alg: TestAlgorithm = 'ES256'): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const jwk: Record<string, unknown> = publicJwk(publicKey);
  const jkt = jwkThumbprint(jwk);
  return {
    alg,
    jwk,
    jkt,
    proof: (options) => {
      const url = new URL(options.url);
      const claims = {
        htm: options.method,
        htu: `${url.origin}${url.pathname}`,
        iat: Math.floor(Date.now() / 1000) + (options.iat ?? 0),
        jti: options.jti ?? randomUUID(),
        ...(options.accessToken && { ath: createHash('sha256').update(options.accessToken).digest('base64url') }),
        ...(options.nonce && { nonce: options.nonce }),
        ...options.claims,
      };
      return signCompact({ typ: 'dpop+jwt', alg, jwk, ...options.header }, claims, privateKey, alg);
    },
  };
}
