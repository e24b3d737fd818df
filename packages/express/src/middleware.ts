/**
 * `app.use(scopeguard(options))`: admits every request through the core pipeline and sets
 * `req.auth` to the principal. One engine per middleware, created once. Translation only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Scopeguard, type GuardOptions, type Principal } from '@scopeguard/core';
import { engineFrom, healthAnswer, isMetadataRequest, metadataAnswer, sendAnswer, tokenRequestFromNode } from '@scopeguard/core/adapter';
import { carrierOf, pass, registerContext, requestInfo, type ErrorMode, type GuardContext, type GuardedRequest, type Next } from './context';
import { scopesBehind } from './declared-scopes';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The authenticated caller, set by the scopeguard middleware. */
      auth?: Principal;
    }
  }
}

/** Options of {@link scopeguard}: the engine's, `logger` and `auditLog`, plus how errors are reported. */
export type ScopeguardMiddlewareOptions = GuardOptions & {
  /**
   * `respond` (default) answers refusals itself with status, `WWW-Authenticate` and a JSON body;
   * `next` passes the {@link ScopeguardError} to the app's error handler, which can call
   * `err.toResponse()` for the same answer.
   */
  onError?: ErrorMode;
};

/** The middleware, with the engine it uses. */
export interface ScopeguardMiddleware {
  (req: GuardedRequest, res: ServerResponse, next: Next): void;
  /** The engine (for `engine.ready()`, `engine.health()`, `engine.stats()` and tests). */
  readonly engine: Scopeguard;
  /**
   * Optional authentication for a route mounted before (or without) this middleware: a request with
   * no bearer token goes on with no `req.auth`; a token that is sent must be valid (else the same
   * refusal as the middleware's). See {@link optionalAuth}.
   */
  readonly optional: (req: GuardedRequest, res: ServerResponse, next: Next) => void;
}

/**
 * Creates the authentication middleware. Pass options, or an engine shared with other code.
 * @throws {@link ScopeguardConfigError} at once for a wrong option.
 */
export function scopeguard(options: ScopeguardMiddlewareOptions | Scopeguard): ScopeguardMiddleware {
  let onError: ErrorMode = 'respond';
  let engineOptions: GuardOptions | Scopeguard = options;
  if (!(options instanceof Scopeguard)) {
    const { onError: mode = 'respond', ...rest } = options;
    if (mode !== 'respond' && mode !== 'next') throw new TypeError('scopeguard: option "onError" must be "respond" or "next"');
    onError = mode;
    engineOptions = rest;
  }
  const engine = engineFrom(engineOptions, 'scopeguard');
  const context: GuardContext = Object.freeze({ engine, onError });
  registerContext(context);

  // Read once, as the Koa adapter does: method and path are read only when there is a document to
  // serve (each property read on Express's request misses V8's inline caches, see carrierOf).
  const serveMetadata = engine.resourceMetadataPath !== undefined;
  const middleware = (req: GuardedRequest, res: ServerResponse, next: Next): void => {
    // RFC 9728: the metadata is public, served before authentication (HEAD as GET; Node sends no body).
    if (serveMetadata && isMetadataRequest(engine, req.method, req.url)) {
      return sendAnswer(metadataAnswer(engine, scopesBehind((req as { app?: unknown }).app, middleware))!, res);
    }
    const carrier = carrierOf(req, res);
    // Express's parsed query and body, read only when those token sources are enabled.
    const request = tokenRequestFromNode(req, req as { query?: unknown; body?: unknown }, carrier);
    pass(context, () => engine.admit(request, undefined, engine.auditing ? requestInfo(req) : undefined), req, res, next, carrier);
  };
  const optional = (req: GuardedRequest, res: ServerResponse, next: Next): void => {
    // An anonymous caller has no principal, whatever other code set before: never a forged one.
    if (Object.hasOwn(req, 'auth')) req.auth = undefined;
    const carrier = carrierOf(req, res);
    const request = tokenRequestFromNode(req, req as { query?: unknown; body?: unknown }, carrier);
    pass(context, () => engine.admitOptional(request, engine.auditing ? requestInfo(req) : undefined), req, res, next, carrier);
  };
  return Object.assign(middleware, { engine, optional });
}

/**
 * Optional authentication on a route: anonymous callers are served (no `req.auth`), a caller who
 * sends a token gets `req.auth`, and an invalid token is refused as everywhere (never ignored). Mount
 * such routes before `app.use(guard)`, which requires a token on every route after it.
 * @example app.get('/catalog', optionalAuth(guard), (req, res) => res.json(catalogFor(req.auth)))
 */
export function optionalAuth(guard: ScopeguardMiddleware): (req: GuardedRequest, res: ServerResponse, next: Next) => void {
  return guard.optional;
}

/**
 * A readiness handler: `200` when every issuer's key set can verify tokens now, else `503`, with the
 * states, ages and last fetch errors as JSON. Mount it where only your orchestrator asks.
 * @example app.get('/health/ready', scopeguardHealth(guard))
 */
export function scopeguardHealth(guard: ScopeguardMiddleware | Scopeguard): (req: IncomingMessage, res: ServerResponse) => void {
  const engine = guard instanceof Scopeguard ? guard : guard.engine;
  return (_req, res) => sendAnswer(healthAnswer(engine), res);
}

