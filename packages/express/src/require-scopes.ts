/**
 * Per-route (or per-router) scope requirements, checked against the effective permissions the
 * middleware put on `req.auth`. Requirements are validated when the route is defined.
 */
import type { ServerResponse } from 'node:http';
import { ScopeguardError, scopeRequirement, type ScopeRequirement } from '@scopeguard/core';
import { contextOf, refuse, requestInfo, type GuardedRequest, type Next } from './context';
import { declaredScopes } from './declared-scopes';

/** A route-level check. */
export type ScopeCheck = (req: GuardedRequest, res: ServerResponse, next: Next) => void;

function check(requirement: ScopeRequirement): ScopeCheck {
  for (const scope of requirement.scopes) declaredScopes.add(scope);
  return (req, res, next) => {
    const context = contextOf(req);
    if (context === undefined || req.auth === undefined) {
      next(new Error('scopeguard: requireScopes()/requireAnyScope() must run after the scopeguard() middleware'));
      return;
    }
    const { engine } = context;
    try {
      engine.authorize(req.auth, requirement, engine.auditing ? requestInfo(req) : undefined);
    } catch (error) {
      if (error instanceof ScopeguardError) return refuse(engine, context.onError, error, req, res, next);
      return next(error);
    }
    next();
  };
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
