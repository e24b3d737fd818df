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
import type { Principal } from '../pipeline/principal';

/** Express's `res.locals`: where the engine marks its admission and the principal. */
export type Locals = Record<PropertyKey, unknown>;

/** The parts of an Express request and response read here. */
export interface ExpressLikeRequest {
  auth?: Principal | undefined;
  res?: { locals?: unknown; req?: unknown } | undefined;
}

/**
 * Where the principal handed to the route lives: on `res.locals`, under a key of the global symbol
 * registry, so that every copy of this package (an app may install two, through two adapters) reads
 * and writes the same slot, whichever copy defined the accessor.
 */
const PRINCIPAL = Symbol.for('scopeguard.principal');
/** Marks the accessor's getter as one that reads {@link PRINCIPAL} (any copy's). */
const READS_PRINCIPAL = Symbol.for('scopeguard.principal.accessor');

/** Express's per-request `res.locals` of `req` (made by Express's init middleware), if it is Express's. */
export function expressLocalsOf(req: object, res: object | undefined = (req as ExpressLikeRequest).res): Locals | undefined {
  const locals = (res as { locals?: unknown } | undefined)?.locals;
  return typeof locals === 'object' && locals !== null && (req as ExpressLikeRequest).res === res ? (locals as Locals) : undefined;
}

/**
 * The request prototype every Express app of this `express` shares: Express gives each app (and each
 * mounted sub-app, while a request is inside it) its own `app.request`, made from express's `request`,
 * which inherits from `IncomingMessage.prototype`. The accessor goes there, so `req.auth` reads the same
 * in a sub-app as in the app that ran the middleware. `undefined` for anything that is not a Node
 * request (a plain object with a `res`): no accessor then, never one on `Object.prototype`.
 */
function sharedPrototype(own: object): object | undefined {
  for (let candidate: object | null = own; candidate !== null; candidate = Object.getPrototypeOf(candidate) as object | null) {
    if (Object.getPrototypeOf(candidate) === IncomingMessage.prototype) return candidate;
  }
  return undefined;
}

/** Whether requests of each prototype read `req.auth` through a principal accessor (asked once per prototype). */
const readsThroughAccessor = new WeakMap<object, boolean>();

/**
 * Defines `req.auth` as an accessor on the shared prototype of `own`'s requests, unless one is there:
 * it reads the principal from `req.res.locals`; an assignment by other code makes an own property, as
 * before. Whether such requests' `auth` reads the principal slot (ours or another copy's accessor).
 */
function defineAuth(own: object): boolean {
  const prototype = sharedPrototype(own);
  if (prototype === undefined) return false;
  const existing = Object.getOwnPropertyDescriptor(prototype, 'auth');
  if (existing !== undefined) return (existing.get as { [READS_PRINCIPAL]?: boolean } | undefined)?.[READS_PRINCIPAL] === true; // someone else's: leave it
  const get = function (this: ExpressLikeRequest) {
    return expressLocalsOf(this)?.[PRINCIPAL] as Principal | undefined;
  };
  Object.defineProperty(get, READS_PRINCIPAL, { value: true });
  Object.defineProperty(prototype, 'auth', {
    configurable: true,
    enumerable: false,
    get,
    set(this: ExpressLikeRequest, value: unknown) {
      Object.defineProperty(this, 'auth', { value, writable: true, enumerable: true, configurable: true });
    },
  });
  return true;
}

/** Whether `req.auth` reads the principal slot of `req.res.locals` (the accessor is defined at the first request of its prototype). */
function readsPrincipal(req: object): boolean {
  const own = Object.getPrototypeOf(req) as object | null;
  if (own === null) return false;
  let reads = readsThroughAccessor.get(own);
  if (reads === undefined) readsThroughAccessor.set(own, (reads = defineAuth(own)));
  return reads;
}

/**
 * Hands the admitted principal to the route as `req.auth`: through `res.locals` and the accessor on
 * an Express request, as an own property on any other (or where another `auth` accessor is defined).
 * `found`: the request's {@link expressLocalsOf} when the caller looked it up already, `null` when
 * it found none (each property read on an Express request misses V8's inline caches: ~0.6k instructions).
 */
export function handOverOnExpress(req: ExpressLikeRequest, principal: Principal, res?: object, found?: Locals | null): void {
  const locals = found === undefined ? expressLocalsOf(req, res) : (found ?? undefined);
  if (locals === undefined || !readsPrincipal(req)) {
    req.auth = principal;
    return;
  }
  locals[PRINCIPAL] = principal;
  // Other code set req.auth before us (express-jwt, a stub): its own property would hide the accessor.
  if (Object.hasOwn(req, 'auth')) req.auth = principal;
}
