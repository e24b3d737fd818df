/**
 * Finds the HTTP request behind an execution context, on either platform and for GraphQL, and
 * writes challenge headers on either platform. Nothing else about transports lives anywhere else.
 */
import type { ExecutionContext } from '@nestjs/common';
import { type Principal, type TokenRequest } from '@scopeguard/core';
import { expressLocalsOf, tokenRequestFromNode, type NodeRequestLike, type RequestInfo } from '@scopeguard/core/adapter';

/** A request of `@nestjs/platform-express` (Node's) or `@nestjs/platform-fastify` (with `.raw`). */
export interface NestHttpRequest {
  raw?: NodeRequestLike;
  rawHeaders?: readonly string[];
  query?: unknown;
  body?: unknown;
  auth?: Principal;
  user?: unknown;
  /** Express's response, on `@nestjs/platform-express`. */
  res?: { locals?: unknown; req?: unknown };
}

/**
 * The HTTP request of `context`: `http` directly, `graphql` from the resolver context's `req`
 * (Apollo on Express) or `request` (Mercurius, Apollo on Fastify). `undefined` for transports with
 * no HTTP request (`rpc`, `ws`), which the guard refuses.
 */
export function httpRequestOf(context: ExecutionContext): NestHttpRequest | undefined {
  const type = context.getType<string>();
  if (type === 'http') return context.switchToHttp().getRequest<NestHttpRequest>();
  if (type === 'graphql') {
    // Resolver arguments are (root, args, context, info); reading them avoids a hard dependency on @nestjs/graphql.
    const gqlContext = context.getArgByIndex<{ req?: NestHttpRequest; request?: NestHttpRequest } | undefined>(2);
    return gqlContext?.req ?? gqlContext?.request;
  }
  return undefined;
}

/** The reply of `context`, when there is one to write headers on. */
export function httpResponseOf(context: ExecutionContext): unknown {
  const type = context.getType<string>();
  if (type === 'http') return context.switchToHttp().getResponse();
  if (type === 'graphql') {
    const gqlContext = context.getArgByIndex<{ res?: unknown; reply?: unknown; req?: { res?: unknown } } | undefined>(2);
    return gqlContext?.res ?? gqlContext?.reply ?? gqlContext?.req?.res;
  }
  return undefined;
}

/** Method and route for audit events: Express's route template, Fastify's route URL, else the path. */
export function requestInfoOf(request: NestHttpRequest): RequestInfo {
  const { method, route, routeOptions, url } = request as NestHttpRequest & {
    method?: string;
    route?: { path?: unknown };
    routeOptions?: { url?: unknown };
    url?: string;
  };
  const template = typeof route?.path === 'string' ? route.path : typeof routeOptions?.url === 'string' ? routeOptions.url : undefined;
  return { method, route: template ?? (url ?? '').split('?')[0] };
}

/** A {@link TokenRequest} from a Nest request on either platform. */
export function tokenRequestOf(request: NestHttpRequest): TokenRequest {
  // Express's request (Express made its res.locals): the admission goes on res.locals, as the Express
  // adapter does it, since on Express's req each property read or added costs µs (core's
  // http/express-request.ts). Fastify's: its Node request, `raw`.
  const locals = expressLocalsOf(request);
  if (locals !== undefined) return tokenRequestFromNode(request as unknown as NodeRequestLike, request, locals);
  return tokenRequestFromNode(request.raw ?? (request as unknown as NodeRequestLike), request);
}


/**
 * Sets headers on the Node response under an Express response or a Fastify reply (`.raw`). Node
 * keeps the spelling given (`WWW-Authenticate`); Fastify's own `reply.header` would lowercase it.
 */
export function setHeaders(response: unknown, headers: Record<string, string>): void {
  const reply = response as { raw?: NodeResponse } & NodeResponse;
  const target: NodeResponse | undefined = reply?.raw ?? reply;
  if (!target || typeof target.setHeader !== 'function' || target.headersSent) return;
  for (const name in headers) target.setHeader(name, headers[name]!);
}

interface NodeResponse {
  setHeader(name: string, value: string): unknown;
  headersSent?: boolean;
}
