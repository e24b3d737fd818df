/**
 * Opaque tokens through OAuth 2.0 Token Introspection (RFC 7662): the issuer's endpoint says whether a
 * token is `active` and what it carries. The client authenticates to the endpoint (RFC 7662 §2.1);
 * answers are cached by the token's SHA-256 (never the token itself) until min(`exp`, ttl); failures
 * are never cached, and an endpoint that cannot answer is a 503, never an allow.
 */
import { LRUCache } from 'lru-cache';
import { platform } from '../keys/platform';
import { InvalidTokenError, UnavailableError } from '../http/errors';
import { FetchFailure, fetchJsonObject } from '../keys/json-endpoint';
import { traced, type Telemetry } from './telemetry';
import { boolean, fail, httpUrl, number, object, only, timeout } from '../pipeline/option-checks';

/** How to reach an issuer's introspection endpoint. */
export interface IntrospectionOptions {
  /** The endpoint URL. */
  endpoint: string;
  /** This API's client credentials at the authorization server. */
  clientId: string;
  clientSecret: string;
  /** `client_secret_basic` (default) or `client_secret_post`. */
  authMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Keep an active answer at most this many seconds (and never past `exp`). Default 60. */
  ttl?: number;
  /** A slower endpoint is a failure (503). Milliseconds, default 5000. */
  timeoutMs?: number;
  /**
   * Answers are held to the JWT claim rules, so an answer without `aud` is refused. Set this only
   * when the endpoint itself answers `active: true` solely for tokens meant for this API (as
   * LemonLDAP::NG, which sends no `aud`, does for its relying parties): an answer without `aud` is
   * then accepted. An `aud` that is present must still name this API. Default false.
   */
  endpointChecksAudience?: boolean;
}

/** What an active token's introspection answer carries (RFC 7662 §2.2), as claims. */
export type IntrospectedClaims = Record<string, unknown> & { active: true };

const MAX_ENTRIES = 10_000;

/** An introspection client with its answer cache. */
export class Introspector {
  readonly #options: Required<Omit<IntrospectionOptions, 'endpointChecksAudience'>>;
  readonly #cache = new LRUCache<string, { claims: IntrospectedClaims; until: number }>({ max: MAX_ENTRIES });
  readonly #pending = new Map<string, Promise<IntrospectedClaims>>();
  readonly #clock: () => number;
  readonly #telemetry: Telemetry | undefined;
  /** How many requests reached the endpoint. */
  requests = 0;

  /** @param telemetry traces and counts each request to the endpoint (telemetry.ts). */
  constructor(options: IntrospectionOptions, clock: () => number = Date.now, telemetry?: Telemetry) {
    this.#telemetry = telemetry;
    // endpointChecksAudience is the claims validator's (claims.ts), not the client's.
    const { endpointChecksAudience: _validatorsOption, ...client } = options;
    this.#options = { authMethod: 'client_secret_basic', ttl: 60, timeoutMs: 5000, ...client };
    this.#clock = clock;
  }

  /** The cached answer for `token`, if still fresh. */
  cached(token: string): IntrospectedClaims | undefined {
    const entry = this.#cache.get(digest(token));
    return entry && this.#clock() < entry.until ? entry.claims : undefined;
  }

  /** Introspects `token` (one request for concurrent callers). @throws 401 inactive, 503 unreachable. */
  introspect(token: string): Promise<IntrospectedClaims> {
    const key = digest(token);
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = traced(this.#telemetry, 'introspection', () => this.#ask(token)).then((claims) => {
        const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : Infinity;
        this.#cache.set(key, { claims, until: Math.min(exp, this.#clock() + this.#options.ttl * 1000) });
        return claims;
      });
      pending.finally(() => this.#pending.delete(key)).catch(() => undefined);
      this.#pending.set(key, pending);
    }
    return pending;
  }

  async #ask(token: string): Promise<IntrospectedClaims> {
    const { endpoint, clientId, clientSecret, authMethod, timeoutMs } = this.#options;
    const form = new URLSearchParams({ token, token_type_hint: 'access_token' });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (authMethod === 'client_secret_basic') {
      // RFC 6749 §2.3.1: both form-encoded first, so the credentials are ASCII and btoa takes them.
      headers.authorization = `Basic ${btoa(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`)}`;
    } else {
      form.set('client_id', clientId);
      form.set('client_secret', clientSecret);
    }
    this.requests++;
    let answer: Record<string, unknown>;
    try {
      answer = await fetchJsonObject(endpoint, timeoutMs, { method: 'POST', headers, body: form, redirect: 'manual' });
    } catch (cause) {
      // Still a 503 for the caller, but the operator learns it is our configuration, not an outage.
      const status = cause instanceof FetchFailure ? cause.status : undefined;
      const rejected = status === 401 || status === 403 ? new Error(`the introspection endpoint rejected this API's client credentials (HTTP ${status})`, { cause }) : cause;
      throw new UnavailableError('ERR_INTROSPECTION_UNAVAILABLE', 'the token could not be introspected', { cause: rejected });
    }
    // RFC 7662 §2.2: only `active: true` (the boolean) means active.
    if ((answer as { active?: unknown }).active !== true) throw new InvalidTokenError('ERR_TOKEN_INACTIVE', 'the token is not active');
    return answer as IntrospectedClaims;
  }
}

/** The cache key of a token: its SHA-256 where hashing is synchronous (Node), else the token itself. */
function digest(token: string): string {
  return platform().sha256Base64url?.(token) ?? token;
}

/** Whether `token` looks like a compact JWS (three base64url segments): opaque tokens do not. */
export function isCompactJws(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

// ── Options ─────────────────────────────────────────────────────────────────────────────────

/** An issuer entry's `introspection` option, with defaults applied. */
export function resolveIntrospection(value: unknown): IntrospectionOptions | undefined {
  if (value === undefined) return undefined;
  const input = object('introspection', value);
  only('introspection', input, ['endpoint', 'clientId', 'clientSecret', 'authMethod', 'ttl', 'timeoutMs', 'endpointChecksAudience']);
  const endpoint = httpUrl('introspection.endpoint', input.endpoint);
  for (const key of ['clientId', 'clientSecret'] as const) {
    if (typeof input[key] !== 'string' || (input[key] as string).length === 0) fail(`introspection.${key}`, 'must be a non-empty string');
  }
  const authMethod = input.authMethod ?? 'client_secret_basic';
  if (authMethod !== 'client_secret_basic' && authMethod !== 'client_secret_post') fail('introspection.authMethod', 'must be client_secret_basic or client_secret_post');
  return Object.freeze({
    endpoint,
    clientId: input.clientId as string,
    clientSecret: input.clientSecret as string,
    authMethod,
    ttl: number('introspection.ttl', input.ttl, 60, 0),
    timeoutMs: timeout('introspection.timeoutMs', input.timeoutMs, 5000),
    endpointChecksAudience: boolean('introspection.endpointChecksAudience', input.endpointChecksAudience),
  });
}
