/**
 * How errors are reported for each engine, and the one way both stages (the middleware and the
 * route checks) hand the pipeline's verdict to Express.
 *
 * Nothing is added to Express's `req` on the hot path (core's http/express-request.ts says why): the
 * engine marks its admission on `res.locals`, and `req.auth` reads the principal from there.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Scopeguard, ScopeguardError, type Principal } from '@scopeguard/core';
import { expressLocalsOf, handOverOnExpress, refusalAnswer, sendAnswer, type ExpressLikeRequest, type Locals, type RequestInfo } from '@scopeguard/core/adapter';

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

/**
 * Express's per-request object the engine marks (`res.locals`), or the request itself outside Express.
 * Found once per stage and handed down: on Express's requests every property read misses V8's inline
 * caches (~0.6k instructions each, callgrind over HTTP, 2026-12-08).
 */
export function carrierOf(req: GuardedRequest, res: ServerResponse): object {
  return expressLocalsOf(req, res) ?? req;
}

/** The context of the engine that admitted the request of this `carrier` ({@link carrierOf}) in `scopeguard()`, if one did. */
export function contextOf(carrier: object): GuardContext | undefined {
  const engine = Scopeguard.admitting(carrier);
  return engine && contexts.get(engine);
}

/**
 * Runs one stage of the pipeline: `admit` returns the principal (synchronously on a cache hit) or
 * throws/rejects with a refusal; `undefined` (optional authentication, no token) goes on with none.
 * The request goes on only once the engine admitted it. `carrier`: the stage's {@link carrierOf}.
 */
export function pass(context: GuardContext, admit: () => Principal | undefined | Promise<Principal | undefined>, req: GuardedRequest, res: ServerResponse, next: Next, carrier: object): void {
  let admitted: Principal | undefined | Promise<Principal | undefined>;
  try {
    admitted = admit();
  } catch (error) {
    return refuse(context, error, res, next);
  }
  // The carrier is res.locals on Express, else the request itself (no locals).
  const locals = carrier === req ? null : (carrier as Locals);
  if (!(admitted instanceof Promise)) {
    if (admitted !== undefined) handOverOnExpress(req as ExpressLikeRequest, admitted, res, locals);
    return next();
  }
  admitted.then(
    (principal) => {
      if (principal !== undefined) handOverOnExpress(req as ExpressLikeRequest, principal, res, locals);
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

