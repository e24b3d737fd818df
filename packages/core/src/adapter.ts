/**
 * `@scopeguard/core/adapter` on Node, Bun and Deno: the adapter kit (kit.ts), and Express's request
 * objects (Node only: it reads node:http's IncomingMessage) for adapters on Express.
 * @packageDocumentation
 */
import './index'; // the engine this kit serves, on node:crypto
export * from './kit';
export { expressLocalsOf, handOverOnExpress, type ExpressLikeRequest, type Locals } from './http/express-request';
