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
  engineFrom,
  isMetadataRequest,
  metadataAnswer,
  refusalAnswer,
  scopeRequirement,
  tokenRequestFromNode,
  InvalidRequestError,
  type GuardOptions,
  type HttpAnswer,
  type Principal,
  type ScopeRequirement,
} from '@scopeguard/core';

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
};

/** The guard: a Node/Express middleware for the MCP endpoint (after a JSON body parser), and its engine. */
export interface McpGuard {
  (req: McpRequest, res: ServerResponse, next: (error?: unknown) => void): void;
  readonly engine: Scopeguard;
}

/**
 * The request as the guard sees it: Node's, with its parsed JSON body. The guard sets `auth` to an
 * {@link McpAuthInfo}, which the SDK's transport hands to tools as `extra.authInfo`; typed `unknown`
 * here so that apps whose `Express.Request` declares `auth` otherwise still type-check.
 */
export type McpRequest = IncomingMessage & { body?: unknown; auth?: unknown };

interface JsonRpcCall {
  readonly method: string;
  readonly tool: string | undefined;
}

/** The calls of a JSON-RPC message or batch (responses and malformed entries carry none). */
function callsOf(body: unknown): JsonRpcCall[] {
  const messages = Array.isArray(body) ? body : [body];
  const calls: JsonRpcCall[] = [];
  for (const message of messages) {
    if (typeof message !== 'object' || message === null) continue;
    const { method, params } = message as { method?: unknown; params?: unknown };
    if (typeof method !== 'string') continue;
    const name = method === 'tools/call' ? (params as { name?: unknown } | undefined)?.name : undefined;
    calls.push({ method, tool: typeof name === 'string' ? name : undefined });
  }
  return calls;
}

/** Validated requirements by key, once, at construction (a bad scope throws). */
function compile(map: Readonly<Record<string, readonly string[]>> | undefined): Map<string, ScopeRequirement> {
  return new Map(Object.entries(map ?? {}).map(([key, scopes]) => [key, scopeRequirement('all', [...scopes])]));
}

/**
 * The guard for an MCP endpoint. Put it after a JSON body parser (`express.json()`), before the
 * transport: `app.post('/mcp', express.json(), guard, (req, res) => transport.handleRequest(req, res, req.body))`.
 * @throws {@link ScopeguardConfigError} at once for a wrong option or scope.
 */
export function mcpGuard(options: McpGuardOptions): McpGuard {
  const { tools, methods, ...engineOptions } = options;
  const engine = engineFrom(engineOptions, 'scopeguard');
  const byTool = compile(tools);
  const byMethod = compile(methods);
  for (const requirement of [...byTool.values(), ...byMethod.values()]) engine.declareScopes(requirement.scopes);
  const resource = engine.options.resourceMetadata?.resource;

  const send = ({ status, headers, body }: HttpAnswer, res: ServerResponse) => {
    res.statusCode = status;
    for (const name in headers) res.setHeader(name, headers[name]!);
    res.end(body);
  };
  const refuse = (error: unknown, res: ServerResponse, next: (error?: unknown) => void) => {
    if (!(error instanceof ScopeguardError)) return next(error);
    send(refusalAnswer(engine, error), res);
  };

  const guard = (req: McpRequest, res: ServerResponse, next: (error?: unknown) => void): void => {
    // RFC 9728: the metadata is public, answered before authentication.
    if (isMetadataRequest(engine, req.method, req.url)) return send(metadataAnswer(engine)!, res);
    const calls = callsOf(req.body);
    const requirements: ScopeRequirement[] = [];
    for (const { method, tool } of calls) {
      const forMethod = byMethod.get(method);
      if (forMethod) requirements.push(forMethod);
      const forTool = tool === undefined ? undefined : byTool.get(tool);
      if (forTool) requirements.push(forTool);
    }
    let admitted: Principal | Promise<Principal>;
    try {
      checkHeaders(req, calls);
      admitted = engine.admit(tokenRequestFromNode(req, undefined, req), requirements, engine.auditing ? { method: req.method, route: describe(calls) } : undefined);
    } catch (error) {
      return refuse(error, res, next);
    }
    const handOver = (principal: Principal) => {
      req.auth = authInfoOf(principal, resource);
      next();
    };
    if (admitted instanceof Promise) admitted.then(handOver, (error: unknown) => refuse(error, res, next));
    else handOver(admitted);
  };
  return Object.assign(guard, { engine });
}

/**
 * `Mcp-Method` and `Mcp-Name` (which proxies route on) must say what the body says: a request whose
 * headers name one call and whose body makes another is refused, never routed one way and run the other.
 */
function checkHeaders(req: IncomingMessage, calls: readonly JsonRpcCall[]): void {
  const method = req.headers['mcp-method'];
  const name = req.headers['mcp-name'];
  if (method === undefined && name === undefined) return;
  const [call] = calls;
  const single = calls.length === 1 ? call : undefined;
  if (method !== undefined && method !== single?.method) {
    throw new InvalidRequestError('ERR_BEARER_MALFORMED', 'the Mcp-Method header does not match the JSON-RPC request');
  }
  if (name !== undefined && name !== single?.tool) {
    throw new InvalidRequestError('ERR_BEARER_MALFORMED', 'the Mcp-Name header does not match the JSON-RPC request');
  }
}

/** The route for audit events: the JSON-RPC methods (and tools) of the request. */
function describe(calls: readonly JsonRpcCall[]): string {
  return calls.map(({ method, tool }) => (tool === undefined ? method : `${method} ${tool}`)).join(', ') || 'mcp';
}

/** The SDK's `AuthInfo` of a principal: the intersection as scopes, `exp` in seconds, this server as resource. */
export function authInfoOf(principal: Principal, resource?: string): McpAuthInfo {
  return {
    token: accessTokenOf(principal) ?? '',
    clientId: principal.clientId ?? principal.subject ?? '',
    scopes: [...principal.permissions],
    expiresAt: Math.floor(principal.expiresAt.getTime() / 1000),
    ...(resource !== undefined && { resource: new URL(resource) }),
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
  return {
    async verifyAccessToken(token: string): Promise<McpAuthInfo> {
      try {
        return authInfoOf(await engine.verify(token), resource);
      } catch (error) {
        // The SDK's own error classes: its middleware maps them by instanceof.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const sdk = require('@modelcontextprotocol/sdk/server/auth/errors.js') as Record<string, new (message: string) => Error>;
        const status = error instanceof ScopeguardError ? error.status : 500;
        const description = error instanceof ScopeguardError ? error.description : 'the token could not be verified';
        throw new sdk[status === 401 || status === 400 ? 'InvalidTokenError' : status === 403 ? 'InsufficientScopeError' : 'ServerError']!(description);
      }
    },
  };
}
