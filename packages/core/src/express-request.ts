/**
 * Express's request objects, for the adapters that run on them (@scopeguard/express, and NestJS on
 * its Express platform): where the engine marks its admission and how the principal reaches
 * `req.auth`, without adding a property to Express's `req` on the hot path.
 *
 * Express swaps each request's prototype: on such an object a property added afterwards measured
 * 2.8–3.3 µs in process (bench/compare/pinned.js, the `props2` row: 5–15 µs of CPU over HTTP), and a
 * property it lacks ~0.6 µs to look up. So the admission goes on `res.locals` (a small object Express
 * makes per request), and `req.auth` is an accessor defined once on the app's request prototype,
 * reading the principal from there. Assigning `req.auth` (other code may) still works: it makes an
 * own property, which route checks never read.
 */
import { IncomingMessage } from 'node:http';
import type { Principal } from './principal';

type Locals = Record<PropertyKey, unknown>;

/** The parts of an Express request and response read here. */
export interface ExpressLikeRequest {
  auth?: Principal | undefined;
  res?: { locals?: unknown; req?: unknown } | undefined;
}

/** Where the principal handed to the route lives: on `res.locals`, under a key nobody else holds. */
const PRINCIPAL = Symbol('scopeguard.principal');

/** Express's per-request `res.locals` of `req` (made by Express's init middleware), if it is Express's. */
export function expressLocalsOf(req: object, res: object | undefined = (req as ExpressLikeRequest).res): Locals | undefined {
  const locals = (res as { locals?: unknown } | undefined)?.locals;
  return typeof locals === 'object' && locals !== null && (req as ExpressLikeRequest).res === res ? (locals as Locals) : undefined;
}

/**
 * The request prototype every Express app of this `express` shares: Express gives each app (and each
 * mounted sub-app, while a request is inside it) its own `app.request`, made from express's `request`,
 * which inherits from `IncomingMessage.prototype`. The accessor goes there, so `req.auth` reads the same
 * in a sub-app as in the app that ran the middleware. Outside Express: the request's own prototype.
 */
function sharedPrototype(req: object): object | null {
  const own = Object.getPrototypeOf(req) as object | null;
  for (let candidate = own; candidate !== null; candidate = Object.getPrototypeOf(candidate) as object | null) {
    if (Object.getPrototypeOf(candidate) === IncomingMessage.prototype) return candidate;
  }
  return own;
}

/** Request prototypes that already have the `auth` accessor (the request's own prototype, as checked). */
const withAccessor = new WeakSet<object>();

/**
 * `req.auth` as an accessor on the request's shared prototype, defined once: it reads the principal
 * from `req.res.locals`; an assignment by other code makes an own property, as before.
 */
function defineAuth(req: object): void {
  const own = Object.getPrototypeOf(req) as object | null;
  if (own === null || withAccessor.has(own)) return;
  withAccessor.add(own);
  const prototype = sharedPrototype(req);
  if (prototype === null || Object.getOwnPropertyDescriptor(prototype, 'auth') !== undefined) return; // defined, or someone else's: leave it
  Object.defineProperty(prototype, 'auth', {
    configurable: true,
    enumerable: false,
    get(this: ExpressLikeRequest) {
      return expressLocalsOf(this)?.[PRINCIPAL] as Principal | undefined;
    },
    set(this: ExpressLikeRequest, value: unknown) {
      Object.defineProperty(this, 'auth', { value, writable: true, enumerable: true, configurable: true });
    },
  });
}

/**
 * Hands the admitted principal to the route as `req.auth`: through `res.locals` and the accessor on
 * an Express request, as an own property on any other.
 */
export function handOverOnExpress(req: ExpressLikeRequest, principal: Principal, res?: object): void {
  const locals = expressLocalsOf(req, res ?? req.res);
  if (locals === undefined) {
    req.auth = principal;
    return;
  }
  locals[PRINCIPAL] = principal;
  defineAuth(req);
  // Other code set req.auth before us (express-jwt, a stub): its own property would hide the accessor.
  if (Object.hasOwn(req, 'auth')) req.auth = principal;
}
