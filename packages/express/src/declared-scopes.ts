/**
 * The scopes the routes behind a `scopeguard()` middleware require, for `scopes_supported` in its
 * RFC 9728 resource metadata: read from the app's router when the document is asked for, so they are
 * per middleware (another app, tenant or test file in the same process never shows), and routes
 * added late are included. Each route check carries its scopes under {@link SCOPES}.
 */

/** Where `requireScopes()`/`requireAnyScope()` keep their scopes on the check function. */
export const SCOPES: unique symbol = Symbol('scopeguard.scopes');

/** The parts of Express's router (4 and 5) the walk reads. */
interface Layer {
  handle?: unknown;
  route?: { stack?: Layer[] };
}

/** An app's or a router's stack of layers: Express 5 `app.router`, Express 4 `app._router`, a Router's own. */
function stackOf(handle: unknown): Layer[] | undefined {
  const owner = handle as { stack?: unknown; router?: { stack?: unknown }; _router?: { stack?: unknown } } | undefined;
  const stack = owner?.stack ?? owner?._router?.stack ?? owner?.router?.stack;
  return Array.isArray(stack) ? (stack as Layer[]) : undefined;
}

/** Every scope required by route checks in `layers` and below. */
function collect(layers: readonly Layer[], into: Set<string>, seen: Set<unknown>): void {
  for (const layer of layers) {
    const scopes = (layer.handle as { [SCOPES]?: readonly string[] } | undefined)?.[SCOPES];
    if (scopes) for (const scope of scopes) into.add(scope);
    if (layer.route?.stack) collect(layer.route.stack, into, seen);
    const nested = typeof layer.handle === 'function' && !seen.has(layer.handle) ? stackOf(layer.handle) : undefined;
    if (nested) {
      seen.add(layer.handle);
      collect(nested, into, seen);
    }
  }
}

/** Finds the stack holding `middleware` (at any depth) and collects the scopes of the layers after it. */
function behind(layers: readonly Layer[], middleware: unknown, seen: Set<unknown>): Set<string> | undefined {
  const index = layers.findIndex((layer) => layer.handle === middleware);
  if (index !== -1) {
    const scopes = new Set<string>();
    collect(layers.slice(index + 1), scopes, new Set());
    return scopes;
  }
  for (const layer of layers) {
    const nested = typeof layer.handle === 'function' && !seen.has(layer.handle) ? stackOf(layer.handle) : undefined;
    if (!nested) continue;
    seen.add(layer.handle);
    const found = behind(nested, middleware, seen);
    if (found) return found;
  }
  return undefined;
}

/** The scopes required behind `middleware` in `app` (the request's `req.app`); none if it is not found. */
export function scopesBehind(app: unknown, middleware: unknown): Set<string> {
  const stack = stackOf(app);
  return (stack && behind(stack, middleware, new Set())) ?? new Set();
}
