/**
 * What the middleware leaves on a request for the route-level checks after it (the engine and how
 * errors are reported), and the one way both stages hand the pipeline's verdict to Express.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ScopeguardError, type Principal, type RequestInfo, type Scopeguard } from '@scopeguard/core';

/** How a refusal reaches the client. */
export type ErrorMode = 'respond' | 'next';

/**
 * The request as the middleware sees it: Node's, plus the principal. It declares no `query` or
 * `body`, so that routes mixing these handlers with their own keep Express's inferred types.
 */
export interface GuardedRequest extends IncomingMessage {
  auth?: Principal;
  [GUARD]?: GuardContext;
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

/** One per middleware, shared by every request it sees. */
export interface GuardContext {
  readonly engine: Scopeguard;
  readonly onError: ErrorMode;
}

/** Where the middleware stores its context on the request. */
export const GUARD: unique symbol = Symbol('scopeguard');

export function attachContext(req: GuardedRequest, context: GuardContext): void {
  req[GUARD] = context;
}

export function contextOf(req: GuardedRequest): GuardContext | undefined {
  return req[GUARD];
}

/**
 * Runs one stage of the pipeline: `admit` returns the principal (synchronously on a cache hit) or
 * throws/rejects with a refusal. The request goes on only once the engine admitted it.
 */
export function pass(context: GuardContext, admit: () => Principal | Promise<Principal>, req: GuardedRequest, res: ServerResponse, next: Next): void {
  let admitted: Principal | Promise<Principal>;
  try {
    admitted = admit();
  } catch (error) {
    return refuse(context, error, res, next);
  }
  if (!(admitted instanceof Promise)) {
    req.auth = admitted;
    return next();
  }
  admitted.then(
    (principal) => {
      req.auth = principal;
      next();
    },
    (error: unknown) => refuse(context, error, res, next),
  );
}

/** Sends the refusal (status, `WWW-Authenticate`, JSON body), or hands it to the app's error handler. */
function refuse({ engine, onError }: GuardContext, error: unknown, res: ServerResponse, next: Next): void {
  // The pipeline only ever fails with a ScopeguardError; anything else is a bug here, for Express to report.
  if (!(error instanceof ScopeguardError) || onError === 'next' || res.headersSent) return next(error);
  const { status, headers, body } = engine.errorResponse(error);
  res.statusCode = status;
  for (const name in headers) res.setHeader(name, headers[name]!);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}
