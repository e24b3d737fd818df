/**
 * What the middleware leaves on a request for the route-level checks after it: the engine (for
 * the realm of challenges) and how errors are reported.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal, RequestInfo, Scopeguard, ScopeguardError } from '@scopeguard/core';

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

/** Sends the refusal (status, `WWW-Authenticate`, JSON body), or hands it to the app's error handler. */
export function refuse(engine: Scopeguard, onError: ErrorMode, error: ScopeguardError, req: GuardedRequest, res: ServerResponse, next: Next): void {
  // Rendered (and reported to onDecision) even when the app's error handler will answer.
  const { status, headers, body } = engine.errorResponse(error, engine.auditing ? requestInfo(req) : undefined);
  if (onError === 'next' || res.headersSent) {
    next(error);
    return;
  }
  res.statusCode = status;
  for (const name in headers) res.setHeader(name, headers[name]!);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}
