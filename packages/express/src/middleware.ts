/**
 * `app.use(scopeguard(options))`: admits every request through the core pipeline and sets
 * `req.auth` to the principal. One engine per middleware, created once. Translation only.
 */
import type { ServerResponse } from 'node:http';
import { Scopeguard, describeDecision, tokenRequestFromNode, withAuditLog, type DecisionEvent, type Principal, type ScopeguardOptions } from '@scopeguard/core';
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

/** Options of {@link scopeguard}: the engine's, plus how errors are reported. */
export type ScopeguardMiddlewareOptions = ScopeguardOptions & {
  /**
   * `respond` (default) answers refusals itself with status, `WWW-Authenticate` and a JSON body;
   * `next` passes the {@link ScopeguardError} to the app's error handler, which can call
   * `err.toResponse()` for the same answer.
   */
  onError?: ErrorMode;
  /**
   * Where the engine's start-up notices go (for instance: no `permissions`, so the intersection is
   * off), once per engine. Default `console`; `false` for none.
   */
  logger?: { warn(message: string): void } | false;
  /**
   * One line per decision (method, route, client, status, code, why; never the token), as core's
   * `describeDecision` writes it: `true` for the console (refusals to `console.warn`, outages to
   * `console.error`, allowed requests to `console.log`; admissions, which a route's verdict follows,
   * left out), or a function of your logger's, given every event. The app's own `onDecision` still runs.
   */
  auditLog?: boolean | ((line: string, event: DecisionEvent) => void);
};

/** The middleware, with the engine it uses. */
export interface ScopeguardMiddleware {
  (req: GuardedRequest, res: ServerResponse, next: Next): void;
  /** The engine (for `engine.refreshKeys()`, `engine.stats()` and tests). */
  readonly engine: Scopeguard;
}

/**
 * Creates the authentication middleware. Pass options, or an engine shared with other code.
 * @throws {@link ScopeguardConfigError} at once for a wrong option.
 */
export function scopeguard(options: ScopeguardMiddlewareOptions | Scopeguard): ScopeguardMiddleware {
  let engine: Scopeguard;
  let onError: ErrorMode = 'respond';
  let logger: { warn(message: string): void } | false = console;
  if (options instanceof Scopeguard) engine = options;
  else {
    // Everything but onError and logger is the engine's, and the engine validates it.
    const { onError: mode = 'respond', logger: log = console, auditLog, ...engineOptions } = options;
    if (mode !== 'respond' && mode !== 'next') throw new TypeError('scopeguard: option "onError" must be "respond" or "next"');
    if (log !== false && typeof (log as { warn?: unknown } | null)?.warn !== 'function') throw new TypeError('scopeguard: option "logger" must have a warn(message) method, or be false');
    if (auditLog !== undefined && typeof auditLog !== 'boolean' && typeof auditLog !== 'function') throw new TypeError('scopeguard: option "auditLog" must be true, false or a function');
    onError = mode;
    logger = log;
    const { onDecision } = engineOptions as { onDecision?: ScopeguardOptions['onDecision'] };
    const audit = auditLog ? withAuditLog((event) => writeDecision(event, auditLog), onDecision) : onDecision;
    engine = new Scopeguard({ ...engineOptions, ...(audit && { onDecision: audit }) } as ScopeguardOptions);
  }
  if (logger !== false) engine.announce((notice) => (logger as { warn(message: string): void }).warn(notice));

  const context: GuardContext = Object.freeze({ engine, onError });
  registerContext(context);
  const metadataPath = engine.resourceMetadata()?.path;

  const middleware = (req: GuardedRequest, res: ServerResponse, next: Next): void => {
    // RFC 9728: the metadata is public, served before authentication (HEAD as GET; Node sends no body).
    if (metadataPath !== undefined && (req.method === 'GET' || req.method === 'HEAD') && (req.url === metadataPath || req.url?.startsWith(`${metadataPath}?`))) {
      return serveMetadata(engine, scopesBehind((req as { app?: unknown }).app, middleware), res);
    }
    // Express's parsed query and body, read only when those token sources are enabled.
    const request = tokenRequestFromNode(req, req as { query?: unknown; body?: unknown }, carrierOf(req, res));
    pass(context, () => engine.admit(request, undefined, engine.auditing ? requestInfo(req) : undefined), req, res, next);
  };
  return Object.assign(middleware, { engine });
}

/** Answers the RFC 9728 document, with the scopes of the routes behind this middleware. */
function serveMetadata(engine: Scopeguard, scopes: Iterable<string>, res: ServerResponse): void {
  engine.declareScopes(scopes);
  const { document } = engine.resourceMetadata()!;
  res.statusCode = 200;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('cache-control', 'public, max-age=300');
  res.end(JSON.stringify(document));
}

/**
 * The `auditLog` option's line for `event`. On the console, an admission is left out: the route's
 * verdict follows it (`allowed` or `refused` by `requireScopes`); a function gets every event.
 */
function writeDecision(event: DecisionEvent, auditLog: true | ((line: string, event: DecisionEvent) => void)): void {
  const line = describeDecision(event);
  if (typeof auditLog === 'function') return auditLog(line, event);
  if (event.outcome === 'authenticated') return;
  if (event.outcome === 'refused') console.warn(line);
  else if (event.outcome === 'allowed') console.log(line);
  else console.error(line);
}
