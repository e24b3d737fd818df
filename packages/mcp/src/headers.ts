/** MCP's routing headers (`Mcp-Method`, `Mcp-Name`, SEP-2243), held to what the body says. */
import type { IncomingMessage } from 'node:http';
import type { JsonRpcCall } from './json-rpc';

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

/** The first revision whose clients must send `Mcp-Method` (and `Mcp-Name`) on every message. */
const HEADERS_REQUIRED_FROM = '2026-07-28';

/**
 * `Mcp-Method` and `Mcp-Name` (MCP 2026-07-28, which proxies route on) must say what the body says: a
 * request whose headers name one call and whose body makes another is refused (HTTP 400, JSON-RPC
 * -32020 HeaderMismatch), never routed one way and run the other. A message of revision 2026-07-28 or
 * later (`MCP-Protocol-Version`) is one JSON-RPC request or notification and must send `Mcp-Method`, and
 * `Mcp-Name` when its body names a target. Clients of earlier revisions send none; a header sent is checked.
 */
export function headerMismatch(req: IncomingMessage, calls: readonly JsonRpcCall[]): string | undefined {
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
