/**
 * Get a Bearer token from a request per RFC 6750 §2: the Authorization header (§2.1), and only
 * when enabled the form body (§2.2) and the query string (§2.3). Nothing here decodes the token.
 */
import { certificateThumbprint, derFromPem } from '../proof/mtls';
import type { DpopRequest } from '../proof/dpop';
import { InvalidRequestError, InvalidTokenError, MissingTokenError } from '../http/errors';
import { hasCompactJwsForm } from './jws';

/** Where a token may be read from. */
export type TokenSource = 'header' | 'body' | 'query';

/** The parts of an HTTP request extraction looks at; adapters fill it from their framework. */
export interface TokenRequest {
  /** Every `Authorization` header value, in order (see {@link authorizationValues}). */
  readonly authorization?: string | readonly string[] | undefined;
  /** The HTTP method; a body token is only read from requests that have a body. */
  readonly method?: string | undefined;
  /** The request's `Content-Type`; a body token needs `application/x-www-form-urlencoded`. */
  readonly contentType?: string | undefined;
  /** The parsed query string (only read when `query` is an enabled source). */
  readonly query?: unknown;
  /** The parsed form body (only read when `body` is an enabled source). */
  readonly body?: unknown;
  /**
   * The SHA-256 thumbprint of the client's TLS certificate (RFC 8705), from a proxy's header when
   * `certificateHeader` is given, else from the TLS socket; only asked when mTLS binding is on.
   */
  clientCertificateThumbprint?(certificateHeader: string | undefined): string | undefined;
  /** What a DPoP proof is checked against (RFC 9449 §4.3); only asked for DPoP requests. */
  dpopRequest?(): DpopRequest;
  /**
   * The framework's request object, one per HTTP request. The engine remembers what it admitted for
   * it, so a later stage (a route's scope check, a guard after a Passport strategy) authorizes the
   * principal the engine found, never a `req.auth` set by other code, and a DPoP proof is verified
   * once per request.
   */
  readonly carrier?: object;
}

/** What extraction needs to know. */
export interface ExtractOptions {
  readonly tokenSources: ReadonlySet<TokenSource>;
  readonly maxTokenLength: number;
  /** When set, `Authorization: DPoP <token>` is read too (RFC 9449 §7.1). */
  readonly dpop?: unknown;
}

/** Whether the request's Authorization header uses the DPoP scheme. */
export function usesDpopScheme(request: TokenRequest): boolean {
  const values = request.authorization;
  // The value extraction reads: the header, or the only one of a list (more are refused there).
  const header = typeof values === 'string' ? values : values?.length === 1 ? values[0] : undefined;
  return typeof header === 'string' && header.length > 5 && header.charCodeAt(4) === 0x20 && spelledAnyCase(header, 0, 4, 'dpop');
}

/**
 * Whether `value[start, end)` is `lower` (lowercase ASCII letters) in any case, as schemes and header
 * names compare (RFC 9110 §11.1, §5.1). Code by code: `toLowerCase` made a new string twice a request.
 * `| 0x20` maps only `A`–`Z` onto `a`–`z` among the codes that can reach a letter.
 */
function spelledAnyCase(value: string, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if ((value.charCodeAt(start + i) | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const FORM_CONTENT_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/**
 * All `Authorization` values of a Node request. Node keeps only the first of duplicated
 * `Authorization` headers in `req.headers`, so we read `rawHeaders` to notice a second one.
 */
export function authorizationValues(rawHeaders: readonly string[]): string | string[] | undefined {
  let found: string | string[] | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (!spelledAnyCase(name, 0, name.length, 'authorization')) continue;
    const value = rawHeaders[i + 1]!;
    found = found === undefined ? value : Array.isArray(found) ? [...found, value] : [found, value];
  }
  return found;
}

/** A token not known to the verdict cache (fromHeader skips this for one that is: ~1.4 µs of pattern per reuse). */
function checkToken(token: string, where: string, options: ExtractOptions): string {
  if (token.length === 0) throw new InvalidRequestError('ERR_BEARER_MALFORMED', `the bearer token in the ${where} is empty`);
  // The size check comes first so that no pattern ever runs over an oversized input.
  if (token.length > options.maxTokenLength) throw new InvalidTokenError('ERR_TOKEN_TOO_LARGE', 'the access token exceeds the size limit');
  // A compact JWS's form (checked in jws.ts, which then skips its own pass) is a valid b64token.
  if (!hasCompactJwsForm(token) && !B64TOKEN.test(token)) {
    throw new InvalidRequestError('ERR_BEARER_MALFORMED', `the bearer token in the ${where} is not a valid b64token`);
  }
  return token;
}

/** `undefined` when the header is absent or of another scheme (reported in `otherScheme`). */
function fromHeader(request: TokenRequest, options: ExtractOptions, seen: { otherScheme: boolean }, known: ((token: string) => boolean) | undefined): string | undefined {
  const header = request.authorization;
  if (header === undefined) return undefined;
  if (typeof header !== 'string') {
    if (header.length > 1) throw severalCredentials();
    if (header.length === 0) return undefined;
  }
  const value = typeof header === 'string' ? header : header[0]!;
  const space = value.indexOf(' ');
  const schemeEnd = space === -1 ? value.length : space;
  // Auth schemes are case-insensitive (RFC 9110 §11.1).
  if (!spelledAnyCase(value, 0, schemeEnd, 'bearer') && !(options.dpop && spelledAnyCase(value, 0, schemeEnd, 'dpop'))) {
    if (value.includes(',') && holdsSeveralCredentials(value)) throw severalCredentials();
    if (value.trim().length > 0) seen.otherScheme = true;
    return undefined;
  }
  // 1*SP between scheme and token; Node already trimmed trailing whitespace.
  let start = space;
  while (start !== -1 && start < value.length && value.charCodeAt(start) === 0x20) start++;
  const token = start === -1 ? '' : value.slice(start);
  // A token the verdict cache holds is one b64token, checked when it was verified (no comma, so no
  // second credential): on the reused-token path, neither the pattern nor the scan below runs.
  // Its size is checked first, as in checkToken, so an oversized one is never even looked up.
  if (token.length <= options.maxTokenLength && known?.(token)) return token;
  if (token.includes(',') && holdsSeveralCredentials(value)) throw severalCredentials();
  return checkToken(token, 'Authorization header', options);
}

/** Two Authorization fields, or one value joining two credentials: Fetch's `Headers` cannot tell them apart, so neither does the answer. */
const severalCredentials = () => new InvalidRequestError('ERR_BEARER_MULTIPLE', 'the request carries more than one Authorization credential');

/** A part of a comma-joined value that starts a credential of a scheme we read. */
const BEARER_OR_DPOP = /^\s*(bearer|dpop)(\s|$)/i;
/** A part that starts a credential of any scheme: `auth-scheme 1*SP` and more (RFC 9110 §11.4). */
const CREDENTIAL = /^\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+ +\S/;

/**
 * Whether one `Authorization` value holds a Bearer (or DPoP) credential beside another: what a proxy
 * or the Fetch API's `Headers` makes of two fields (`Basic …, Bearer …`). Authorization holds one
 * credential (RFC 9110 §11.6.2), so such a value is two headers, refused as two, and never read as
 * "another scheme" (an optional route would serve it anonymously). Commas inside a quoted auth-param
 * (`Digest realm="a, Bearer b"`) split nothing.
 */
function holdsSeveralCredentials(value: string): boolean {
  let parts = splitOutsideQuotes(value);
  // A quote never closed quotes nothing (it is no quoted-string): it must not hide a second credential.
  if (parts === undefined) parts = value.split(',');
  if (parts.length === 1) return false;
  // A Bearer credential after another one, or another credential (`scheme SP …`) after a Bearer one;
  // `Bearer abc,def` is one malformed token, not two credentials.
  const later = parts.slice(1);
  return later.some((part) => BEARER_OR_DPOP.test(part)) || (BEARER_OR_DPOP.test(parts[0]!) && later.some((part) => CREDENTIAL.test(part)));
}

/** The comma-separated parts of `value`, commas in quoted-strings kept; `undefined` when a quote is left open. */
function splitOutsideQuotes(value: string): string[] | undefined {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const char = value.charCodeAt(i);
    if (quoted && char === 0x5c) i++; // a quoted-pair: the next character is literal
    else if (char === 0x22) quoted = !quoted;
    else if (char === 0x2c && !quoted) {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  if (quoted) return undefined;
  parts.push(value.slice(start));
  return parts;
}

function fromParameter(container: unknown, where: string, options: ExtractOptions): string | undefined {
  if (typeof container !== 'object' || container === null || !Object.hasOwn(container, 'access_token')) return undefined;
  const value = (container as Record<string, unknown>).access_token;
  if (Array.isArray(value)) throw new InvalidRequestError('ERR_BEARER_MULTIPLE', `the ${where} has more than one access_token`);
  if (typeof value !== 'string') throw new InvalidRequestError('ERR_BEARER_MALFORMED', `the access_token in the ${where} is not a string`);
  return checkToken(value, where, options);
}

function hasFormBody(request: TokenRequest): boolean {
  const method = request.method?.toUpperCase();
  return method !== 'GET' && method !== 'HEAD' && request.contentType !== undefined && FORM_CONTENT_TYPE.test(request.contentType);
}

/**
 * The bearer token of `request`.
 * @throws {@link MissingTokenError} (401, bare challenge) when there is none, or only another scheme;
 * {@link InvalidRequestError} (400) when it is malformed, empty or sent in more than one place;
 * {@link InvalidTokenError} `ERR_TOKEN_TOO_LARGE` when it exceeds `maxTokenLength`. `known` names tokens
 * already verified (the verdict cache's), whose b64token syntax need not be checked again.
 */
export function extractBearerToken(request: TokenRequest, options: ExtractOptions, known?: (token: string) => boolean): string {
  const seen = { otherScheme: false };
  const sources = options.tokenSources;
  let token = sources.has('header') ? fromHeader(request, options, seen, known) : undefined;
  for (const source of ['body', 'query'] as const) {
    if (!sources.has(source) || (source === 'body' && !hasFormBody(request))) continue;
    const found = fromParameter(source === 'body' ? request.body : request.query, source === 'body' ? 'request body' : 'query string', options);
    if (found === undefined) continue;
    // RFC 6750 §2: clients MUST NOT use more than one method per request.
    if (token !== undefined) throw new InvalidRequestError('ERR_BEARER_MULTIPLE', 'the request carries a token in more than one place');
    token = found;
  }
  if (token !== undefined) return token;
  throw new MissingTokenError(seen.otherScheme ? 'the Authorization scheme is not Bearer' : 'no bearer token in the request');
}

/** The Node request fields extraction reads; `IncomingMessage` has them. */
export interface NodeRequestLike {
  readonly rawHeaders: readonly string[];
  readonly method?: string | undefined;
  readonly headers: { readonly 'content-type'?: string | undefined; readonly [name: string]: string | string[] | undefined };
  /** The request target (path and query). */
  readonly url?: string | undefined;
  /** The connection; a TLS socket offers the peer certificate. */
  readonly socket?: object | null;
}

/** Thumbprints by TLS socket: a keep-alive connection presents one certificate for all its requests. */
const thumbprints = new WeakMap<object, string | undefined>();

/**
 * A {@link TokenRequest} for a Node HTTP request. `parsed` gives the framework's parsed query and
 * body; they are read lazily, only when those sources are enabled. A class, not an object literal
 * with getters: V8 builds literal accessors on a slow path, which cost ~15 µs a request in Express.
 */
class NodeTokenRequest implements TokenRequest {
  readonly #parsed: { readonly query?: unknown; readonly body?: unknown } | undefined;
  readonly #message: NodeRequestLike;
  readonly #carrier: object;
  // Read on first use: a stage that finds its request already admitted reads no header at all.
  #authorization: string | string[] | undefined | null = null;

  constructor(message: NodeRequestLike, parsed: { readonly query?: unknown; readonly body?: unknown } | undefined, carrier: object | undefined) {
    this.#message = message;
    this.#parsed = parsed;
    this.#carrier = carrier ?? message;
  }

  get carrier(): object {
    return this.#carrier;
  }

  get authorization(): string | string[] | undefined {
    if (this.#authorization === null) this.#authorization = authorizationValues(this.#message.rawHeaders);
    return this.#authorization;
  }

  get method(): string | undefined {
    return this.#message.method;
  }

  get contentType(): string | undefined {
    return this.#message.headers['content-type'];
  }

  get query(): unknown {
    return this.#parsed?.query;
  }

  get body(): unknown {
    return this.#parsed?.body;
  }

  dpopRequest(): DpopRequest {
    const { rawHeaders, method, url, headers, socket } = this.#message;
    const proofs: string[] = [];
    for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === 'dpop') proofs.push(rawHeaders[i + 1]!);
    const host = headers.host;
    return {
      proofs,
      method: method ?? 'GET',
      target: url ?? '/',
      host: typeof host === 'string' ? host : undefined,
      secure: (socket as { encrypted?: boolean } | null | undefined)?.encrypted === true,
    };
  }

  clientCertificateThumbprint(certificateHeader: string | undefined): string | undefined {
    if (certificateHeader !== undefined) {
      const value = this.#message.headers[certificateHeader.toLowerCase()];
      // Node joins a repeated header with ", " (a certificate has no comma, even URL-encoded): a client
      // could send a victim's public certificate first and the proxy append the real one. No certificate then.
      const der = typeof value === 'string' && !value.includes(',') ? derFromPem(value) : undefined;
      return der && certificateThumbprint(der);
    }
    return socketThumbprint(this.#message.socket);
  }
}

/** The SHA-256 thumbprint of the certificate a TLS socket's peer presented; `undefined` without TLS or one. */
export function socketThumbprint(value: object | null | undefined): string | undefined {
  const socket = value as { getPeerCertificate?(detailed: boolean): { raw?: Buffer } | null } | null | undefined;
  if (!socket || typeof socket.getPeerCertificate !== 'function') return undefined;
  if (!thumbprints.has(socket)) {
    const raw = socket.getPeerCertificate(false)?.raw;
    thumbprints.set(socket, raw && raw.length ? certificateThumbprint(raw) : undefined);
  }
  return thumbprints.get(socket);
}

/**
 * A {@link TokenRequest} for a Node HTTP request; see {@link NodeTokenRequest}. `carrier` is the object
 * the engine marks with its admission (default: the request itself): an adapter may name another object
 * of the same request's life (Express's `res.locals`), when adding properties to the request costs more.
 */
export function tokenRequestFromNode(message: NodeRequestLike, parsed?: { readonly query?: unknown; readonly body?: unknown }, carrier?: object): TokenRequest {
  return new NodeTokenRequest(message, parsed, carrier);
}
