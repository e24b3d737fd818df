/**
 * @scopeguard/core on runtimes without `node:crypto` (Cloudflare Workers, browsers' workers),
 * chosen by the package's conditional exports: the same engine and rules, verifying with WebCrypto.
 * DPoP and certificate-bound tokens (mTLS) need node:crypto and are refused at construction here.
 * @packageDocumentation
 */
import { usePlatform } from './keys/platform';
import { webPlatform } from './keys/platform/web';

usePlatform(webPlatform);

export * from './exports';
