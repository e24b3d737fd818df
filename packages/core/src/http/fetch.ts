/**
 * The web-standard entry: a Fetch API `Request` in, the principal or a refusal `Response` out, for any
 * fetch-based server (Hono, Cloudflare Workers, `Deno.serve`, `Bun.serve`, Next.js route handlers).
 * A translation of the request into a {@link TokenRequest}; every rule is the engine's.
 */
import { refusalAnswer, type HttpAnswer } from './answers';
import type { RequestInfo } from '../hooks/audit';
import { socketThumbprint, type TokenRequest } from '../token/bearer';
import { certificateThumbprint, derFromPem } from '../proof/mtls';
import type { DpopRequest } from '../proof/dpop';
import { Scopeguard } from '../pipeline/engine';
import { InvalidRequestError, ScopeguardError } from './errors';
import { readTextAtMost } from '../keys/json-endpoint';
import type { Principal } from '../pipeline/principal';
import type { ScopeRequirement } from '../pipeline/scopes';

const FORM_CONTENT_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;
/** The largest form body read for a token (Express's urlencoded parser defaults to 100 kB). */
const MAX_FORM_BYTES = 100 * 1024;

/** What a fetch-based adapter may add to a Request: parsed parts and the objects of its runtime. */
export interface FetchRequestExtras {
  /** The object the engine marks with its admission (default: the `Request`). */
  readonly carrier?: object;
  /** The form body, already read (the Request's own body is then never touched). */
  readonly body?: unknown;
  /**
   * The TLS socket of the connection, where the runtime exposes it (Node servers: Hono's
   * `c.env.incoming.socket`), for certificate-bound tokens (RFC 8705) without a proxy header.
   */
  readonly socket?: object | null;
}

/**
 * A {@link TokenRequest} for a Fetch API `Request`. Fetch joins repeated headers with ", ": a bearer
 * token has no comma, so a joined `Authorization` whose parts carry Bearer or DPoP credentials is
 * read as the several headers it was (and refused as such, RFC 6750 §2).
 */
class FetchTokenRequest implements TokenRequest {
  readonly #request: Request;
  readonly #extras: FetchRequestExtras | undefined;
  #url: URL | undefined;

  constructor(request: Request, extras: FetchRequestExtras | undefined) {
    this.#request = request;
    this.#extras = extras;
  }

  get carrier(): object {
    return this.#extras?.carrier ?? this.#request;
  }

  get authorization(): string | string[] | undefined {
    const value = this.#request.headers.get('authorization');
    // Two fields arrive joined with a comma; bearer extraction refuses a value holding two credentials.
    return value === null ? undefined : value;
  }

  get method(): string {
    return this.#request.method;
  }

  get contentType(): string | undefined {
    return this.#request.headers.get('content-type') ?? undefined;
  }

  get query(): unknown {
    return accessTokenParameter(this.#parsedUrl().searchParams);
  }

  get body(): unknown {
    return this.#extras?.body;
  }

  dpopRequest(): DpopRequest {
    const url = this.#parsedUrl();
    const header = this.#request.headers.get('dpop');
    return {
      // A proof is a compact JWS (no comma): joined repeats split back into the proofs sent.
      proofs: header === null ? [] : header.split(',').map((proof) => proof.trim()),
      method: this.#request.method,
      target: `${url.pathname}${url.search}`,
      host: url.host,
      secure: url.protocol === 'https:',
    };
  }

  clientCertificateThumbprint(certificateHeader: string | undefined): string | undefined {
    if (certificateHeader === undefined) return socketThumbprint(this.#extras?.socket);
    const value = this.#request.headers.get(certificateHeader);
    // As on Node: a repeated header (joined with ", ") names no certificate.
    const der = value !== null && !value.includes(',') ? derFromPem(value) : undefined;
    return der && certificateThumbprint(der);
  }

  #parsedUrl(): URL {
    return (this.#url ??= new URL(this.#request.url));
  }
}

/** A {@link TokenRequest} for a Fetch API `Request`; see {@link FetchRequestExtras}. */
export function tokenRequestFromFetch(request: Request, extras?: FetchRequestExtras): TokenRequest {
  return new FetchTokenRequest(request, extras);
}

/**
 * The form body of `request` when a body token can be in it (the `body` token source is on, the
 * request has a form content type and a method with a body), read from a clone so that the app can
 * still read the body itself; `undefined` otherwise.
 */
export async function formBodyOf(engine: Scopeguard, request: Request): Promise<Record<string, unknown> | undefined> {
  if (!engine.options.tokenSources.has('body') || request.method === 'GET' || request.method === 'HEAD') return undefined;
  if (!FORM_CONTENT_TYPE.test(request.headers.get('content-type') ?? '')) return undefined;
  const tooLarge = () => new InvalidRequestError('ERR_BEARER_MALFORMED', `the form body exceeds ${MAX_FORM_BYTES} bytes`);
  if (Number(request.headers.get('content-length') ?? 0) > MAX_FORM_BYTES) throw tooLarge();
  // Already read by other code (a body parser before us): no body token can be read, none is taken.
  if (request.bodyUsed || request.body === null) return undefined;
  let text: string;
  try {
    // Counted in bytes as they arrive (a chunked upload has no Content-Length): never read past the cap.
    text = await readTextAtMost(request.clone().body!, MAX_FORM_BYTES, tooLarge);
  } catch (error) {
    if (error instanceof InvalidRequestError) throw error;
    throw new InvalidRequestError('ERR_BEARER_MALFORMED', 'the form body could not be read');
  }
  return accessTokenParameter(new URLSearchParams(text));
}

/** `access_token` as bearer extraction reads parameters: one value, or all of them (refused as several). */
function accessTokenParameter(params: URLSearchParams): Record<string, unknown> {
  const values = params.getAll('access_token');
  return values.length === 0 ? {} : { access_token: values.length === 1 ? values[0] : values };
}

/** An {@link HttpAnswer} as a Fetch API `Response` (HEAD answers carry no body). */
export function responseOf(answer: HttpAnswer, method?: string): Response {
  return new Response(method === 'HEAD' ? null : answer.body, { status: answer.status, headers: answer.headers });
}

/**
 * Admits a Fetch API `Request` through `engine`'s pipeline: the principal, or the refusal as a
 * `Response` (status, `WWW-Authenticate`, JSON body) to return as it is. Never rejects for a refusal.
 *
 * ```ts
 * const auth = await admitFetch(guard, request, [scopeRequirement('all', ['orders.read'])]);
 * if (auth instanceof Response) return auth;
 * ```
 */
export function admitFetch(
  engine: Scopeguard,
  request: Request,
  requirements?: readonly ScopeRequirement[],
  extras?: FetchRequestExtras,
  info?: RequestInfo,
): Promise<Principal | Response> {
  const verdict = admitFetchNow(engine, request, requirements, extras, info);
  return verdict instanceof Promise ? verdict : Promise.resolve(verdict);
}

/**
 * {@link admitFetch}, with the verdict itself when nothing had to be awaited (a cached token, a new
 * one whose keys are loaded, a refusal): for adapters whose framework awaits a value or a promise
 * alike, so that such a request waits for no tick of ours. A promise while keys, a remote hook or the
 * form body are awaited; never rejects (nor throws) for a refusal.
 */
export function admitFetchNow(
  engine: Scopeguard,
  request: Request,
  requirements?: readonly ScopeRequirement[],
  extras?: FetchRequestExtras,
  info?: RequestInfo,
): Principal | Response | Promise<Principal | Response> {
  const audit = info ?? (engine.auditing ? fetchRequestInfo(request) : undefined);
  // The body is read only when a token may be in it, and not again by a later stage (a route's
  // scope check) on a request this engine admitted: the common path awaits nothing here.
  const readBody = extras?.body === undefined && engine.options.tokenSources.has('body') && Scopeguard.admitting(extras?.carrier ?? request) !== engine;
  if (!readBody) return settle(engine, tokenRequestFromFetch(request, extras), requirements, audit);
  return formBodyOf(engine, request).then(
    (body) => settle(engine, tokenRequestFromFetch(request, { ...extras, body }), requirements, audit),
    (error: unknown) => refusalResponse(engine, error),
  );
}

/** The engine's verdict as a principal or a refusal Response (synchronous verdicts need no tick). */
function settle(engine: Scopeguard, request: TokenRequest, requirements: readonly ScopeRequirement[] | undefined, info: RequestInfo | undefined): Principal | Response | Promise<Principal | Response> {
  try {
    const admitted = engine.admit(request, requirements, info);
    return admitted instanceof Promise ? admitted.then(undefined, (error: unknown) => refusalResponse(engine, error)) : admitted;
  } catch (error) {
    return refusalResponse(engine, error);
  }
}

/** A refusal as a Response; anything else (a bug, never a refusal) goes on as an error. */
function refusalResponse(engine: Scopeguard, error: unknown): Response {
  if (error instanceof ScopeguardError) return responseOf(refusalAnswer(engine, error));
  throw error;
}

/** Method and path of a Fetch request, for audit events. */
export function fetchRequestInfo(request: Request): RequestInfo {
  return { method: request.method, route: new URL(request.url).pathname };
}
