/**
 * @scopeguard/testing — a local token issuer (keys, JWKS, discovery, token minting) for testing
 * routes guarded by scopeguard, or any RFC 9068 resource server.
 * @packageDocumentation
 */
export {
  TestIssuer,
  createTestIssuer,
  signCompact,
  type MintOptions,
  type Outage,
  type TestAlgorithm,
  type TestIssuerOptions,
} from './issuer';
export { createDpopKey, type DpopKey, type ProofOptions } from './dpop';
