/**
 * Audit events: one typed event per decision, for logging, metering and alerting. Events carry who
 * (client id, issuer), where (method, route), what was required and granted, and why a request was
 * refused; never the token, and never key material.
 */
import type { ScopeguardErrorCode } from '../http/errors';
import { callSink } from './bounded-call';
import type { KeySetEvent } from '../keys/jwks';

/** Where a decision was made, as the adapter knows it. */
export interface RequestInfo {
  readonly method?: string | undefined;
  /** The route template where known (`/orders/:id`), else the path. */
  readonly route?: string | undefined;
}

/** A decision. */
export interface DecisionEvent {
  /**
   * `authenticated`: a valid token of a known service user (routes without a scope requirement end
   * here); `allowed`: then the route's scope requirements were met; `refused`: 400, 401 or 403;
   * `unavailable`: 503, the decision could not be made (issuer keys, permissions, introspection or
   * the DPoP replay store unreachable); `error`: 500, something failed that no rule foresaw.
   * A request reports the same sequence on every adapter: `authenticated` then `allowed` or
   * `refused` by the route's requirement, or a single `refused`, `unavailable` or `error`.
   */
  readonly outcome: 'authenticated' | 'allowed' | 'refused' | 'unavailable' | 'error';
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
  /**
   * For the operator: what the token said against the options ("token iss 'http://a' is not the
   * configured 'http://a/' (a trailing slash differs)"), values quoted, escaped and capped; never sent
   * to the client (see `ScopeguardError.detail`).
   */
  readonly detail?: string;
  /** For `unavailable` and `error`: what failed underneath (an error message; never token contents). */
  readonly cause?: string;
}

/** Calls `sink` without letting a faulty sink (one that throws or rejects) change the answer. */
export function emit(sink: ((event: DecisionEvent) => unknown) | undefined, event: DecisionEvent): void {
  if (sink !== undefined) callSink(sink, event);
}

/**
 * One log line for a decision, the same on every adapter: method and route, client, status and code,
 * why, and for an outage what failed underneath (the key set's URL and the reason). Never the token.
 *   `GET /orders/:id client=orders-worker allowed orders.read`
 *   `PATCH /orders/:id client=orders-reporter 403 ERR_INSUFFICIENT_SCOPE needs orders.write: the request requires …`
 */
export function describeDecision(event: DecisionEvent): string {
  const where = [event.method, event.route].filter(Boolean).join(' ') || '-';
  const who = event.clientId === undefined ? '' : ` client=${event.clientId}`;
  switch (event.outcome) {
    case 'authenticated':
      return `${where}${who} authenticated`;
    case 'allowed':
      return `${where}${who} allowed ${(event.requiredScopes ?? []).join(' ')}`.trimEnd();
    default: {
      const needs = event.requiredScopes && event.requiredScopes.length > 0 ? ` needs ${event.requiredScopes.join(' ')}` : '';
      const cause = event.cause === undefined ? '' : ` (${event.cause})`;
      const detail = event.detail === undefined ? '' : `: ${event.detail}`;
      return `${where}${who} ${event.status ?? '-'} ${event.code ?? '-'}${needs}: ${event.reason ?? ''}${detail}${cause}`;
    }
  }
}

/**
 * A sink that hands each event to `log` (a logger that throws is ignored) and then to the app's own
 * `sink`, whose promise it returns so the engine can ignore its rejection: how adapters add their
 * ready-made audit log beside `onDecision`.
 */
export function withAuditLog(
  log: (event: DecisionEvent) => void,
  sink: ((event: DecisionEvent) => void | Promise<unknown>) | undefined,
): (event: DecisionEvent) => void | Promise<unknown> {
  return (event) => {
    try {
      log(event);
    } catch {
      // A failing logger changes nothing, as any sink.
    }
    return sink?.(event);
  };
}

/**
 * One log line for a key-set change (the `onKeySet` event), as adapters write it to their logger:
 *   `scopeguard: the keys of https://as.example.com/ are stale (fetched 2026-11-26T09:00:00.000Z): serving the last good set; https://as.example.com/jwks answered HTTP 503`
 */
export function describeKeySet(event: KeySetEvent): string {
  const fetched = event.fetchedAt ? ` (fetched ${event.fetchedAt.toISOString()})` : '';
  switch (event.state) {
    case 'stale':
      return `scopeguard: the keys of ${event.issuer} are stale${fetched}: serving the last good set while the key set cannot be fetched; ${event.error ?? ''}`.trimEnd();
    case 'expired':
      return `scopeguard: the keys of ${event.issuer} are past jwks.maxStaleMs${fetched}: requests that need them get 503 until the key set can be fetched; ${event.error ?? ''}`.trimEnd();
    case 'unavailable':
      return `scopeguard: the keys of ${event.issuer} could not be fetched${event.jwksUri ? ` from ${event.jwksUri}` : ''}: requests that need them get 503 until they can; ${event.error ?? ''}`.trimEnd();
    case 'recovered':
      return `scopeguard: the keys of ${event.issuer} were fetched again${event.jwksUri ? ` from ${event.jwksUri}` : ''}: fresh`;
  }
}

/** Hands `event` to an app's `onKeySet` sink, if any: never awaited, its failures ignored (as for decisions). */
export function callKeySetSink(sink: ((event: KeySetEvent) => unknown) | undefined, event: KeySetEvent): void {
  if (sink !== undefined) callSink(sink, event);
}

