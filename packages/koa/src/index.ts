/**
 * @scopeguard/koa — `app.use(scopeguard(options))` admits each request through the core pipeline and
 * sets `ctx.state.auth`; `requireScopes()` / `requireAnyScope()` check routes. Translation only.
 * @packageDocumentation
 */
import { Scopeguard, ScopeguardError, scopeRequirement } from '@scopeguard/core';
import { engineFrom, isMetadataRequest, metadataAnswer, refusalAnswer, tokenRequestFromNode } from '@scopeguard/core/adapter';
import type { GuardOptions, Principal, ScopeRequirement } from '@scopeguard/core';
import type { HttpAnswer, RequestInfo } from '@scopeguard/core/adapter';
import type { Middleware, Next, ParameterizedContext } from 'koa';
import { SCOPES, scopesBehind } from './declared-scopes';

export { Scopeguard, ScopeguardConfigError, ScopeguardError, type GuardOptions, type Principal, type ScopeguardOptions } from '@scopeguard/core';

/** Koa state behind scopeguard, for `new Koa<ScopeguardState>()` and `new Router<ScopeguardState>()`. */
export interface ScopeguardState {
  /** The authenticated caller: `permissions` are the token's scopes ∩ the service user's. */
  auth: Principal;
}

type Ctx = ParameterizedContext<ScopeguardState>;

/** Options of {@link scopeguard}: the engine's, `logger` and `auditLog`, plus how refusals are reported. */
export type ScopeguardMiddlewareOptions = GuardOptions & {
  /**
   * `respond` (default) answers refusals with status, `WWW-Authenticate` and a JSON body. `throw` throws
   * the {@link ScopeguardError}: Koa's default handler answers its `status` and `headers`; an app's
   * `try { await next() } catch` can send `err.toResponse()`, what `respond` would.
   */
  onError?: 'respond' | 'throw';
};

/** The middleware, with the engine it uses. */
export type ScopeguardMiddleware = Middleware<ScopeguardState> & {
  /** The engine (for `engine.refreshKeys()`, `engine.stats()` and tests). */
  readonly engine: Scopeguard;
};

/** Engines whose refusals are thrown (`onError: 'throw'`): route checks know only the engine. */
const throwing = new WeakSet<Scopeguard>();

/**
 * The token request of `ctx`. The carrier is `ctx`: the object Koa makes per request and hands to every
 * middleware, which app code does not replace (as it may `ctx.state`). `ctx.request` gives `query` and
 * (with @koa/bodyparser) `body`, read only when those token sources are enabled.
 */
const tokenRequest = (ctx: Ctx) => tokenRequestFromNode(ctx.req, ctx.request as { query?: unknown; body?: unknown }, ctx);

/** Method and route for audit events: @koa/router's route template inside a route, else the path. */
function infoOf(engine: Scopeguard, ctx: Ctx): RequestInfo | undefined {
  if (!engine.auditing) return undefined;
  const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  return { method: ctx.method, route: typeof route === 'string' ? route : ctx.path };
}

/** Core's answer on Koa's response; headers first, so the string body keeps their content type. */
function answer(ctx: Ctx, { status, headers, body }: HttpAnswer): void {
  ctx.status = status;
  ctx.set(headers);
  ctx.body = body;
}

/** Answers or throws a refusal; anything else is a bug, thrown for Koa to report. */
function refuse(engine: Scopeguard, ctx: Ctx, error: unknown): void {
  if (!(error instanceof ScopeguardError)) throw error;
  if (throwing.has(engine)) throw engine.rendered(error);
  answer(ctx, refusalAnswer(engine, error));
}

/**
 * Runs one stage of the pipeline: synchronous on a cache hit (no extra tick), else a promise. The request
 * goes on only once the engine admitted it, with `ctx.state.auth` set (again, after a route check, so
 * the handler sees the principal the engine found).
 */
function pass(engine: Scopeguard, ctx: Ctx, next: Next, requirements?: readonly ScopeRequirement[]): Promise<void> | void {
  const go = (principal: Principal) => ((ctx.state.auth = principal), next());
  let admitted: Principal | Promise<Principal>;
  try {
    admitted = engine.admit(tokenRequest(ctx), requirements, infoOf(engine, ctx));
  } catch (error) {
    return refuse(engine, ctx, error);
  }
  return admitted instanceof Promise ? admitted.then(go, (error: unknown) => refuse(engine, ctx, error)) : go(admitted);
}

/**
 * Creates the authentication middleware: every request after it needs a valid token (what comes
 * before it stays public). Pass options, or an engine shared with other code.
 * @throws {@link ScopeguardConfigError} at once for a wrong option.
 */
export function scopeguard(options: ScopeguardMiddlewareOptions | Scopeguard): ScopeguardMiddleware {
  if (options instanceof Scopeguard) return guard(engineFrom(options, 'scopeguard'));
  const { onError = 'respond', ...rest } = options;
  if (onError !== 'respond' && onError !== 'throw') throw new TypeError('scopeguard: option "onError" must be "respond" or "throw"');
  const engine = engineFrom(rest, 'scopeguard'); // a new engine: its mode is this middleware's alone
  if (onError === 'throw') throwing.add(engine);
  return guard(engine);
}

function guard(engine: Scopeguard): ScopeguardMiddleware {
  // Read once: Koa's `ctx.method` and `ctx.url` are delegating getters, not worth a request without a document to serve.
  const serveMetadata = engine.resourceMetadataPath !== undefined;
  const middleware: Middleware<ScopeguardState> = (ctx, next) => {
    // RFC 9728: the metadata is public, served before authentication (HEAD as GET; Koa sends no body).
    if (serveMetadata && isMetadataRequest(engine, ctx.method, ctx.url)) return answer(ctx, metadataAnswer(engine, scopesBehind(ctx.app.middleware, middleware))!);
    return pass(engine, ctx, next);
  };
  return Object.assign(middleware, { engine });
}

function check(requirement: ScopeRequirement): Middleware<ScopeguardState> {
  const requirements = [requirement];
  const routeCheck: Middleware<ScopeguardState> = (ctx, next) => {
    // The engine that admitted this request, never ctx.state.auth; none: fail closed, loudly.
    const engine = Scopeguard.admitting(ctx);
    if (engine === undefined) throw new Error('scopeguard: requireScopes()/requireAnyScope() must run after the scopeguard() middleware');
    return pass(engine, ctx, next, requirements);
  };
  // For scopes_supported: the metadata reads them off the app's routers (declared-scopes.ts).
  return Object.assign(routeCheck, { [SCOPES]: requirement.scopes });
}

/**
 * Requires every one of `scopes` (403 `insufficient_scope` otherwise).
 * @throws {@link ScopeguardConfigError} at once for no scope or a value that is not a scope-token.
 * @example router.post('/orders', requireScopes('orders.write'), createOrder)
 */
export function requireScopes(...scopes: string[]): Middleware<ScopeguardState> {
  return check(scopeRequirement('all', scopes));
}

/** Requires at least one of `scopes` (throws likewise). */
export function requireAnyScope(...scopes: string[]): Middleware<ScopeguardState> {
  return check(scopeRequirement('any', scopes));
}
