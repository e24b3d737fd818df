/**
 * `scopes_supported` for a middleware's RFC 9728 metadata: the scopes of the route checks behind it,
 * read off the app when the document is asked for (routes added late count, other apps never do).
 * A check carries its scopes under {@link SCOPES}; `router.routes()` (@koa/router) its router under `.router`.
 */
export const SCOPES: unique symbol = Symbol('scopeguard.scopes');

interface Dispatch {
  router?: { stack?: Array<{ stack?: unknown }> };
  [SCOPES]?: readonly string[];
}

/** The middleware in the order Koa runs it, a router's dispatch opened into its layers' (nested routers are copied into their parent's layers). */
function* flatten(middleware: readonly unknown[], seen: Set<unknown>): Generator<Dispatch | undefined> {
  for (const fn of middleware as Array<Dispatch | undefined>) {
    yield fn;
    const layers = fn?.router?.stack;
    if (!Array.isArray(layers) || seen.has(fn)) continue;
    seen.add(fn); // a router reached twice, or through itself, is read once
    for (const layer of layers) if (Array.isArray(layer?.stack)) yield* flatten(layer.stack as unknown[], seen);
  }
}

/** The scopes required after `guard` in `middleware` (the request's `ctx.app.middleware`); none if it is not there. */
export function scopesBehind(middleware: readonly unknown[], guard: unknown): Set<string> {
  const scopes = new Set<string>();
  let behind = false;
  for (const fn of flatten(middleware, new Set())) {
    if (fn === guard) behind = true;
    else if (behind) for (const scope of fn?.[SCOPES] ?? []) scopes.add(scope);
  }
  return scopes;
}
