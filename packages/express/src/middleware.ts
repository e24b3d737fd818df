/**
 * `app.use(scopeguard(options))`: authenticates every request through the core engine and sets
 * `req.auth` to the principal. One engine per middleware, created once.
 */
import type { ServerResponse } from 'node:http';
import { Scopeguard, ScopeguardError, tokenRequestFromNode, type Principal, type ScopeguardOptions } from '@scopeguard/core';
import { attachContext, refuse, requestInfo, type ErrorMode, type GuardContext, type GuardedRequest, type Next } from './context';
import { declaredScopes } from './declared-scopes';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The authenticated caller, set by the scopeguard middleware. */
      auth?: Principal;
    }
  }
}

/** Options of {@link scopeguard}: the engine's, plus how errors are reported. */
export type ScopeguardMiddlewareOptions = ScopeguardOptions & {
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
  /** The engine (for `engine.keys`, tests and metrics). */
  readonly engine: Scopeguard;
}

/**
 * Creates the authentication middleware. Pass options, or an engine shared with other code.
 * @throws {@link ScopeguardConfigError} at once for a wrong option.
 */
export function scopeguard(options: ScopeguardMiddlewareOptions | Scopeguard): ScopeguardMiddleware {
  let engine: Scopeguard;
  let onError: ErrorMode = 'respond';
  if (options instanceof Scopeguard) engine = options;
  else {
    // Everything but onError is the engine's, and the engine validates it.
    const { onError: mode = 'respond', ...engineOptions } = options;
    if (mode !== 'respond' && mode !== 'next') throw new TypeError('scopeguard: option "onError" must be "respond" or "next"');
    onError = mode;
    engine = new Scopeguard(engineOptions as ScopeguardOptions);
  }

  const context: GuardContext = Object.freeze({ engine, onError });
  const fail = (error: unknown, req: GuardedRequest, res: ServerResponse, next: Next): void => {
    if (error instanceof ScopeguardError) refuse(engine, onError, error, req, res, next);
    else next(error);
  };
  const metadataPath = engine.resourceMetadata()?.path;
  const admit = (req: GuardedRequest, principal: Principal, next: Next): void => {
    req.auth = principal;
    if (engine.auditing) engine.authenticated(principal, requestInfo(req));
    next();
  };

  const middleware = (req: GuardedRequest, res: ServerResponse, next: Next): void => {
    // RFC 9728: the metadata is public, served before authentication.
    if (metadataPath !== undefined && req.method === 'GET' && (req.url === metadataPath || req.url?.startsWith(`${metadataPath}?`))) {
      return serveMetadata(engine, res);
    }
    attachContext(req, context);
    // Express's parsed query and body, read only when those token sources are enabled.
    const request = tokenRequestFromNode(req, req as { query?: unknown; body?: unknown });
    let token: string;
    try {
      token = engine.extract(request);
      // A reused token: answered from the cache, synchronously.
      const cached = engine.cachedPrincipal(token, request);
      if (cached !== undefined) return admit(req, cached, next);
    } catch (error) {
      return fail(error, req, res, next);
    }
    engine.verify(token, request).then(
      (principal) => admit(req, principal, next),
      (error: unknown) => fail(error, req, res, next),
    );
  };
  return Object.assign(middleware, { engine });
}

/** Answers the RFC 9728 document, with the scopes the routes declared so far. */
function serveMetadata(engine: Scopeguard, res: ServerResponse): void {
  engine.declareScopes(declaredScopes);
  const { document } = engine.resourceMetadata()!;
  res.statusCode = 200;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('cache-control', 'public, max-age=300');
  res.end(JSON.stringify(document));
}
