/**
 * The example's MCP server (dist/mcp.js) with its embedded authorization server, driven by the official
 * SDK's Client and its client-credentials auth provider (discovery from the 401's resource_metadata,
 * the authorization server's metadata, a token for this server's resource), and by raw HTTP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsClient } from '../src/client';

/** Starts the example's MCP server (dist/mcp.js) with its embedded authorization server. */
async function startMcp(env: Record<string, string>): Promise<{ child: ChildProcess; mcp: string; issuer: string }> {
  const started = spawn(process.execPath, [join(__dirname, '..', 'dist', 'mcp.js')], {
    env: { ...process.env, PORT: '0', AS_PORT: '0', MCP_PORT: '0', CLOCK_TOLERANCE: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Its audit lines go to the test's console, which shows them when a test fails.
  createInterface({ input: started.stderr! }).on('line', (line) => console.error(line));
  const printed = await new Promise<{ mcp: string; issuer: string }>((resolve, reject) => {
    createInterface({ input: started.stdout! }).on('line', (line) => {
      if (line.startsWith('{')) resolve(JSON.parse(line) as { mcp: string; issuer: string });
    });
    started.once('exit', (code) => reject(new Error(`the MCP example exited with ${code}`)));
  });
  return { child: started, ...printed };
}

async function stopMcp(running: ChildProcess | undefined): Promise<void> {
  if (running === undefined || running.exitCode !== null) return;
  await new Promise((resolve) => {
    running.once('exit', resolve);
    running.kill('SIGTERM');
  });
}

let child: ChildProcess | undefined;
let mcp: string;
let issuer: string;

beforeAll(async () => {
  ({ child, mcp, issuer } = await startMcp({ ACCESS_TOKEN_TTL: '600' }));
}, 30_000);
afterAll(() => stopMcp(child));

async function connect(clientId: string, clientSecret: string): Promise<Client> {
  const authProvider = new ClientCredentialsProvider({ clientId, clientSecret, scope: 'orders.read orders.write', expectedIssuer: issuer });
  const client = new Client({ name: 'e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcp), { authProvider }));
  return client;
}

const tokenFor = (clientId: string, secret: string) =>
  new ClientCredentialsClient({ tokenEndpoint: `${issuer}/token`, clientId, clientSecret: secret, authMethod: 'client_secret_basic', scope: 'orders.read orders.write', resource: mcp }).accessToken();
const callTool = (token: string | undefined, name: string, args: Record<string, unknown>) =>
  fetch(mcp, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }),
  });

describe('the orders MCP server', () => {
  it('the worker, through the SDK client and its client-credentials provider, creates and lists orders', async () => {
    const client = await connect('orders-worker', 'worker-secret');
    expect(client.getServerCapabilities()?.extensions).toEqual({ 'io.modelcontextprotocol/oauth-client-credentials': {} });
    const created = await client.callTool({ name: 'create_order', arguments: { item: 'widget', quantity: 3 } });
    expect(JSON.parse((created.content as { text: string }[])[0]!.text)).toMatchObject({ item: 'widget', quantity: 3, createdBy: 'orders-worker' });
    const listed = await client.callTool({ name: 'list_orders', arguments: {} });
    expect(JSON.parse((listed.content as { text: string }[])[0]!.text)).toEqual(expect.arrayContaining([expect.objectContaining({ item: 'widget' })]));
    await client.close();
  });

  it("refuses the reporter's create_order (its token carries orders.write, its permissions do not): 403 insufficient_scope", async () => {
    const client = await connect('orders-reporter', 'reporter-secret');
    // tools/list shows what the reporter may call; calling the other anyway is refused before it runs.
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['list_orders']);
    await expect(client.callTool({ name: 'create_order', arguments: { item: 'nope', quantity: 1 } })).rejects.toThrow(/403/);
    const listed = await client.callTool({ name: 'list_orders', arguments: {} });
    expect((listed.content as { text: string }[])[0]!.text).not.toContain('nope');
    await client.close();

    const res = await callTool(await tokenFor('orders-reporter', 'reporter-secret'), 'create_order', { item: 'nope', quantity: 1 });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_scope".*scope="orders\.write".*resource_metadata="/);
  });

  it('no token: 401 with resource_metadata and no error code; a token for the HTTP API (another audience): 401 invalid_token', async () => {
    const none = await callTool(undefined, 'list_orders', {});
    expect(none.status).toBe(401);
    const challenge = none.headers.get('www-authenticate')!;
    expect(challenge).toContain(`resource_metadata="${mcp.replace('/mcp', '/.well-known/oauth-protected-resource/mcp')}"`);
    expect(challenge).not.toContain('error=');
    const forTheApi = await new ClientCredentialsClient({ tokenEndpoint: `${issuer}/token`, clientId: 'orders-worker', clientSecret: 'worker-secret', authMethod: 'client_secret_basic', scope: 'orders.read' }).accessToken();
    const wrong = await callTool(forTheApi, 'list_orders', {});
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});

describe('the orders MCP server, with tokens that live one second', () => {
  let shortLived: ChildProcess | undefined;
  let url: string;
  let as: string;
  beforeAll(async () => {
    ({ child: shortLived, mcp: url, issuer: as } = await startMcp({ ACCESS_TOKEN_TTL: '1' }));
  }, 30_000);
  afterAll(() => stopMcp(shortLived));

  it('an expired token: 401 invalid_token', async () => {
    const token = await new ClientCredentialsClient({ tokenEndpoint: `${as}/token`, clientId: 'orders-worker', clientSecret: 'worker-secret', authMethod: 'client_secret_basic', scope: 'orders.read', resource: url }).accessToken();
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_orders', arguments: {} } }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});

