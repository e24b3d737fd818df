/**
 * Per-route (or per-router) scope requirements. The engine checks them against the principal it
 * admitted for this request in `scopeguard()`, never against whatever `req.auth` holds by then.
 * Requirements are validated when the route is defined.
 */
import type { ServerResponse } from 'node:http';
import { scopeRequirement, type ScopeRequirement } from '@scopeguard/core';
import { tokenRequestFromNode } from '@scopeguard/core/adapter';
import { carrierOf, contextOf, pass, requestInfo, type GuardedRequest, type Next } from './context';
import { SCOPES } from './declared-scopes';

/** A route-level check. */
export type ScopeCheck = (req: GuardedRequest, res: ServerResponse, next: Next) => void;

function check(requirement: ScopeRequirement): ScopeCheck {
  const requirements = [requirement];
  const routeCheck: ScopeCheck = (req, res, next) => {
    // The engine that admitted this request in scopeguard(); fail closed and loudly without one.
    const carrier = carrierOf(req, res);
    const context = contextOf(carrier);
    if (context === undefined) return next(new Error('scopeguard: requireScopes()/requireAnyScope() must run after the scopeguard() middleware'));
    const { engine } = context;
    const request = tokenRequestFromNode(req, req as { query?: unknown; body?: unknown }, carrier);
    pass(context, () => engine.admit(request, requirements, engine.auditing ? requestInfo(req) : undefined), req, res, next, carrier);
  };
  // For scopes_supported: the middleware's metadata reads them off the router (declared-scopes.ts).
  return Object.assign(routeCheck, { [SCOPES]: requirement.scopes });
}

/**
 * Requires every one of `scopes` (403 `insufficient_scope` otherwise).
 * @example app.post('/orders', requireScopes('orders.write'), createOrder)
 */
export function requireScopes(...scopes: string[]): ScopeCheck {
  return check(scopeRequirement('all', scopes));
}

/** Requires at least one of `scopes`. */
export function requireAnyScope(...scopes: string[]): ScopeCheck {
  return check(scopeRequirement('any', scopes));
}
