/**
 * @scopeguard/mcp in front of a real MCP server (the official SDK's McpServer on its Streamable HTTP
 * transport, stateless), driven by the SDK's Client and by raw HTTP for exact answers.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import express from 'express';
import { z } from 'zod';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CLIENT_CREDENTIALS_EXTENSION, mcpGuard, scopeguardVerifier, type McpAuthInfo, type McpGuard } from '@scopeguard/mcp';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { close, listen, send as sendRaw } from '../../../test/support/http';

let issuer: TestIssuer;
let server: Server;
let base: string;
const RESOURCE = 'https://mcp.example.com/mcp';
const orders: { id: number; item: string }[] = [];

function mcpServer(): McpServer {
  const mcp = new McpServer({ name: 'orders', version: '1.0.0' });
  mcp.registerTool('list_orders', { description: 'List orders' }, async (extra) => ({
    content: [{ type: 'text', text: JSON.stringify({ caller: (extra.authInfo as McpAuthInfo | undefined)?.clientId, orders }) }],
  }));
  mcp.registerTool('create_order', { description: 'Create an order', inputSchema: { item: z.string() } }, async ({ item }) => {
    orders.push({ id: orders.length + 1, item });
    return { content: [{ type: 'text', text: `created ${item}` }] };
  });
  return mcp;
}

/** Serves POST /mcp behind `guard`: a fresh stateless MCP server of `serverFor(req)` per request. */
function servingMcp(app: express.Express, guard: McpGuard, serverFor: (req: express.Request) => McpServer): express.Express {
  app.post('/mcp', express.json(), guard, async (req, res) => {
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    const mcp = serverFor(req);
    res.on('close', () => void transport.close().then(() => mcp.close()));
    await mcp.connect(transport);
    // This repository's tests also load @scopeguard/express, whose Express.Request declares `auth` a Principal.
    await transport.handleRequest(req as unknown as IncomingMessage & { auth?: McpAuthInfo }, res, req.body);
  });
  return app;
}

beforeAll(async () => {
  issuer = await createTestIssuer({ audience: RESOURCE });
  const guard = mcpGuard({
    ...issuer.options(),
    permissions: { 'orders-worker': ['orders.read', 'orders.write'], 'orders-reporter': ['orders.read'] },
    resourceMetadata: { resource: RESOURCE },
    tools: { list_orders: ['orders.read'], create_order: ['orders.write'] },
    logger: false,
  });
  const app = express();
  app.get('/.well-known/oauth-protected-resource/mcp', guard);
  server = createServer(servingMcp(app, guard, mcpServer));
  base = await listen(server);
});
afterAll(async () => {
  await close(server);
  await issuer.close();
});

async function connect(token: string): Promise<Client> {
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

const call = (token: string | undefined, message: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token && { authorization: `Bearer ${token}` }), ...headers },
    body: JSON.stringify(message),
  });
const toolCall = (name: string, args: Record<string, unknown> = {}) => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } });

/** The SDK's session mode, as an app serves it: a transport per session, found by Mcp-Session-Id. */
function sessionMode() {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const handle = async (req: express.Request, res: express.Response) => {
    const id = req.headers['mcp-session-id'];
    let transport = typeof id === 'string' ? transports.get(id) : undefined;
    if (transport === undefined) {
      if (id !== undefined) return void res.status(404).json({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } });
      transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => crypto.randomUUID(), onsessioninitialized: (sid) => void transports.set(sid, transport!) });
      await mcpServer().connect(transport);
    }
    await transport.handleRequest(req as unknown as IncomingMessage & { auth?: McpAuthInfo }, res, req.body);
  };
  return { transports, handle };
}

describe('@scopeguard/mcp', () => {
  it('the worker lists and creates through the SDK client; the tool sees the caller', async () => {
    const client = await connect(await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read orders.write' }));
    const created = await client.callTool({ name: 'create_order', arguments: { item: 'widget' } });
    expect(created.content).toEqual([{ type: 'text', text: 'created widget' }]);
    const listed = await client.callTool({ name: 'list_orders', arguments: {} });
    expect(JSON.parse((listed.content as { text: string }[])[0]!.text)).toMatchObject({ caller: 'orders-worker', orders: [{ item: 'widget' }] });
    await client.close();
  });

  it("refuses the reporter's create_order with 403 insufficient_scope, scope and resource_metadata, before the tool runs", async () => {
    const before = orders.length;
    const token = await issuer.mint({ clientId: 'orders-reporter', scope: 'orders.read orders.write' });
    const res = await call(token, toolCall('create_order', { item: 'nope' }));
    expect(res.status).toBe(403);
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="orders.write"');
    expect(challenge).toContain('resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"');
    expect(orders.length).toBe(before);
    expect((await call(token, toolCall('list_orders'))).status).toBe(200);
  });

  it('checks every call of a batch', async () => {
    const token = await issuer.mint({ clientId: 'orders-reporter', scope: 'orders.read' });
    const res = await call(token, [toolCall('list_orders'), { ...toolCall('create_order', { item: 'x' }), id: 2 }]);
    expect(res.status).toBe(403);
  });

  it('no token: 401 with resource_metadata and no error code (RFC 6750 §3.1); an expired token: 401 invalid_token', async () => {
    const none = await call(undefined, toolCall('list_orders'));
    expect(none.status).toBe(401);
    // No error code; the scopes this call needs as a hint; where the metadata is.
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer realm="[^"]*", scope="orders\.read", resource_metadata="https:\/\/mcp\.example\.com\/\.well-known\/oauth-protected-resource\/mcp"$/);
    const expired = await call(await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', expiresIn: -3600 }), toolCall('list_orders'));
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('a token for another audience is refused (RFC 8707: tokens bound to this server)', async () => {
    const res = await call(await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', audience: 'https://other.example.com' }), toolCall('list_orders'));
    expect(res.status).toBe(401);
  });

  it('refuses Mcp-Method / Mcp-Name headers that contradict the body (400, JSON-RPC -32020 HeaderMismatch), base64 values decoded', async () => {
    const token = await issuer.mint({ clientId: 'orders-reporter', scope: 'orders.read' });
    const mismatch = await call(token, toolCall('create_order', { item: 'x' }), { 'mcp-method': 'tools/call', 'mcp-name': 'list_orders' });
    expect(mismatch.status).toBe(400);
    expect(await mismatch.json()).toMatchObject({ jsonrpc: '2.0', id: 1, error: { code: -32020 } });
    expect((await call(token, toolCall('list_orders'), { 'mcp-method': 'tools/list' })).status).toBe(400);
    expect((await call(token, toolCall('list_orders'), { 'mcp-method': 'tools/call', 'mcp-name': 'list_orders' })).status).toBe(200);
    const encoded = `=?base64?${Buffer.from('list_orders').toString('base64')}?=`;
    expect((await call(token, toolCall('list_orders'), { 'mcp-method': 'tools/call', 'mcp-name': encoded })).status).toBe(200);
  });

  it('on MCP 2026-07-28 (MCP-Protocol-Version), requires Mcp-Method, and Mcp-Name when the body names a target; values trimmed, compared case-sensitively', async () => {
    const strict = mcpGuard({ ...issuer.options(), permissions: 'token', logger: false });
    const app = express();
    app.post('/mcp', express.json(), strict, (_req, res) => res.json({ ok: true }));
    const other = createServer(app);
    const url = await listen(other);
    try {
      const token = await issuer.mint({ scope: 'orders.read' });
      const send = async (message: unknown, headers: Record<string, string>) => {
        const res = await fetch(`${url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers }, body: JSON.stringify(message) });
        return { status: res.status, body: (await res.json()) as { error?: { code: number; message: string } } };
      };
      const modern = { 'mcp-protocol-version': '2026-07-28' };
      const list = { jsonrpc: '2.0', id: 7, method: 'tools/list' };
      const missingMethod = await send(list, modern);
      expect(missingMethod).toMatchObject({ status: 400, body: { error: { code: -32020, message: expect.stringContaining('Mcp-Method') } } });
      expect((await send(toolCall('list_orders'), { ...modern, 'mcp-method': 'tools/call' })).body.error?.message).toContain('Mcp-Name');
      expect((await send(list, { ...modern, 'MCP-METHOD': 'tools/list' })).status).toBe(200);
      expect((await send(list, { ...modern, 'mcp-method': 'TOOLS/LIST' })).status).toBe(400);
      expect((await send(toolCall('list_orders'), { ...modern, 'mcp-method': 'tools/call', 'mcp-name': '  list_orders  ' })).status).toBe(200);
      expect((await send({ jsonrpc: '2.0', id: 8, method: 'resources/read', params: { uri: 'orders://1' } }, { ...modern, 'mcp-method': 'resources/read', 'mcp-name': 'orders://1' })).status).toBe(200);
      const hello = `=?base64?${Buffer.from('Hello').toString('base64')}?=`;
      const prompt = (name: string) => ({ jsonrpc: '2.0', id: 9, method: 'prompts/get', params: { name } });
      expect((await send(prompt('Hello'), { ...modern, 'mcp-method': 'prompts/get', 'mcp-name': hello })).status).toBe(200);
      expect((await send(prompt('Hello'), { ...modern, 'mcp-method': 'prompts/get', 'mcp-name': '=?base64?SGVsbG8?=' })).status).toBe(400); // no padding
      expect((await send(prompt('Hello'), { ...modern, 'mcp-method': 'prompts/get', 'mcp-name': '=?base64?SGVs!!!bG8=?=' })).status).toBe(400);
      expect((await send(prompt('=?base64?SGVsbG8='), { ...modern, 'mcp-method': 'prompts/get', 'mcp-name': '=?base64?SGVsbG8=' })).status).toBe(200); // no suffix: literal
      // Notifications send Mcp-Method too; a method without a target has no Mcp-Name; one message, no batch.
      const initialized = { jsonrpc: '2.0', method: 'notifications/initialized' };
      expect((await send(initialized, modern)).status).toBe(400);
      expect((await send(initialized, { ...modern, 'mcp-method': 'notifications/initialized' })).status).toBe(200);
      expect((await send(list, { ...modern, 'mcp-method': 'tools/list', 'mcp-name': 'delete_all' })).status).toBe(400);
      expect((await send([list, { ...list, id: 8 }], modern)).status).toBe(400);
      // What a gateway could read otherwise: a byte-order mark, non-canonical Base64, raw non-ASCII, a header sent twice.
      const bom = `=?base64?${Buffer.from('\uFEFFHello').toString('base64')}?=`;
      expect((await send(prompt('Hello'), { ...modern, 'mcp-method': 'prompts/get', 'mcp-name': bom })).status).toBe(400);
      expect((await send(prompt('a'), { ...modern, 'mcp-method': 'prompts/get', 'mcp-name': '=?base64?YR==?=' })).status).toBe(400);
      const raw = (headers: string[], body: unknown) =>
        sendRaw(`${url}/mcp`, { method: 'POST', headers: ['content-type', 'application/json', 'authorization', `Bearer ${token}`, 'mcp-protocol-version', '2026-07-28', 'mcp-method', 'prompts/get', ...headers], body: JSON.stringify(body) });
      expect((await raw(['mcp-name', 'caf\u00e9'], prompt('café'))).status).toBe(400);
      expect((await raw(['mcp-name', 'a', 'mcp-name', 'b'], prompt('a, b'))).status).toBe(400);
      expect((await raw(['mcp-name', 'a'], prompt('a'))).status).toBe(200);
      // Earlier revisions send no such headers: nothing is required of them.
      expect((await send(list, { 'mcp-protocol-version': '2025-11-25' })).status).toBe(200);
      expect((await send(list, {})).status).toBe(200);
    } finally {
      await close(other);
    }
  });

  it('declares the client-credentials extension in the server capabilities when asked to', async () => {
    expect(mcpGuard({ ...issuer.options(), permissions: 'token', logger: false }).capabilities).toEqual({});
    const declaring = mcpGuard({ ...issuer.options(), permissions: 'token', clientCredentials: true, logger: false });
    expect(declaring.capabilities).toEqual({ extensions: { [CLIENT_CREDENTIALS_EXTENSION]: {} } });
    expect(CLIENT_CREDENTIALS_EXTENSION).toBe('io.modelcontextprotocol/oauth-client-credentials');
    const app = servingMcp(express(), declaring, () => new McpServer({ name: 'orders', version: '1.0.0' }, { capabilities: { ...declaring.capabilities, tools: {} } }));
    const other = createServer(app);
    const url = await listen(other);
    try {
      const client = new Client({ name: 'test', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${await issuer.mint()}` } } }));
      expect(client.getServerCapabilities()?.extensions).toEqual({ [CLIENT_CREDENTIALS_EXTENSION]: {} });
      await client.close();
    } finally {
      await close(other);
    }
  });

  // Issue 26, red team: a body express.json() left unparsed was a 500 with an HTML stack trace.
  it('reads a body no parser read (none before it, express.text, express.raw) and checks its calls; never a 500', async () => {
    const unparsed = mcpGuard({ ...issuer.options(), permissions: { 'orders-reporter': ['orders.read'] }, tools: { create_order: ['orders.write'], list_orders: ['orders.read'] }, logger: false });
    const ran: unknown[] = [];
    const app = express();
    app.post('/mcp', unparsed, (req, res) => (ran.push((req as { body?: unknown }).body), res.json({ ok: true })));
    app.post('/text', express.text({ type: '*/*' }), unparsed, (req, res) => (ran.push((req as { body?: unknown }).body), res.json({ ok: true })));
    app.post('/raw', express.raw({ type: '*/*' }), unparsed, (req, res) => (ran.push((req as { body?: unknown }).body), res.json({ ok: true })));
    const other = createServer(app);
    const url = await listen(other);
    try {
      const token = await issuer.mint({ clientId: 'orders-reporter', scope: 'orders.read orders.write' });
      const post = (path: string, body: string, headers: Record<string, string> = {}) =>
        fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers }, body });
      for (const path of ['/mcp', '/text', '/raw']) {
        const refused = await post(path, JSON.stringify(toolCall('create_order', { item: 'x' })));
        expect(refused.status).toBe(403);
        expect((await post(path, JSON.stringify(toolCall('list_orders')))).status).toBe(200);
        const notJson = await post(path, '{"jsonrpc":');
        expect(notJson.status).toBe(400);
        expect(await notJson.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: expect.stringMatching(/^Parse error/) } });
      }
      expect(ran).toEqual([toolCall('list_orders'), toolCall('list_orders'), toolCall('list_orders')]);
      // More than the SDK takes (4 MB), read by the guard: 413, and the rest is not read.
      const huge = await post('/mcp', JSON.stringify({ ...toolCall('list_orders'), pad: 'x'.repeat(4 * 1024 * 1024) }));
      expect(huge.status).toBe(413);
    } finally {
      await close(other);
    }
  });

  // Issue 26, review: Express 4's parsers leave `req.body = {}` on a body they did not read; the
  // guard took it for a parsed, empty body, and a handler letting the SDK read the stream ran an
  // unchecked call.
  it("Express 4: a parser's {} placeholder is no parsed body; the guard reads the stream and checks its calls", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const express4 = require('express4') as typeof express;
    const guard4 = mcpGuard({ ...issuer.options(), permissions: { 'orders-reporter': ['orders.read'] }, tools: { create_order: ['orders.write'], list_orders: ['orders.read'] }, logger: false });
    const seen: unknown[] = [];
    const app = express4();
    app.use(express4.urlencoded({ extended: false }));
    app.post('/mcp', express4.text(), guard4, (req, res) => (seen.push((req as { body?: unknown }).body), res.json({ ok: true })));
    const other = createServer(app);
    const url = await listen(other);
    try {
      const token = await issuer.mint({ clientId: 'orders-reporter', scope: 'orders.read orders.write' });
      const post = (body: unknown) => fetch(`${url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
      expect((await post(toolCall('create_order', { item: 'x' }))).status).toBe(403);
      expect((await post(toolCall('list_orders'))).status).toBe(200);
      expect(seen).toEqual([toolCall('list_orders')]);
    } finally {
      await close(other);
    }
  });

  // Second review: with the README's wiring (the guard reads the body), a 401 had lost the scopes the call needs.
  it("the README's wiring (no express.json()): a 401 still names the scopes the call needs", async () => {
    const alone = mcpGuard({ ...issuer.options(), permissions: { 'orders-worker': ['orders.read', 'orders.write'] }, tools: { create_order: ['orders.write'] }, logger: false });
    const app = express();
    app.post('/mcp', alone, (_req, res) => res.json({ ok: true }));
    const other = createServer(app);
    const url = await listen(other);
    try {
      for (const authorization of [undefined, `Bearer ${await issuer.mint({ clientId: 'orders-worker', expiresIn: -60 })}`]) {
        const res = await fetch(`${url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization && { authorization }) }, body: JSON.stringify(toolCall('create_order', { item: 'x' })) });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toContain('scope="orders.write"');
      }
    } finally {
      await close(other);
    }
  });

  // Issue 26, review: the guard parsed up to 4 MB for anyone before looking at the token.
  it('reads a body only for a caller whose token is valid: without one, 401 before a byte of it is parsed', async () => {
    const unparsed = mcpGuard({ ...issuer.options(), permissions: { 'orders-reporter': ['orders.read'] }, tools: { list_orders: ['orders.read'] }, logger: false });
    const app = express();
    app.post('/mcp', unparsed, (_req, res) => res.json({ ok: true }));
    const other = createServer(app);
    const url = await listen(other);
    try {
      // Not JSON, and deep: a parse would answer 400 (or burn CPU); a 401 means it was never parsed.
      const body = `${'['.repeat(500_000)}{"jsonrpc":`;
      for (const authorization of [undefined, 'Bearer not.a.token', `Bearer ${await issuer.mint({ clientId: 'orders-reporter', expiresIn: -60 })}`]) {
        const res = await fetch(`${url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization && { authorization }) }, body });
        expect(res.status).toBe(401);
      }
      const valid = await fetch(`${url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await issuer.mint({ clientId: 'orders-reporter', scope: 'orders.read' })}` }, body });
      expect(valid.status).toBe(400); // a valid caller's body is read, and found not to be JSON
    } finally {
      await close(other);
    }
  });

  it.each([
    ['application/vnd.api+json', JSON.stringify(toolCall('create_order', { item: 'x' }))],
    ['application/merge-patch+json', JSON.stringify(toolCall('create_order', { item: 'x' }))],
    ['text/plain', 'hello'],
    [undefined, JSON.stringify(toolCall('list_orders'))],
  ])('Content-Type %s after express.json(): 415 as JSON, with or without a token, no stack', async (type, body) => {
    for (const token of [undefined, await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read orders.write' })]) {
      const res = await fetch(`${base}/mcp`, { method: 'POST', headers: { ...(type && { 'content-type': type }), accept: 'application/json, text/event-stream', ...(token && { authorization: `Bearer ${token}` }) }, body: type === undefined ? new Blob([body]) : body });
      const text = await res.text();
      expect(res.status).toBe(415);
      expect(JSON.parse(text)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000, message: expect.stringContaining('application/json') } });
      expect(text).not.toMatch(/ at |node_modules|<html|\.js:/i);
    }
  });

  it('application/json with no body after express.json(): 400 Parse error, with or without a token, no stack', async () => {
    for (const token of [undefined, await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read' })]) {
      const res = await fetch(`${base}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token && { authorization: `Bearer ${token}` }) } });
      const text = await res.text();
      expect(res.status).toBe(400);
      expect(JSON.parse(text)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
      expect(text).not.toMatch(/ at |node_modules|<html/i);
    }
  });

  // Issue 26, red team: Mcp-Name: list_orders on a batch of two create_order calls was served.
  it('Mcp-Method or Mcp-Name on a batch: 400 HeaderMismatch (the headers name one message; a batch is several)', async () => {
    const before = orders.length;
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read orders.write' });
    const batch = [toolCall('create_order', { item: 'a' }), { ...toolCall('create_order', { item: 'b' }), id: 2 }];
    for (const headers of [{ 'mcp-name': 'list_orders' }, { 'mcp-name': 'create_order' }, { 'mcp-method': 'tools/call' }, { 'mcp-method': 'tools/call', 'mcp-name': 'list_orders' }] as Record<string, string>[]) {
      const res = await call(token, batch, headers);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32020, message: expect.stringContaining('batch') } });
    }
    expect(orders.length).toBe(before);
    expect((await call(token, batch)).status).toBe(200); // without the headers, as before 2026-07-28
  });

  // Issue 26, red team: in the SDK's session mode, another client's valid token could open a
  // session's SSE stream and DELETE the session.
  it("binds a session to the client that opened it: another client's token cannot post to it, open its stream or delete it", async () => {
    const sessions = mcpGuard({
      ...issuer.options(),
      permissions: { 'orders-worker': ['orders.read', 'orders.write'], 'orders-reporter': ['orders.read'] },
      tools: { list_orders: ['orders.read'] },
      logger: false,
    });
    const { transports, handle } = sessionMode();
    const app = express();
    app.post('/mcp', express.json(), sessions, handle);
    app.get('/mcp', sessions, handle);
    app.delete('/mcp', sessions, handle);
    const other = createServer(app);
    const url = await listen(other);
    const worker = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read orders.write' });
    const reporter = await issuer.mint({ clientId: 'orders-reporter', scope: 'orders.read' });
    const client = new Client({ name: 'test', version: '1.0.0' });
    const clientTransport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${worker}` } } });
    try {
      await client.connect(clientTransport);
      const sessionId = clientTransport.sessionId!;
      expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
      const as = (token: string, method: string, body?: unknown) =>
        fetch(`${url}/mcp`, {
          method,
          headers: { authorization: `Bearer ${token}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18', accept: 'application/json, text/event-stream', ...(body !== undefined && { 'content-type': 'application/json' }) },
          ...(body !== undefined && { body: JSON.stringify(body) }),
        });
      for (const [method, body] of [['POST', toolCall('list_orders')], ['GET', undefined], ['DELETE', undefined]] as const) {
        const res = await as(reporter, method, body);
        expect(res.status).toBe(404);
        expect(await res.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } });
      }
      // The session's own client still uses it, and may end it; then it is gone for everyone.
      expect((await client.callTool({ name: 'list_orders' })).isError).toBeFalsy();
      expect((await as(worker, 'DELETE')).status).toBe(200);
      expect((await as(worker, 'POST', toolCall('list_orders'))).status).toBe(404);
    } finally {
      await client.close().catch(() => undefined);
      for (const transport of transports.values()) await transport.close();
      await close(other);
    }
  });

  // Issue 26, review: a session was bound to the client only, so another user of the same client
  // (a shared public client) could take it over.
  it('binds a session to the subject too: another user of the same client gets the 404', async () => {
    const shared = mcpGuard({ ...issuer.options(), permissions: 'token', logger: false });
    const { transports, handle } = sessionMode();
    const app = express();
    app.post('/mcp', shared, handle);
    const other = createServer(app);
    const url = await listen(other);
    const alice = await issuer.mint({ clientId: 'shared-app', subject: 'alice', scope: 'orders.read' });
    const bob = await issuer.mint({ clientId: 'shared-app', subject: 'bob', scope: 'orders.read' });
    const client = new Client({ name: 'test', version: '1.0.0' });
    const clientTransport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${alice}` } } });
    try {
      await client.connect(clientTransport);
      const headers = (token: string) => ({ authorization: `Bearer ${token}`, 'mcp-session-id': clientTransport.sessionId!, 'mcp-protocol-version': '2025-06-18', accept: 'application/json, text/event-stream', 'content-type': 'application/json' });
      const asBob = await fetch(`${url}/mcp`, { method: 'POST', headers: headers(bob), body: JSON.stringify(toolCall('list_orders')) });
      expect(asBob.status).toBe(404);
      const asAlice = await fetch(`${url}/mcp`, { method: 'POST', headers: headers(alice), body: JSON.stringify(toolCall('list_orders')) });
      expect(asAlice.status).toBe(200);
    } finally {
      await client.close().catch(() => undefined);
      for (const transport of transports.values()) await transport.close();
      await close(other);
    }
  });

  it('serves the RFC 9728 document with every tool scope, public', async () => {
    const res = await fetch(`${base}/.well-known/oauth-protected-resource/mcp`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ resource: RESOURCE, authorization_servers: [issuer.issuer], scopes_supported: expect.arrayContaining(['orders.read', 'orders.write']) });
  });

  it('states in the document everything the server supports: DPoP algorithms and binding, certificate-bound tokens', async () => {
    const bound = mcpGuard({ ...issuer.options(), permissions: 'token', resourceMetadata: { resource: RESOURCE }, dpop: { mode: 'required', algorithms: ['ES256'] }, mtls: {}, tools: { list_orders: ['orders.read'] }, logger: false });
    const app = express();
    app.get('/.well-known/oauth-protected-resource/mcp', bound);
    const other = createServer(app);
    const url = await listen(other);
    try {
      expect(await (await fetch(`${url}/.well-known/oauth-protected-resource/mcp`)).json()).toMatchObject({
        resource: RESOURCE,
        scopes_supported: ['orders.read'],
        dpop_signing_alg_values_supported: ['ES256'],
        dpop_bound_access_tokens_required: true,
        tls_client_certificate_bound_access_tokens: true,
      });
    } finally {
      await close(other);
    }
  });

  it('answers 503 with Retry-After when the key set cannot be fetched, never a 500', async () => {
    const down = mcpGuard({ issuer: issuer.issuer, audience: RESOURCE, jwksUri: 'http://127.0.0.1:9/jwks', permissions: 'token', logger: false, jwks: { timeoutMs: 300 } });
    const app = express();
    app.post('/mcp', express.json(), down, (_req, res) => res.json({}));
    const other = createServer(app);
    const url = await listen(other);
    try {
      const res = await fetch(`${url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await issuer.mint()}` }, body: JSON.stringify(toolCall('list_orders')) });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    } finally {
      await close(other);
    }
  });

  it('honours scope hierarchies through scopeMap: a broader scope implies the narrower ones', async () => {
    const hierarchical = mcpGuard({
      ...issuer.options(),
      permissions: 'token',
      scopeMap: { 'orders.admin': ['orders.read', 'orders.write'] },
      tools: { create_order: ['orders.write'] },
      logger: false,
    });
    const app = express();
    app.post('/mcp', express.json(), hierarchical, (_req, res) => res.json({ ok: true }));
    const other = createServer(app);
    const url = await listen(other);
    try {
      const send = async (scope: string) =>
        (await fetch(`${url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await issuer.mint({ scope })}` }, body: JSON.stringify(toolCall('create_order', { item: 'x' })) })).status;
      expect(await send('orders.admin')).toBe(200);
      expect(await send('orders.read')).toBe(403);
    } finally {
      await close(other);
    }
  });

  // Required, not imported: the SDK's module declares Express's `req.auth` its AuthInfo for every file
  // type-checked with it, where this repository's @scopeguard/express declares it a Principal.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { requireBearerAuth } = require('@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js') as {
    requireBearerAuth(options: { verifier: ReturnType<typeof scopeguardVerifier>; expectedResource?: URL; resourceMetadataUrl?: string }): express.RequestHandler;
  };

  it("scopeguardVerifier() behind the SDK's own requireBearerAuth: AuthInfo with the intersection, exp, and the resource only when the token is for it", async () => {
    const verifierGuard = mcpGuard({ ...issuer.options(), permissions: { 'orders-reporter': ['orders.read'] }, resourceMetadata: { resource: RESOURCE }, logger: false });
    const seen: McpAuthInfo[] = [];
    const app = express();
    app.post(
      '/mcp',
      requireBearerAuth({ verifier: scopeguardVerifier(verifierGuard), expectedResource: new URL(RESOURCE), resourceMetadataUrl: `${RESOURCE}/meta` }),
      (req, res) => {
        seen.push((req as unknown as { auth: McpAuthInfo }).auth);
        res.json({ ok: true });
      },
    );
    const other = createServer(app);
    const url = await listen(other);
    try {
      const post = async (token?: string) => fetch(`${url}/mcp`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });
      const token = await issuer.mint({ clientId: 'orders-reporter', scope: 'orders.read orders.write', expiresIn: 600 });
      expect((await post(token)).status).toBe(200);
      expect(seen[0]).toMatchObject({ clientId: 'orders-reporter', scopes: ['orders.read'], resource: new URL(RESOURCE), token });
      expect(seen[0]!.expiresAt).toBe(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp);
      const none = await post();
      expect(none.status).toBe(401);
      const expired = await post(await issuer.mint({ clientId: 'orders-reporter', expiresIn: -3600 }));
      expect(expired.status).toBe(401);
      expect(expired.headers.get('www-authenticate')).toContain('error="invalid_token"');
      // A token the engine accepts for another of its audiences is not one for this resource: the SDK refuses it.
      const elsewhere = mcpGuard({ ...issuer.options(), audience: [RESOURCE, 'https://other.example.com'], permissions: 'token', resourceMetadata: { resource: RESOURCE }, logger: false });
      const info = await scopeguardVerifier(elsewhere).verifyAccessToken(await issuer.mint({ audience: 'https://other.example.com' }));
      expect(info.resource).toBeUndefined();
    } finally {
      await close(other);
    }
  });

  it('guard.allows() registers only the tools a caller may call, so tools/list lists just those', async () => {
    const filtered = mcpGuard({ ...issuer.options(), permissions: { 'orders-reporter': ['orders.read'] }, tools: { list_orders: ['orders.read'], create_order: ['orders.write'] }, logger: false });
    const app = servingMcp(express(), filtered, (req) => {
      const mcp = new McpServer({ name: 'orders', version: '1.0.0' });
      for (const tool of ['list_orders', 'create_order']) {
        if (filtered.allows(req as never, tool)) mcp.registerTool(tool, { description: tool }, async () => ({ content: [{ type: 'text', text: tool }] }));
      }
      return mcp;
    });
    const other = createServer(app);
    const url = await listen(other);
    try {
      const client = new Client({ name: 'test', version: '1.0.0' });
      const token = await issuer.mint({ clientId: 'orders-reporter', scope: 'orders.read orders.write' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
      expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['list_orders']);
      await client.close();
      expect(filtered.allows({ headers: {} } as never, 'list_orders')).toBe(false);
    } finally {
      await close(other);
    }
  });
});

