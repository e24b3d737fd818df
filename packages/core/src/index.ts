/**
 * @scopeguard/core — the framework-free engine: RFC 6750 bearer extraction, RFC 9068 / RFC 8725
 * JWT verification against the issuer's key set, scopes, and the scope ∩ permission intersection.
 * This entry runs on `node:crypto` (Node, Bun, Deno); workerd and browsers' workers load web.ts.
 * @packageDocumentation
 */
import { usePlatform } from './keys/platform';
import { nodePlatform } from './keys/platform/node';

usePlatform(nodePlatform);

export * from './exports';
