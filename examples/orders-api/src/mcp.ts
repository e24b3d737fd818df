/**
 * `npm run mcp`: the orders MCP server beside the HTTP API — the same orders and service users,
 * as tools (`list_orders` needs orders.read, `create_order` orders.write), guarded by
 * @scopeguard/mcp, with the embedded authorization server unless ISSUER names another. The MCP
 * server's resource (RFC 8707) is its own URL, so its tokens are for it and no other API.
 * Prints {"mcp": url, "issuer": url} once listening.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { localhostHostValidation } from '@modelcontextprotocol/sdk/server/middleware/hostHeaderValidation.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { mcpGuard, type McpAuthInfo, type McpGuard } from '@scopeguard/mcp';
import { ORDER_SCOPES, startAuthorizationServer } from './authorization-server';
import { loadConfig } from './config';
import { OrdersRepository } from './domain/orders';

/**
 * The MCP server of one request (stateless Streamable HTTP): the tools over the shared repository,
 * only those the caller may call (`allowed`), so that `tools/list` shows what it can use.
 */
function ordersServer(orders: OrdersRepository, guard: McpGuard, allowed: (tool: string) => boolean): McpServer {
  // The guard's capabilities declare the client-credentials extension: machine clients, no user.
  const server = new McpServer({ name: 'orders', version: '1.0.0' }, { capabilities: { ...guard.capabilities, tools: {} } });
  if (allowed('list_orders')) server.registerTool('list_orders', { description: 'List the orders' }, async () => ({
    content: [{ type: 'text', text: JSON.stringify(orders.list()) }],
  }));
  if (allowed('create_order')) server.registerTool(
    'create_order',
    { description: 'Create an order', inputSchema: { item: z.string().min(1), quantity: z.number().int().min(1).max(10_000) } },
    async ({ item, quantity }, extra) => {
      const order = orders.create({ item, quantity }, (extra.authInfo as McpAuthInfo | undefined)?.clientId ?? 'unknown');
      return { content: [{ type: 'text', text: JSON.stringify(order) }] };
    },
  );
  return server;
}

async function main(): Promise<void> {
  const config = loadConfig();
  let resource: string | undefined;
  const embedded = config.issuer
    ? undefined
    : await startAuthorizationServer({
        port: config.asPort,
        audience: config.audience,
        accessTokenTtl: config.accessTokenTtl,
        moreResources: () => (resource === undefined ? {} : { [resource]: ORDER_SCOPES.join(' ') }),
      });
  const issuer = config.issuer ?? embedded!.issuer;
  const orders = new OrdersRepository();

  // The guard is made once the port, and so the resource, is known; requests come after that.
  let guard: McpGuard | undefined;
  const app = express();
  // It listens on 127.0.0.1: a Host other than localhost is a DNS rebinding attempt (MCP transports).
  app.use(localhostHostValidation());
  app.get('/.well-known/oauth-protected-resource/mcp', (req, res, next) => guard!(req, res, next));
  app.post('/mcp', express.json(), (req, res, next) => guard!(req, res, next), async (req, res) => {
    const server = ordersServer(orders, guard!, (tool) => guard!.allows(req, tool));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => void transport.close().then(() => server.close()));
    await server.connect(transport);
    // As IncomingMessage: this app's Express.Request types req.auth as @scopeguard/express's Principal.
    await transport.handleRequest(req as IncomingMessage, res, req.body);
  });
  const http = createServer(app);
  await new Promise<void>((resolve) => http.listen(Number(process.env.MCP_PORT ?? 0), '127.0.0.1', resolve));
  resource = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  guard = mcpGuard({
    issuer,
    audience: resource,
    resourceMetadata: { resource },
    permissions: config.permissions,
    tools: { list_orders: ['orders.read'], create_order: ['orders.write'] },
    clientCredentials: true,
    clockTolerance: config.clockTolerance,
    auditLog: true,
  });
  console.log(JSON.stringify({ mcp: resource, issuer }));

  const stop = async () => {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
    await embedded?.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
