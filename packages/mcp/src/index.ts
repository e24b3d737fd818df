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
} from '@scopeguard/core/adapter';
import { bodyErrorAnswer, bodyOf, hasNoBody, isParsed, isSmall, JSON_TYPE, unread } from './body';
import { headerMismatch } from './headers';
import { callsOf, describe, jsonRpcError } from './json-rpc';
import { SESSION_NOT_FOUND, SessionOwners } from './sessions';

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

const NO_REQUIREMENTS: readonly ScopeRequirement[] = [];

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
