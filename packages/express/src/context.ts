/**
 * How errors are reported for each engine, and the one way both stages (the middleware and the
 * route checks) hand the pipeline's verdict to Express.
 *
 * Nothing is added to Express's `req` on the hot path: Express swaps each request's prototype, and
 * every property added to such an object afterwards measured 5–15 µs of CPU per request (bench/
 * compare/pinned.js, the `props2` row). The engine marks its admission on `res.locals` (a small object
 * Express makes per request), and `req.auth` is an accessor defined once on the app's request
 * prototype, reading the principal from there. Assigning `req.auth` (other code may) still works: it
 * makes an own property, which route checks never read.
 */
import { IncomingMessage, type ServerResponse } from 'node:http';
import { Scopeguard, ScopeguardError, refusalAnswer, sendAnswer, type Principal, type RequestInfo } from '@scopeguard/core';

/** How a refusal reaches the client. */
export type ErrorMode = 'respond' | 'next';

/**
 * The request as the middleware sees it: Node's, plus the principal. It declares no `query` or
 * `body`, so that routes mixing these handlers with their own keep Express's inferred types.
 */
export interface GuardedRequest extends IncomingMessage {
  auth?: Principal;
}

/** Express's extras, read for audit events only. */
interface ExpressRouting {
  baseUrl?: string;
  route?: { path?: unknown };
  originalUrl?: string;
}

/** Method and route for audit events: the route template inside a route, else the path. */
export function requestInfo(req: GuardedRequest): RequestInfo {
  const { baseUrl = '', route, originalUrl } = req as GuardedRequest & ExpressRouting;
  const path = typeof route?.path === 'string' ? `${baseUrl}${route.path}` : (originalUrl ?? req.url ?? '').split('?')[0];
  return { method: req.method, route: path };
}

/** Express's `next`. */
export type Next = (error?: unknown) => void;

/** An engine and how its refusals are reported. */
export interface GuardContext {
  readonly engine: Scopeguard;
  readonly onError: ErrorMode;
}

/** Each middleware's context, by engine: a route check finds it from the engine that admitted the request. */
const contexts = new WeakMap<Scopeguard, GuardContext>();

export function registerContext(context: GuardContext): void {
  contexts.set(context.engine, context);
}

/** Where the principal handed to the route lives: on `res.locals`, under a key nobody else holds. */
const PRINCIPAL = Symbol('scopeguard.principal');

type Locals = Record<PropertyKey, unknown>;
interface ExpressResponse extends ServerResponse {
  locals?: Locals;
}
interface ExpressRequest extends GuardedRequest {
  res?: ExpressResponse;
}

/** Express's per-request object the engine marks (`res.locals`), or the request itself outside Express. */
export function carrierOf(req: GuardedRequest, res: ServerResponse): object {
  const locals = (res as ExpressResponse).locals;
  return typeof locals === 'object' && locals !== null ? locals : req;
}

/**
 * The request prototype every Express app of this `express` shares: Express gives each app (and each
 * mounted sub-app, while a request is inside it) its own `app.request`, made from express's `request`,
 * which inherits from `IncomingMessage.prototype`. The accessor goes there, so `req.auth` reads the same
 * in a sub-app as in the app that ran the middleware. Outside Express: the request's own prototype.
 */
function sharedPrototype(req: GuardedRequest): object | null {
  const own = Object.getPrototypeOf(req) as object | null;
  for (let candidate = own; candidate !== null; candidate = Object.getPrototypeOf(candidate) as object | null) {
    if (Object.getPrototypeOf(candidate) === IncomingMessage.prototype) return candidate;
  }
  return own;
}

/** Request prototypes that already have the `auth` accessor. */
const withAccessor = new WeakSet<object>();

/**
 * `req.auth` as an accessor on the request's prototype (Express's `app.request`), defined once: it reads
 * the principal from `req.res.locals`; an assignment by other code makes an own property, as before.
 */
function defineAuth(req: GuardedRequest): void {
  const prototype = sharedPrototype(req);
  if (prototype === null || withAccessor.has(prototype)) return;
  withAccessor.add(prototype);
  if (Object.getOwnPropertyDescriptor(prototype, 'auth') !== undefined) return; // someone else's: leave it
  Object.defineProperty(prototype, 'auth', {
    configurable: true,
    enumerable: false,
    get(this: ExpressRequest) {
      return this.res?.locals?.[PRINCIPAL] as Principal | undefined;
    },
    set(this: ExpressRequest, value: unknown) {
      Object.defineProperty(this, 'auth', { value, writable: true, enumerable: true, configurable: true });
    },
  });
}

/** Hands the admitted principal to the route: through `res.locals` and the accessor, or `req.auth` outside Express. */
function handOver(req: GuardedRequest, res: ServerResponse, principal: Principal): void {
  const locals = (res as ExpressResponse).locals;
  if (typeof locals !== 'object' || locals === null || (req as ExpressRequest).res !== res) {
    req.auth = principal;
    return;
  }
  locals[PRINCIPAL] = principal;
  defineAuth(req);
  // Other code set req.auth before us (express-jwt, a stub): its own property would hide the accessor.
  if (Object.hasOwn(req, 'auth')) req.auth = principal;
}

/** The context of the engine that admitted this request in `scopeguard()`, if one did. */
export function contextOf(req: GuardedRequest, res: ServerResponse): GuardContext | undefined {
  const engine = Scopeguard.admitting(carrierOf(req, res));
  return engine && contexts.get(engine);
}

/**
 * Runs one stage of the pipeline: `admit` returns the principal (synchronously on a cache hit) or
 * throws/rejects with a refusal; `undefined` (optional authentication, no token) goes on with none.
 * The request goes on only once the engine admitted it.
 */
export function pass(context: GuardContext, admit: () => Principal | undefined | Promise<Principal | undefined>, req: GuardedRequest, res: ServerResponse, next: Next): void {
  let admitted: Principal | undefined | Promise<Principal | undefined>;
  try {
    admitted = admit();
  } catch (error) {
    return refuse(context, error, res, next);
  }
  if (!(admitted instanceof Promise)) {
    if (admitted !== undefined) handOver(req, res, admitted);
    return next();
  }
  admitted.then(
    (principal) => {
      if (principal !== undefined) handOver(req, res, principal);
      next();
    },
    (error: unknown) => refuse(context, error, res, next),
  );
}

/** Sends the refusal (status, `WWW-Authenticate`, JSON body), or hands it to the app's error handler. */
function refuse({ engine, onError }: GuardContext, error: unknown, res: ServerResponse, next: Next): void {
  // The pipeline only ever fails with a ScopeguardError; anything else is a bug here, for Express to report.
  if (!(error instanceof ScopeguardError) || res.headersSent) return next(error);
  // To the app's error handler (or Express's own): an error that answers exactly as we would.
  if (onError === 'next') return next(engine.rendered(error));
  sendAnswer(refusalAnswer(engine, error), res);
}

