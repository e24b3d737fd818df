/** JSON-RPC as MCP's Streamable HTTP carries it: the calls of a message or batch, and error answers. */
import type { HttpAnswer } from '@scopeguard/core/adapter';

export interface JsonRpcCall {
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
export function callsOf(body: unknown): JsonRpcCall[] {
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

/** An answer of JSON-RPC error `code`, as the SDK's transport words its own (`id: null` unless the request's is known). */
export function jsonRpcError(status: number, code: number, message: string, id: unknown = null): HttpAnswer {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } }) };
}

/** The route for audit events: the JSON-RPC methods (and tools) of the request. */
export function describe(calls: readonly JsonRpcCall[]): string {
  return calls.map(({ method, tool }) => (tool === undefined ? method : `${method} ${tool}`)).join(', ') || 'mcp';
}
