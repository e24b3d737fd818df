/**
 * @scopeguard/hono — Hono middleware for scopeguard, on every runtime Hono runs on (Node, Deno, Bun,
 * Cloudflare Workers): `app.use(scopeguard(options))` admits each request through the core pipeline
 * and sets `c.get('auth')`; `requireScopes()` / `requireAnyScope()` check routes. Translation only:
 * core's web-standard entry (`admitFetch`) takes the Fetch `Request` and answers refusals.
 * @packageDocumentation
 */
import {
  Scopeguard,
  scopeRequirement,
  type GuardOptions,
  type Principal,
  type ScopeRequirement,
} from '@scopeguard/core';
import {
  admitFetchNow,
  engineFrom,
  isMetadataRequest,
  metadataAnswer,
  responseOf,
  type FetchRequestExtras,
} from '@scopeguard/core/adapter';
import type { Context, MiddlewareHandler, Next } from 'hono';

export { Scopeguard, ScopeguardConfigError, ScopeguardError, type GuardOptions, type Principal, type ScopeguardOptions } from '@scopeguard/core';

/** Hono's `Env` for apps behind scopeguard: `c.get('auth')` is the principal. */
export interface ScopeguardEnv {
  Variables: {
    /** The authenticated caller: `permissions` are the token's scopes ∩ the service user's. */
    auth: Principal;
  };
}

/** The middleware, with the engine it uses and route checks bound to it. */
export type ScopeguardMiddleware = MiddlewareHandler<ScopeguardEnv> & {
  /** The engine (for `engine.refreshKeys()`, `engine.stats()` and tests). */
  readonly engine: Scopeguard;
  /** {@link requireScopes}, with the scopes declared to this engine's metadata when the route is defined. */
  requireScopes(...scopes: string[]): MiddlewareHandler<ScopeguardEnv>;
  /** {@link requireAnyScope}, declared likewise. */
  requireAnyScope(...scopes: string[]): MiddlewareHandler<ScopeguardEnv>;
};

/**
 * What the pipeline reads besides the `Request`: the carrier (Hono's context, one per request) and,
 * on Node (`@hono/node-server`), the TLS socket for certificate-bound tokens.
 */
function extrasOf(c: Context): FetchRequestExtras {
  // The Request's own headers, never the Node message's: an app may change them before the guard
  // (strip a client's credentials, re-dispatch with a bridged token), and the guard checks what it routes.
  const incoming = (c.env as { incoming?: { socket?: object } } | undefined)?.incoming;
  return { carrier: c, socket: incoming?.socket };
}

const nothing = (): void => undefined;

/**
 * Goes on with `next` once admitted (with `admitted` set as `c.get('auth')` when asked), or answers
 * the refusal. Not an async function: a cached token's request waits for no tick of ours.
 */
function proceed(c: Context, next: Next, verdict: Principal | Response | Promise<Principal | Response>, setAuth: boolean): Promise<Response | void> {
  const go = (auth: Principal | Response): Promise<Response | void> => {
    if (auth instanceof Response) return Promise.resolve(auth);
    if (setAuth) c.set('auth', auth);
    // Resolves to nothing, as an async middleware's `await next()` did: Hono's dispatch resolves to
    // the context, which compose would otherwise take for this middleware's response.
    return next().then(nothing);
  };
  return verdict instanceof Promise ? verdict.then(go) : go(verdict);
}

const infoOf = (engine: Scopeguard, c: Context) => (engine.auditing ? { method: c.req.method, route: c.req.routePath === '/*' ? c.req.path : c.req.routePath } : undefined);

/**
 * Creates the authentication middleware. Pass options (the engine's, `logger`, `auditLog`), or an
 * engine shared with other code.
 * @throws {@link ScopeguardConfigError} at once for a wrong option.
 */
export function scopeguard(options: GuardOptions | Scopeguard): ScopeguardMiddleware {
  const engine = engineFrom(options, 'scopeguard');
  const serveMetadata = engine.resourceMetadataPath !== undefined;
  const middleware: MiddlewareHandler<ScopeguardEnv> = (c, next) => {
    // RFC 9728: the metadata is public, served before authentication.
    if (serveMetadata) {
      const url = new URL(c.req.url);
      if (isMetadataRequest(engine, c.req.method, `${url.pathname}${url.search}`)) return Promise.resolve(responseOf(metadataAnswer(engine)!, c.req.method));
    }
    return proceed(c, next, admitFetchNow(engine, c.req.raw, undefined, extrasOf(c), infoOf(engine, c)), true);
  };
  const bound = (requirement: ScopeRequirement) => {
    // Hono's context does not lead to the app's routes: bound checks declare their scopes (RFC 9728
    // scopes_supported) as the routes are defined.
    engine.declareScopes(requirement.scopes);
    return check(requirement);
  };
  return Object.assign(middleware, {
    engine,
    requireScopes: (...scopes: string[]) => bound(scopeRequirement('all', scopes)),
    requireAnyScope: (...scopes: string[]) => bound(scopeRequirement('any', scopes)),
  });
}

function check(requirement: ScopeRequirement): MiddlewareHandler<ScopeguardEnv> {
  const requirements = [requirement];
  /** The engines this check declared its scopes to (one, as a rule): once each, not per request. */
  const declaredTo = new WeakSet<Scopeguard>();
  return (c, next) => {
    // The engine that admitted this request in scopeguard(); fail closed and loudly without one.
    const engine = Scopeguard.admitting(c);
    if (engine === undefined) return Promise.reject(new Error('scopeguard: requireScopes()/requireAnyScope() must run after the scopeguard() middleware'));
    // A check not bound to an engine declares its scopes once it runs.
    if (!declaredTo.has(engine)) {
      declaredTo.add(engine);
      engine.declareScopes(requirement.scopes);
    }
    return proceed(c, next, admitFetchNow(engine, c.req.raw, requirements, extrasOf(c), infoOf(engine, c)), false);
  };
}

/**
 * Requires every one of `scopes` (403 `insufficient_scope` otherwise).
 * @example app.post('/orders', requireScopes('orders.write'), (c) => c.json(created, 201))
 */
export function requireScopes(...scopes: string[]): MiddlewareHandler<ScopeguardEnv> {
  return check(scopeRequirement('all', scopes));
}

/** Requires at least one of `scopes`. */
export function requireAnyScope(...scopes: string[]): MiddlewareHandler<ScopeguardEnv> {
  return check(scopeRequirement('any', scopes));
}
