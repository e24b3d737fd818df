/**
 * `@scopeguard/core/adapter` on workerd and browsers' workers: the adapter kit (kit.ts), on WebCrypto.
 * @packageDocumentation
 */
import './web'; // the engine this kit serves, on WebCrypto
export * from './kit';
