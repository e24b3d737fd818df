/** MCP sessions (`Mcp-Session-Id`) bound to the caller that opened them. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '@scopeguard/core';
import { jsonRpcError } from './json-rpc';

/** What the SDK's transport answers for a session it does not know; a session of another caller gets the same. */
export const SESSION_NOT_FOUND = jsonRpcError(404, -32001, 'Session not found');
/** Sessions remembered per guard; past it the oldest binding goes, and its session is refused (fail closed). */
const MAX_SESSIONS = 100_000;

/**
 * Who opened each MCP session (the SDK's session mode, `Mcp-Session-Id`): a request naming a session
 * must come from the caller that opened it (same issuer, client and subject), or it gets the SDK's
 * own 404, so a session id that leaks is no way into another caller's stream or tools. A session the
 * guard did not see open (another process, a restart, past {@link MAX_SESSIONS}) is refused the same way:
 * the client initializes a new one. Stateless servers send no session ids and are untouched.
 */
export class SessionOwners {
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
