/**
 * @scopeguard/testing — a local token issuer (keys, JWKS, discovery, token minting) for testing
 * routes guarded by scopeguard, or any RFC 9068 resource server. Built on `node:crypto` alone, so it
 * loads under any CommonJS test runner.
 * @packageDocumentation
 */
export {
  TestIssuer,
  createTestIssuer,
  signCompact,
  type JWK,
  type MintOptions,
  type Outage,
  type PinnedIssuerOptions,
  type SigningKeyInput,
  type TestAlgorithm,
  type TestIssuerOptions,
} from './issuer';
export { createDpopKey, type DpopKey, type ProofOptions } from './dpop';
export { jwkThumbprint } from './keys';
