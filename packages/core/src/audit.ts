/**
 * Audit events: one typed event per decision, for logging, metering and alerting. Events carry who
 * (client id, issuer), where (method, route), what was required and granted, and why a request was
 * refused; never the token, and never key material.
 */
import type { ScopeguardErrorCode } from './errors';

/** Where a decision was made, as the adapter knows it. */
export interface RequestInfo {
  readonly method?: string | undefined;
  /** The route template where known (`/orders/:id`), else the path. */
  readonly route?: string | undefined;
}

/** A decision. */
export interface DecisionEvent {
  /**
   * `authenticated`: a valid token (routes without a scope requirement end here);
   * `allowed`: the route's scope requirements were met; `refused`: 400, 401 or 403;
   * `unavailable`: 503, the decision could not be made (issuer keys or permissions unreachable).
   */
  readonly outcome: 'authenticated' | 'allowed' | 'refused' | 'unavailable';
  readonly at: Date;
  readonly method?: string | undefined;
  readonly route?: string | undefined;
  readonly clientId?: string | undefined;
  readonly issuer?: string | undefined;
  /** The scopes the route requires (every requirement, flattened). */
  readonly requiredScopes?: readonly string[];
  /** The effective permissions of the caller (scopes ∩ service-user permissions). */
  readonly effectiveScopes?: readonly string[];
  readonly status?: number;
  readonly code?: ScopeguardErrorCode;
  /** The refusal's sanitised description. */
  readonly reason?: string;
  /** For `unavailable`: what failed underneath (an error message; never token contents). */
  readonly cause?: string;
}

/** Calls `hook` without letting a faulty hook break the request it reports on. */
export function emit(hook: ((event: DecisionEvent) => void) | undefined, event: DecisionEvent): void {
  if (hook === undefined) return;
  try {
    hook(event);
  } catch {
    // An audit sink that throws must not turn an answer into a 500.
  }
}
