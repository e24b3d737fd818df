/**
 * The error family: every refusal has a stable `code`, knows its HTTP status and its
 * `WWW-Authenticate` challenge (RFC 6750 §3), and renders one JSON body.
 * Callers branch on `code`, never on message text.
 */

/** The OAuth error code of RFC 6750 §3.1, or `temporarily_unavailable` for a 503. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'temporarily_unavailable'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'server_error';

/** Stable codes of every refusal the engine can produce. */
export type ScopeguardErrorCode =
  | 'ERR_BEARER_MISSING'
  | 'ERR_BEARER_MALFORMED'
  | 'ERR_BEARER_MULTIPLE'
  | 'ERR_TOKEN_TOO_LARGE'
  | 'ERR_TOKEN_MALFORMED'
  | 'ERR_TOKEN_ALG_NOT_ALLOWED'
  | 'ERR_TOKEN_TYPE'
  | 'ERR_TOKEN_HEADER'
  | 'ERR_TOKEN_SIGNATURE'
  | 'ERR_TOKEN_KEY_NOT_FOUND'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_NOT_YET_VALID'
  | 'ERR_TOKEN_CLAIM'
  | 'ERR_TOKEN_NOT_CLIENT'
  | 'ERR_TOKEN_INACTIVE'
  | 'ERR_TOKEN_REVOKED'
  | 'ERR_CLIENT_INACTIVE'
  | 'ERR_TOKEN_BINDING'
  | 'ERR_DPOP_PROOF'
  | 'ERR_DPOP_NONCE'
  | 'ERR_INSUFFICIENT_SCOPE'
  | 'ERR_UNKNOWN_CLIENT'
  | 'ERR_KEYS_UNAVAILABLE'
  | 'ERR_PERMISSIONS_UNAVAILABLE'
  | 'ERR_INTROSPECTION_UNAVAILABLE'
  | 'ERR_REPLAY_STORE_UNAVAILABLE'
  | 'ERR_ISSUER_LOOKUP_UNAVAILABLE'
  | 'ERR_REVOCATION_UNAVAILABLE'
  | 'ERR_INTERNAL';

/** What an adapter writes back: status, headers and the JSON body. */
export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  /** `error` is absent for a request without credentials, as in its bare challenge (RFC 6750 §3.1). */
  body: { error?: string; error_description: string };
}

/** Options for rendering a challenge. */
export interface ChallengeOptions {
  /** The `realm` auth-param; validated at configuration time. */
  realm?: string | undefined;
  /** RFC 9728 §5.1: the URL of this API's protected resource metadata, on 401 and 403 challenges. */
  resourceMetadata?: string | undefined;
  /** RFC 9449 §7.1: when DPoP is accepted, its algorithms, offered in a `DPoP` challenge on 401. */
  dpopAlgs?: string | undefined;
  /**
   * A scope hint on a 401: the scopes this request needs (RFC 6750 §3 allows `scope` on any challenge;
   * MCP's authorization flow asks for it), so a client can ask for them. A 403 names its own.
   */
  scope?: string | undefined;
}

const RENDERING = Symbol('scopeguard.rendering');

/** A 503's `Retry-After`: a key set that failed is fetched again after this long (jwks.ts). */
export const RETRY_AFTER_SECONDS = 5;

/**
 * Base class of every refusal. `status` is the HTTP status, `error` the OAuth error code
 * (absent for a request that carried no credentials: RFC 6750 §3.1 says to send no code then).
 */
export class ScopeguardError extends Error {
  readonly code: ScopeguardErrorCode;
  readonly status: number;
  readonly error: OAuthErrorCode | undefined;
  /** Sanitised, safe to put in a header; never holds token contents. */
  readonly description: string;
  /**
   * For the operator, never the client: what the token said against what the options say ("token iss
   * 'http://a' is not the configured 'http://a/' (a trailing slash differs)"), its values quoted,
   * escaped and capped. The log and the CLI show it; no response carries it.
   */
  readonly detail: string | undefined;
  /** The scheme of the request that failed: a DPoP request gets a `DPoP` challenge. */
  scheme: 'Bearer' | 'DPoP' = 'Bearer';

  constructor(
    code: ScopeguardErrorCode,
    status: number,
    error: OAuthErrorCode | undefined,
    description: string,
    options?: { cause?: unknown; detail?: string | undefined },
  ) {
    super(description, options);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.error = error;
    this.description = sanitizeDescription(description);
    this.detail = options?.detail;
  }

  /** The `WWW-Authenticate` value, or `undefined` for statuses that carry no challenge (503). */
  challenge(options: ChallengeOptions = {}): string | undefined {
    if (this.status !== 400 && this.status !== 401 && this.status !== 403) return undefined;
    const params: string[] = [];
    if (options.realm !== undefined) params.push(`realm="${options.realm}"`);
    if (this.error !== undefined) {
      params.push(`error="${this.error}"`, `error_description="${this.description}"`);
      params.push(...this.extraChallengeParams());
    }
    // Scope-tokens only (validated by the caller's requirements): never text from the request.
    if (options.scope !== undefined && this.status === 401) params.push(`scope="${options.scope}"`);
    // A URL validated at configuration time; RFC 9728 §5.1 asks for it on 401, we send it on 403 too.
    if (options.resourceMetadata !== undefined && this.status !== 400) params.push(`resource_metadata="${options.resourceMetadata}"`);
    if (this.scheme === 'DPoP') {
      if (options.dpopAlgs !== undefined) params.push(`algs="${options.dpopAlgs}"`);
      return `DPoP ${params.join(', ')}`;
    }
    const bearer = params.length ? `Bearer ${params.join(', ')}` : 'Bearer';
    // RFC 9449 §7.1: a 401 also offers DPoP, with the algorithms accepted for proofs.
    return options.dpopAlgs !== undefined && this.status === 401 ? `${bearer}, DPoP algs="${options.dpopAlgs}"` : bearer;
  }

  /** As http-errors: the description is safe to show a client (it is sanitised and never holds token contents). */
  readonly expose = true;
  /** The rendering options an engine bound to this refusal (see {@link withRendering}). */
  [RENDERING]?: ChallengeOptions;

  /** The HTTP status, under the name Express's and Koa's error handlers read. */
  get statusCode(): number {
    return this.status;
  }

  /** The response headers (`WWW-Authenticate`, `Retry-After`, …), as http-errors' `headers`. */
  get headers(): Record<string, string> {
    return this.toResponse().headers;
  }

  /**
   * This refusal answered with another challenge scheme. A copy: one refusal can be shared by
   * concurrent requests (one failed lookup answers all its waiters), so it is never changed in place.
   */
  withScheme(scheme: 'Bearer' | 'DPoP'): this {
    if (this.scheme === scheme) return this;
    const copy = this.#copy();
    copy.scheme = scheme;
    return copy;
  }

  /**
   * A copy that renders itself with `options` (an engine's realm, resource metadata URL, DPoP
   * algorithms) when `toResponse()` or `headers` is read without options, for an app's or a
   * framework's error handler. Its `stack` is only its name and description: a default error
   * handler that prints stacks prints nothing of our internals.
   */
  withRendering(options: ChallengeOptions): this {
    const copy = this.#copy();
    copy[RENDERING] = options;
    Object.defineProperty(copy, 'stack', { value: `${this.name}: ${this.description}`, configurable: true, writable: true });
    return copy;
  }

  #copy(): this {
    return Object.create(Object.getPrototypeOf(this) as object, Object.getOwnPropertyDescriptors(this)) as this;
  }

  /** Headers besides the challenge (`DPoP-Nonce`). */
  protected extraHeaders(): Record<string, string> {
    return {};
  }

  /** Further auth-params (`scope="…"` on a 403). */
  protected extraChallengeParams(): string[] {
    return [];
  }

  /** Status, headers and JSON body, ready for any HTTP framework; by default with the options an engine bound. */
  toResponse(options: ChallengeOptions = this[RENDERING] ?? {}): ErrorResponse {
    // Canonical spelling: Node sends header names as given, and RFC 6750 writes WWW-Authenticate.
    const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
    const challenge = this.challenge(options);
    if (challenge !== undefined) headers['WWW-Authenticate'] = challenge;
    if (this.status === 503) headers['Retry-After'] = String(RETRY_AFTER_SECONDS);
    Object.assign(headers, this.extraHeaders());
    return {
      status: this.status,
      headers,
      // No credentials: no OAuth code (RFC 6750 §3.1), as in the bare challenge; the body still says what happened.
      body: this.error === undefined ? { error_description: this.description } : { error: this.error, error_description: this.description },
    };
  }
}

/** 401 with a bare challenge: no credentials, or credentials of another scheme (RFC 6750 §3.1). */
export class MissingTokenError extends ScopeguardError {
  constructor(description = 'no bearer token in the request') {
    super('ERR_BEARER_MISSING', 401, undefined, description);
  }
}

/** 400 `invalid_request`: the request itself is malformed (RFC 6750 §3.1). */
export class InvalidRequestError extends ScopeguardError {
  constructor(code: 'ERR_BEARER_MALFORMED' | 'ERR_BEARER_MULTIPLE', description: string) {
    super(code, 400, 'invalid_request', description);
  }
}

/** 401 `invalid_token`: expired, revoked, malformed or otherwise invalid (RFC 6750 §3.1). */
export class InvalidTokenError extends ScopeguardError {
  /** The claim or header parameter at fault, where there is one. */
  readonly claim: string | undefined;

  constructor(
    code: Exclude<
      ScopeguardErrorCode,
      | 'ERR_BEARER_MISSING'
      | 'ERR_BEARER_MALFORMED'
      | 'ERR_BEARER_MULTIPLE'
      | 'ERR_INSUFFICIENT_SCOPE'
      | 'ERR_UNKNOWN_CLIENT'
      | 'ERR_KEYS_UNAVAILABLE'
      | 'ERR_PERMISSIONS_UNAVAILABLE'
      | 'ERR_INTROSPECTION_UNAVAILABLE'
      | 'ERR_REPLAY_STORE_UNAVAILABLE'
      | 'ERR_ISSUER_LOOKUP_UNAVAILABLE'
      | 'ERR_REVOCATION_UNAVAILABLE'
      | 'ERR_INTERNAL'
    >,
    description: string,
    options?: { claim?: string; cause?: unknown; detail?: string | undefined },
  ) {
    super(code, 401, 'invalid_token', description, options);
    this.claim = options?.claim;
  }
}

/** 403 `insufficient_scope`; the challenge names the scopes the route needs (RFC 6750 §3). */
export class InsufficientScopeError extends ScopeguardError {
  /** The scopes the request needed, as in the challenge's `scope` attribute. */
  readonly requiredScopes: readonly string[];

  constructor(
    requiredScopes: readonly string[],
    description = 'the token does not grant the scopes this resource requires',
    code: 'ERR_INSUFFICIENT_SCOPE' | 'ERR_UNKNOWN_CLIENT' = 'ERR_INSUFFICIENT_SCOPE',
    detail?: string,
  ) {
    super(code, 403, 'insufficient_scope', description, { detail });
    this.requiredScopes = requiredScopes;
  }

  /** 403 `ERR_UNKNOWN_CLIENT`: the client is not a service user of this API (or the app refused it); `detail` for the operator. */
  static unknownClient(detail?: string): InsufficientScopeError {
    return new InsufficientScopeError([], 'the client is not a known service user of this API', 'ERR_UNKNOWN_CLIENT', detail);
  }

  protected override extraChallengeParams(): string[] {
    // Scope tokens were validated against RFC 6749 §3.3 when the requirement was defined.
    return this.requiredScopes.length ? [`scope="${this.requiredScopes.join(' ')}"`] : [];
  }
}

/**
 * 503: the decision could not be made because a dependency (the issuer's JWKS or discovery
 * document, the permission source, the introspection endpoint, the DPoP replay store) failed, timed
 * out or answered nonsense. Never a 401: an outage is not a bad token. The cause is for the audit
 * event only; the answer says nothing of it.
 */
export class UnavailableError extends ScopeguardError {
  constructor(
    code:
      | 'ERR_KEYS_UNAVAILABLE'
      | 'ERR_PERMISSIONS_UNAVAILABLE'
      | 'ERR_INTROSPECTION_UNAVAILABLE'
      | 'ERR_REPLAY_STORE_UNAVAILABLE'
      | 'ERR_ISSUER_LOOKUP_UNAVAILABLE'
      | 'ERR_REVOCATION_UNAVAILABLE',
    description: string,
    options?: { cause?: unknown },
  ) {
    super(code, 503, 'temporarily_unavailable', description, options);
  }
}

/**
 * 500: something failed that no rule foresaw (a bug, in scopeguard or in a hook's caller). The
 * answer is generic, with no message or stack; the cause goes to the audit event.
 */
export class InternalError extends ScopeguardError {
  constructor(cause: unknown) {
    super('ERR_INTERNAL', 500, 'server_error', 'the request could not be processed', { cause });
  }
}

/** Thrown at construction or definition time for a wrong option; never reaches a client. */
export class ScopeguardConfigError extends TypeError {
  readonly code = 'ERR_INVALID_OPTION';
  /** The option at fault, as a dotted path (`jwks.timeout`). */
  readonly option: string;
  /** What is wrong with it (the message without the option's name). */
  readonly reason: string;

  constructor(option: string, reason: string) {
    super(`scopeguard: option "${option}" ${reason}`);
    this.name = 'ScopeguardConfigError';
    this.option = option;
    this.reason = reason;
  }
}

// RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
const UNSAFE_DESCRIPTION_CHARS = /[^\x20\x21\x23-\x5b\x5d-\x7e]/g;
const MAX_DESCRIPTION_LENGTH = 200;

/** Makes text safe for the `error_description` auth-param: no quotes, backslashes or control characters. */
export function sanitizeDescription(text: string): string {
  const clean = text.replace(UNSAFE_DESCRIPTION_CHARS, ' ');
  return clean.length > MAX_DESCRIPTION_LENGTH ? clean.slice(0, MAX_DESCRIPTION_LENGTH) : clean;
}

/** True for errors of this family. */
export function isScopeguardError(value: unknown): value is ScopeguardError {
  return value instanceof ScopeguardError;
}
