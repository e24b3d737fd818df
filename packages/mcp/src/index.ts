/**
 * @scopeguard/mcp — the resource-server guard the MCP authorization specification asks of every HTTP
 * MCP server, on scopeguard's engine: the token verified for this server as audience (RFC 8707), the
 * intersection with the client's permissions, per-method and per-tool scopes checked before the tool
 * runs (403 `insufficient_scope` with `scope` and `resource_metadata`), RFC 9728 metadata, and outages
 * answered 503 — never a 500, never a bare 401 with an error code. Translation only: every rule is core's.
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  Scopeguard,
  ScopeguardError,
  accessTokenOf,
  isPrincipal,
  scopeRequirement,
  type GuardOptions,
  type Principal,
  type ScopeRequirement,
} from '@scopeguard/core';
import {
  engineFrom,
  meetsRequirement,
  isMetadataRequest,
  metadataAnswer,
  refusalAnswer,
  sendAnswer,
  tokenRequestFromNode,
  type HttpAnswer,
} from '@scopeguard/core/adapter';

export { Scopeguard, ScopeguardConfigError, ScopeguardError, type Principal } from '@scopeguard/core';

/**
 * What the MCP SDK's transports hand to tool handlers as `extra.authInfo` (the SDK's `AuthInfo`):
 * `scopes` are the effective permissions (the token's scopes ∩ the client's), `expiresAt` in seconds.
 */
export interface McpAuthInfo {
  token: string;
  clientId: string;
  scopes: string[];
  expiresAt?: number;
  resource?: URL;
  extra?: Record<string, unknown>;
}

/** Options of {@link mcpGuard}: the engine's (with `logger`, `auditLog`), and what each call needs. */
export type McpGuardOptions = GuardOptions & {
  /** Scopes per tool, for `tools/call` (all of them). A tool not listed needs only a valid token. */
  tools?: Readonly<Record<string, readonly string[]>>;
  /** Scopes per JSON-RPC method (`resources/read`, `prompts/get`, …), on top of the tool's. */
  methods?: Readonly<Record<string, readonly string[]>>;
  /**
   * Declare the MCP client-credentials extension ({@link CLIENT_CREDENTIALS_EXTENSION}): machine
   * clients get tokens from the authorization server with the client credentials grant. MCP negotiates
   * extensions in `initialize`, so this fills {@link McpGuard.capabilities}, which the server passes on.
   */
  clientCredentials?: boolean;
};

/** The MCP extension for machine-to-machine clients (client credentials grant, no user). */
export const CLIENT_CREDENTIALS_EXTENSION = 'io.modelcontextprotocol/oauth-client-credentials';

/** The part of the MCP server's `capabilities` the guard stands for: the extensions it implements. */
export interface McpGuardCapabilities {
  extensions?: Record<string, object>;
}

/** The guard: a Node/Express middleware for the MCP endpoint (it reads the JSON body itself), and its engine. */
export interface McpGuard {
  (req: McpRequest, res: ServerResponse, next: (error?: unknown) => void): void;
  readonly engine: Scopeguard;
  /**
   * Whether the caller this guard admitted on `req` may call `tool` (its `tools` requirement met): to
   * register only those tools, so that `tools/list` lists what the caller can use. `false` on a
   * request the guard did not admit.
   */
  allows(req: McpRequest, tool: string): boolean;
  /**
   * Spread into the server's capabilities, `new McpServer(info, { capabilities: { ...guard.capabilities, tools: {} } })`:
   * `{ extensions: { [CLIENT_CREDENTIALS_EXTENSION]: {} } }` with `clientCredentials`, else `{}`.
   */
  readonly capabilities: McpGuardCapabilities;
}

/**
 * The request as the guard sees it: Node's, with its parsed JSON body. The guard sets `auth` to an
 * {@link McpAuthInfo}, which the SDK's transport hands to tools as `extra.authInfo`; typed `unknown`
 * here so that apps whose `Express.Request` declares `auth` otherwise still type-check.
 */
export type McpRequest = IncomingMessage & { body?: unknown; auth?: unknown };

interface JsonRpcCall {
  readonly method: string;
  /** `params.name` of `tools/call` (the tool). */
  readonly tool: string | undefined;
  /** What `Mcp-Name` mirrors (see {@link NAME_SOURCE}); undefined for other methods. */
  readonly name: string | undefined;
  /** Whether the method has a target `Mcp-Name` could name. */
  readonly targeted: boolean;
  readonly id: unknown;
}

/**
 * The methods whose target `Mcp-Name` mirrors, and the field of `params` it comes from (SEP-2243's
 * table, with the tasks extension's rows): other methods have no `Mcp-Name`.
 */
const NAME_SOURCE: Readonly<Record<string, string>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

/** The calls of a JSON-RPC message or batch (responses and malformed entries carry none). */
function callsOf(body: unknown): JsonRpcCall[] {
  const messages = Array.isArray(body) ? body : [body];
  const calls: JsonRpcCall[] = [];
  for (const message of messages) {
    if (typeof message !== 'object' || message === null) continue;
    const { method, params, id } = message as { method?: unknown; params?: unknown; id?: unknown };
    if (typeof method !== 'string') continue;
    const fields = (typeof params === 'object' && params !== null ? params : {}) as Record<string, unknown>;
    const source = Object.hasOwn(NAME_SOURCE, method) ? NAME_SOURCE[method] : undefined;
    const named = source === undefined ? undefined : fields[source];
    calls.push({ method, tool: method === 'tools/call' && typeof fields.name === 'string' ? fields.name : undefined, name: typeof named === 'string' ? named : undefined, targeted: source !== undefined, id });
  }
  return calls;
}

/** Validated requirements by key, once, at construction (a bad scope throws). */
function compile(map: Readonly<Record<string, readonly string[]>> | undefined): Map<string, ScopeRequirement> {
  return new Map(Object.entries(map ?? {}).map(([key, scopes]) => [key, scopeRequirement('all', [...scopes])]));
}

/**
 * The guard for an MCP endpoint, before the transport. It authenticates the caller, then reads the
 * JSON body itself (or checks one a parser read), and leaves it on `req.body`:
 * `app.post('/mcp', guard, (req, res) => transport.handleRequest(req, res, req.body))`.
 * @throws {@link ScopeguardConfigError} at once for a wrong option or scope.
 */
export function mcpGuard(options: McpGuardOptions): McpGuard {
  const { tools, methods, clientCredentials, ...engineOptions } = options;
  const engine = engineFrom(engineOptions, 'scopeguard');
  const byTool = compile(tools);
  const byMethod = compile(methods);
  for (const requirement of [...byTool.values(), ...byMethod.values()]) engine.declareScopes(requirement.scopes);
  const resource = engine.options.resourceMetadata?.resource;

  const refuse = (error: unknown, res: ServerResponse, next: (error?: unknown) => void, requirements: readonly ScopeRequirement[]) => {
    if (!(error instanceof ScopeguardError)) return next(error);
    // A 401 says which scopes this call needs, so the client can ask for them (MCP's scope selection).
    sendAnswer(refusalAnswer(engine, error, [...new Set(requirements.flatMap((requirement) => requirement.scopes))]), res);
  };

  const guard = (req: McpRequest, res: ServerResponse, next: (error?: unknown) => void): void => {
    // RFC 9728: the metadata is public, answered before authentication.
    if (isMetadataRequest(engine, req.method, req.url)) return sendAnswer(metadataAnswer(engine)!, res);
    if (req.method !== 'POST') return check(req, res, next);
    // Streamable HTTP posts application/json (the SDK's transport answers anything else 415): a
    // `+json` type that express.json() left unparsed is the client's, refused before anything.
    if (!JSON_TYPE.test(String(req.headers['content-type'] ?? ''))) return sendAnswer(jsonRpcError(415, -32000, 'Unsupported Media Type: Content-Type must be application/json'), res);
    if (isParsed(req.body) && !(Object.keys(req.body as object).length === 0 && (hasNoBody(req) || unread(req)))) return check(req, res, next);
    // No parser read it (or express.text()/raw() did): the guard reads and parses it, so the calls
    // are checked either way and the transport gets them as req.body; never a 500. A small body of
    // a known length is read first, as a parser would, so that a 401 names the scopes its calls
    // need; a larger or chunked one only for a caller whose token is valid (the scopes are checked
    // once the calls are known), never for anyone who sends 4 MB.
    if (isSmall(req)) return readThenCheck(req, res, next);
    let admitted: Principal | Promise<Principal>;
    try {
      admitted = engine.admit(tokenRequestFromNode(req, undefined, req), NO_REQUIREMENTS, engine.auditing ? { method: req.method, route: 'mcp' } : undefined);
    } catch (error) {
      return refuse(error, res, next, NO_REQUIREMENTS);
    }
    Promise.resolve(admitted)
      .then(
        () => readThenCheck(req, res, next),
        (error: unknown) => refuse(error, res, next, NO_REQUIREMENTS),
      )
      .catch(next);
  };
  /** Reads the body the guard must parse itself, leaves it on req.body for the transport, and checks its calls. */
  const readThenCheck = (req: McpRequest, res: ServerResponse, next: (error?: unknown) => void): void => {
    bodyOf(req).then(
      (body) => {
        req.body = body;
        check(req, res, next);
      },
      (error: unknown) => sendAnswer(bodyErrorAnswer(error), res),
    );
  };
  const sessions = new SessionOwners();
  const check = (req: McpRequest, res: ServerResponse, next: (error?: unknown) => void): void => {
    const calls = callsOf(req.body);
    const requirements: ScopeRequirement[] = [];
    for (const { method, tool } of calls) {
      const forMethod = byMethod.get(method);
      if (forMethod) requirements.push(forMethod);
      const forTool = tool === undefined ? undefined : byTool.get(tool);
      if (forTool) requirements.push(forTool);
    }
    const mismatch = headerMismatch(req, calls);
    if (mismatch !== undefined) {
      const id = calls.length === 1 ? (calls[0]!.id ?? null) : null;
      return sendAnswer(jsonRpcError(400, -32020, `HeaderMismatch: ${mismatch}`, id), res);
    }
    let admitted: Principal | Promise<Principal>;
    try {
      admitted = engine.admit(tokenRequestFromNode(req, undefined, req), requirements, engine.auditing ? { method: req.method, route: describe(calls) } : undefined);
    } catch (error) {
      return refuse(error, res, next, requirements);
    }
    const handOver = (principal: Principal) => {
      if (!sessions.admits(req, res, principal)) return sendAnswer(SESSION_NOT_FOUND, res);
      req.auth = authInfoOf(principal, resource);
      next();
    };
    if (admitted instanceof Promise) admitted.then(handOver, (error: unknown) => refuse(error, res, next, requirements));
    else handOver(admitted);
  };
  const allows = (req: McpRequest, tool: string): boolean => {
    const principal = (req.auth as McpAuthInfo | undefined)?.extra?.principal;
    if (!isPrincipal(principal) || Scopeguard.admitting(req) !== engine) return false;
    const requirement = byTool.get(tool);
    return requirement === undefined || meetsRequirement(principal.permissions, requirement);
  };
  const capabilities: McpGuardCapabilities = clientCredentials === true ? { extensions: { [CLIENT_CREDENTIALS_EXTENSION]: {} } } : {};
  return Object.assign(guard, { engine, allows, capabilities });
}

/**
 * SEP-2243 (MCP 2026-07-28): a header value without its surrounding whitespace (RFC 9110 §5.5), decoded
 * when it is sent as `=?base64?…?=` (values that are not plain ASCII). `null`, which matches nothing, for
 * what a gateway could read otherwise than we do: a header sent twice, a raw character outside printable
 * ASCII, Base64 that is not canonical (wrong padding, characters, spare bits), UTF-8 that is not valid or
 * starts with a byte-order mark.
 */
function headerValue(req: IncomingMessage, header: string): string | null | undefined {
  const values = req.headersDistinct?.[header] ?? (req.headers[header] === undefined ? undefined : [String(req.headers[header])]);
  if (values === undefined) return undefined;
  if (values.length !== 1) return null;
  const text = values[0]!.replace(/^[ \t]+|[ \t]+$/g, '');
  if (!/^[\x20-\x7e]*$/.test(text)) return null;
  const encoded = /^=\?base64\?(.*)\?=$/.exec(text);
  if (encoded === null) return text;
  const base64 = encoded[1]!;
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.toString('base64') !== base64) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes).replace(/^\uFEFF/, '\u0000');
  } catch {
    return null;
  }
}

/** What the SDK's transport answers for a session it does not know; a session of another caller gets the same. */
const SESSION_NOT_FOUND = jsonRpcError(404, -32001, 'Session not found');
/** Sessions remembered per guard; past it the oldest binding goes, and its session is refused (fail closed). */
const MAX_SESSIONS = 100_000;

/**
 * Who opened each MCP session (the SDK's session mode, `Mcp-Session-Id`): a request naming a session
 * must come from the caller that opened it (same issuer, client and subject), or it gets the SDK's
 * own 404, so a session id that leaks is no way into another caller's stream or tools. A session the
 * guard did not see open (another process, a restart, past {@link MAX_SESSIONS}) is refused the same way:
 * the client initializes a new one. Stateless servers send no session ids and are untouched.
 */
class SessionOwners {
  readonly #owners = new Map<string, string>();

  /** Whether `principal` may make this request as far as sessions go; records a session it opens. */
  admits(req: IncomingMessage, res: ServerResponse, principal: Principal): boolean {
    // Issuer, client and subject, each in its own place: another user of a shared client, or a
    // subject named like a client, is someone else.
    const owner = JSON.stringify([principal.issuer, principal.clientId ?? null, principal.subject ?? null]);
    const id = req.headers['mcp-session-id'];
    if (id === undefined) {
      if (req.method === 'POST') this.#watch(res, owner);
      return true;
    }
    if (typeof id !== 'string' || this.#owners.get(id) !== owner) return false;
    if (req.method === 'DELETE') res.once('finish', () => res.statusCode < 300 && this.#owners.delete(id));
    return true;
  }

  /** An initialize answer names the new session in its `mcp-session-id` header: bind it to `owner`. */
  #watch(res: ServerResponse, owner: string): void {
    const writeHead = res.writeHead;
    const bind = (value: unknown) => {
      const id = Array.isArray(value) ? value[0] : value;
      if (typeof id !== 'string' || id === '') return;
      if (this.#owners.size >= MAX_SESSIONS) this.#owners.delete(this.#owners.keys().next().value!);
      this.#owners.set(id, owner);
    };
    res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      res.writeHead = writeHead;
      const headers = args.find((arg, index) => index > 0 && typeof arg === 'object' && arg !== null);
      bind(res.getHeader('mcp-session-id') ?? sessionHeaderIn(headers));
      return (writeHead as (...all: unknown[]) => ServerResponse).apply(this, args);
    } as typeof res.writeHead;
  }
}

/** `mcp-session-id` from writeHead's headers: an object, or a flat [name, value, …] list. */
function sessionHeaderIn(headers: unknown): unknown {
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) if (String(headers[i]).toLowerCase() === 'mcp-session-id') return headers[i + 1];
    return undefined;
  }
  if (typeof headers !== 'object' || headers === null) return undefined;
  for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() === 'mcp-session-id') return value;
  return undefined;
}

/** `application/json`, with parameters: what Streamable HTTP posts. */
const JSON_TYPE = /^application\/json\s*(?:;|$)/i;
/** The largest body the guard reads itself: the SDK's transport takes at most 4 MB. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** An answer of JSON-RPC error `code`, as the SDK's transport words its own (`id: null` unless the request's is known). */
function jsonRpcError(status: number, code: number, message: string, id: unknown = null): HttpAnswer {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } }) };
}

/** A body the guard could not take, with its answer. */
class BodyError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const NO_REQUIREMENTS: readonly ScopeRequirement[] = [];

/** The answer to a body the guard could not take; a 413 closes the connection (the rest is not read). */
function bodyErrorAnswer(error: unknown): HttpAnswer {
  if (!(error instanceof BodyError)) return jsonRpcError(400, -32700, 'Parse error: the body could not be read');
  const answer = jsonRpcError(error.status, error.code, error.message);
  return error.status === 413 || error.status === 408 ? { ...answer, headers: { ...answer.headers, connection: 'close' } } : answer;
}

/** What an anonymous caller's body may cost: express.json()'s default limit, which it parses for anyone too. */
const READ_FIRST_BYTES = 100 * 1024;

/** A body of a declared length within {@link READ_FIRST_BYTES}, or one some parser already holds (text, Buffer). */
function isSmall(req: McpRequest): boolean {
  if (typeof req.body === 'string' || Buffer.isBuffer(req.body)) return true;
  const length = req.headers['content-length'];
  return length !== undefined && req.headers['transfer-encoding'] === undefined && Number(length) <= READ_FIRST_BYTES;
}

/** A body stream nobody read: Express 4's parsers leave `req.body = {}` on a type they skip. */
function unread(req: IncomingMessage): boolean {
  return req.readable && !req.readableEnded && (req as { _body?: unknown })._body !== true;
}

/** A JSON body a parser made: an object or a list (express.json()'s output), not a string or Buffer. */
function isParsed(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !Buffer.isBuffer(body);
}

/** A request that sent no body at all: express.json() still makes its `req.body` `{}`. */
function hasNoBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return length === '0' || (length === undefined && req.headers['transfer-encoding'] === undefined);
}

/**
 * The JSON of a body no JSON parser read: express.text()'s string, express.raw()'s Buffer, or the
 * stream itself, read to at most {@link MAX_BODY_BYTES}. Empty (express.json() skips an empty body)
 * or not JSON: 400 Parse error, as the SDK answers it.
 */
async function bodyOf(req: McpRequest): Promise<unknown> {
  let text: string;
  if (typeof req.body === 'string') text = req.body;
  else if (Buffer.isBuffer(req.body)) text = req.body.toString('utf8');
  else if (!req.readable || hasNoBody(req)) text = '';
  else text = await readAtMost(req, MAX_BODY_BYTES);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BodyError(400, -32700, text.trim() === '' ? 'Parse error: the body is empty' : 'Parse error: the body is not JSON');
  }
}

/** The longest the guard waits for a body it reads itself: a client that sends a byte a second gets 408. */
const BODY_TIMEOUT_MS = 30_000;

function readAtMost(req: IncomingMessage, limit: number): Promise<string> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.reject(new BodyError(413, -32000, `Payload Too Large: the body exceeds ${limit} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (error: BodyError) => {
      // Stop reading; the answer is sent and the connection closed after it (bodyErrorAnswer).
      req.off('data', onData);
      req.pause();
      clearTimeout(timer);
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return stop(new BodyError(413, -32000, `Payload Too Large: the body exceeds ${limit} bytes`));
      chunks.push(chunk);
    };
    const timer = setTimeout(() => stop(new BodyError(408, -32000, `Request Timeout: the body did not arrive within ${BODY_TIMEOUT_MS / 1000} s`)), BODY_TIMEOUT_MS);
    timer.unref();
    req.on('data', onData);
    req.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.once('error', () => stop(new BodyError(400, -32700, 'Parse error: the body could not be read')));
  });
}

/** The first revision whose clients must send `Mcp-Method` (and `Mcp-Name`) on every message. */
const HEADERS_REQUIRED_FROM = '2026-07-28';

/**
 * `Mcp-Method` and `Mcp-Name` (MCP 2026-07-28, which proxies route on) must say what the body says: a
 * request whose headers name one call and whose body makes another is refused (HTTP 400, JSON-RPC
 * -32020 HeaderMismatch), never routed one way and run the other. A message of revision 2026-07-28 or
 * later (`MCP-Protocol-Version`) is one JSON-RPC request or notification and must send `Mcp-Method`, and
 * `Mcp-Name` when its body names a target. Clients of earlier revisions send none; a header sent is checked.
 */
function headerMismatch(req: IncomingMessage, calls: readonly JsonRpcCall[]): string | undefined {
  const method = headerValue(req, 'mcp-method');
  const name = headerValue(req, 'mcp-name');
  const single = calls.length === 1 ? calls[0] : undefined;
  const version = headerValue(req, 'mcp-protocol-version');
  if (typeof version === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(version) && version >= HEADERS_REQUIRED_FROM) {
    if (single === undefined) return `a message of revision ${version} is one JSON-RPC request or notification`;
    if (method === undefined) return 'the Mcp-Method header is required';
    if (name === undefined && single.name !== undefined) return 'the Mcp-Name header is required';
  }
  // The headers name one message: a proxy routing a batch on them would see one call of several.
  if (single === undefined && (method !== undefined || name !== undefined)) return 'Mcp-Method and Mcp-Name name one message: a batch cannot send them';
  if (method !== undefined && method !== single?.method) return 'the Mcp-Method header does not match the JSON-RPC request';
  if (name === null) return 'the Mcp-Name header is not one value of printable ASCII or canonical Base64 of UTF-8';
  if (name !== undefined && single !== undefined && !single.targeted) return `${single.method} has no target for the Mcp-Name header to name`;
  if (name !== undefined && single?.name !== undefined && name !== single.name) return 'the Mcp-Name header does not match the JSON-RPC request';
  return undefined;
}

/** The route for audit events: the JSON-RPC methods (and tools) of the request. */
function describe(calls: readonly JsonRpcCall[]): string {
  return calls.map(({ method, tool }) => (tool === undefined ? method : `${method} ${tool}`)).join(', ') || 'mcp';
}

/**
 * The SDK's `AuthInfo` of a principal: the intersection as scopes, `exp` in seconds, and this server as
 * `resource` only when the token's audience names it (the SDK's `expectedResource` trusts that field).
 */
export function authInfoOf(principal: Principal, resource?: string): McpAuthInfo {
  return {
    token: accessTokenOf(principal) ?? '',
    clientId: principal.clientId ?? principal.subject ?? '',
    scopes: [...principal.permissions],
    expiresAt: Math.floor(principal.expiresAt.getTime() / 1000),
    ...(resource !== undefined && principal.audience.includes(resource) && { resource: new URL(resource) }),
    extra: { principal },
  };
}

/**
 * A verifier for the SDK's `requireBearerAuth({ verifier })`, for servers that keep the SDK's
 * middleware: the token goes through scopeguard's whole pipeline. Refusals become the SDK's
 * `InvalidTokenError` (401) or `InsufficientScopeError` (403); an outage becomes its `ServerError`,
 * which the SDK answers 500 — prefer {@link mcpGuard}, which answers 503 with `Retry-After`.
 */
export function scopeguardVerifier(guard: McpGuard | Scopeguard): { verifyAccessToken(token: string): Promise<McpAuthInfo> } {
  const engine = guard instanceof Scopeguard ? guard : guard.engine;
  const resource = engine.options.resourceMetadata?.resource;
  // The SDK's own error classes, which its middleware maps by instanceof: found now, or never usable.
  let sdk: Record<string, new (message: string) => Error>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    sdk = require('@modelcontextprotocol/sdk/server/auth/errors.js') as typeof sdk;
  } catch (cause) {
    throw new Error('scopeguardVerifier needs @modelcontextprotocol/sdk 1.x (its requireBearerAuth); with another SDK, use mcpGuard', { cause });
  }
  return {
    async verifyAccessToken(token: string): Promise<McpAuthInfo> {
      try {
        return authInfoOf(await engine.verify(token), resource);
      } catch (error) {
        const status = error instanceof ScopeguardError ? error.status : 500;
        const description = error instanceof ScopeguardError ? error.description : 'the token could not be verified';
        throw new sdk[status === 401 || status === 400 ? 'InvalidTokenError' : status === 403 ? 'InsufficientScopeError' : 'ServerError']!(description);
      }
    },
  };
}
