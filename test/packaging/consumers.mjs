#!/usr/bin/env node
/**
 * `npm run test:packages`: packs every package and installs the tarballs into fresh consumer projects
 * outside the repository, as users install them from the registry, then type-checks, answers one
 * request each, and runs the consumers' own `npx jest`:
 *   express5-ts   TypeScript strict, module nodenext, CommonJS, Express 5 — and its Jest test
 *   express4-js   plain CommonJS JavaScript, Express 4
 *   nest11-node10 Nest 11, CommonJS, TypeScript moduleResolution node10, skipLibCheck false, no @nestjs/swagger
 *   esm           an ES module project ("type": "module") importing the packages by name
 *   hono-ts       TypeScript strict, module nodenext, an ES module: Hono on @hono/node-server
 *   fastify-ts    TypeScript strict, module nodenext, CommonJS: the Fastify 5 plugin, route config scopes
 *   koa-js        plain CommonJS JavaScript: Koa 3 with @koa/router
 *   mcp-ts        TypeScript strict, module nodenext, CommonJS: the MCP guard's README server (Express 5, the
 *                 SDK's McpServer), called by the SDK's Client over Streamable HTTP and by plain fetch
 *   redis-ts      TypeScript strict, module nodenext, CommonJS: the Redis store's README Express app (ioredis 6),
 *                 two instances on one redis-server; a token revoked through one gets 401 from the other.
 *                 Skipped, with a line saying so, when `redis-server` is not on the PATH
 *   jest-ts7      today's `npm install -D typescript` (7, which has no JavaScript compiler API, so no
 *                 ts-jest): the test kit README's TypeScript test recipes, as written there, under Jest 30
 *                 with @swc/jest, type-checked by TypeScript 7's tsc with skipLibCheck false
 *   ts-jest-ts6   the same recipes the README's other way: ts-jest 29 with TypeScript 6
 *
 * Pinned: every consumer installs with `npm ci` from its committed lockfile (test/packaging/locks/<name>.json),
 * so a release elsewhere cannot change what this suite runs; our own tarballs sit in each project as
 * vendor/<package>.tgz, whose lockfile entries carry no integrity (they are rebuilt on every run).
 *   node test/packaging/consumers.mjs [name …]          the pinned run (CI)
 *   node test/packaging/consumers.mjs --update-locks     re-resolves every consumer and rewrites its lockfile
 *   node test/packaging/consumers.mjs --drift            `npm run test:drift`: no lockfiles, the newest release of
 *                                                        every third-party dependency, and a report of what breaks
 *                                                        (not part of CI: it answers "do we work with today's releases?")
 * Needs the npm registry (the consumers' own dependencies). Builds first.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const PACKAGES = ['core', 'express', 'nestjs', 'fastify', 'hono', 'koa', 'mcp', 'redis', 'testing'];
const work = mkdtempSync(join(tmpdir(), 'scopeguard-consumers-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Runs a command; its stdout (and, with `both`, stderr too, where Jest writes), or throws with both. */
function run(cwd, command, args, label, both = true) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.status !== 0) throw new Error(`${label}: ${command} ${args.join(' ')} failed\n${output}`);
  return both ? output : result.stdout;
}

function write(dir, files) {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
}

// 1. Build and pack.
run(ROOT, npm, ['run', 'build'], 'build');
const tarballs = {};
for (const name of PACKAGES) {
  const out = run(join(ROOT, 'packages', name), npm, ['pack', '--pack-destination', work, '--json'], `pack ${name}`, false);
  tarballs[`@scopeguard/${name}`] = join(work, JSON.parse(out)[0].filename);
}
/** Our packages as a consumer names them: a tarball inside the project, at a path its lockfile can keep. */
const vendored = (name) => `vendor/${name.slice('@scopeguard/'.length)}.tgz`;
const dep = (...names) => Object.fromEntries(names.map((name) => [name, `file:${vendored(name)}`]));

/** One request with a token (200) and one without (401), against an app listening on `base`. */
const requestCheck = `
async function check(base, issuer) {
  const token = await issuer.mint({ clientId: 'worker', scope: 'orders.read' });
  const ok = await fetch(base + '/orders', { headers: { authorization: 'Bearer ' + token } });
  const none = await fetch(base + '/orders');
  if (ok.status !== 200 || none.status !== 401 || !/^Bearer /.test(none.headers.get('www-authenticate') ?? '')) {
    throw new Error('unexpected answers: ' + ok.status + ' ' + none.status);
  }
  return 'GET /orders: 200 with a token, 401 with a Bearer challenge without';
}`;

/** For the JavaScript consumers: waits for `server` to listen, checks it, closes it and the issuer. */
const serverCheck = `
async function checkServer(server, issuer) {
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    return await check('http://127.0.0.1:' + server.address().port, issuer);
  } finally {
    server.close();
    await issuer.close();
  }
}`;

/** The TypeScript blocks of a README that are Jest tests (they call `it(` or `test(`), in order. */
function readmeTests(path) {
  const blocks = [...readFileSync(path, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);
  const tests = blocks.filter((code) => /^\s*(it|test)\(/m.test(code));
  if (tests.length === 0) throw new Error(`${path}: no test recipe found`);
  return tests;
}

/** The test kit README's recipes (Express and Nest tests in TypeScript): what a project running them installs. */
const recipeDependencies = {
  ...dep('@scopeguard/core', '@scopeguard/express', '@scopeguard/nestjs', '@scopeguard/testing'),
  express: '^5.1.0', '@nestjs/common': '^11.1.0', '@nestjs/core': '^11.1.0', '@nestjs/platform-express': '^11.1.0', 'reflect-metadata': '^0.2.2', rxjs: '^7.8.2',
};
const recipeDevDependencies = { jest: '^30.2.0', '@types/jest': '^30.0.0', '@nestjs/testing': '^11.1.0', '@types/express': '^5.0.3', '@types/node': '^20.19.0' };
/** The recipes as they stand in the README, one test file each (read at run time, so the two cannot drift apart). */
const recipeFiles = () => ({
  'tsconfig.json': { compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true, skipLibCheck: false, experimentalDecorators: true, emitDecoratorMetadata: true, types: ['node', 'jest'] }, include: ['test'] },
  ...Object.fromEntries(readmeTests(join(ROOT, 'packages/testing/README.md')).map((code, index) => [`test/readme-${index + 1}.test.ts`, code])),
});

/** Drift ranges that keep a consumer on Nest 11's line (Nest 12 is ESM-only). */
const NEST11 = { '@nestjs/common': '11', '@nestjs/core': '11', '@nestjs/platform-express': '11', '@nestjs/testing': '11' };

const consumers = {
  'express5-ts': {
    package: { name: 'express5-ts', private: true, type: 'commonjs', dependencies: { ...dep('@scopeguard/core', '@scopeguard/express', '@scopeguard/testing'), express: '^5.1.0' }, devDependencies: { typescript: '~5.9.3', '@types/express': '^5.0.3', '@types/node': '^20.19.0', jest: '^30.2.0' } },
    files: {
      'tsconfig.json': { compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', outDir: 'dist', rootDir: 'src', skipLibCheck: false, types: ['node'] }, include: ['src'] },
      'src/app.ts': `import express from 'express';
import { requireScopes, scopeguard } from '@scopeguard/express';
import type { IssuerOptions } from '@scopeguard/core';

export function createApp(issuer: Pick<IssuerOptions, 'issuer' | 'audience' | 'keys'>): express.Express {
  const app = express();
  app.use(scopeguard({ ...issuer, permissions: { worker: ['orders.read'] }, logger: false }));
  app.get('/orders', requireScopes('orders.read'), (req, res) => {
    res.json({ caller: req.auth?.clientId ?? null });
  });
  return app;
}
`,
      'src/main.ts': `import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { createApp } from './app';
${requestCheck.replace('async function check(base, issuer)', 'async function check(base: string, issuer: TestIssuer)')}
async function main(): Promise<void> {
  const issuer = await createTestIssuer();
  const server = createApp(issuer.options()).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  try {
    console.log(await check('http://127.0.0.1:' + port, issuer));
  } finally {
    server.close();
    await issuer.close();
  }
}
main().catch((error: unknown) => { console.error(error); process.exit(1); });
`,
      // A user's test: plain JavaScript, plain \`npx jest\`, no Jest config at all.
      'test/app.test.js': `const { createTestIssuer } = require('@scopeguard/testing');
const { createApp } = require('../dist/app');

let issuer;
let server;
let base;
beforeAll(async () => {
  issuer = await createTestIssuer();
  server = createApp(issuer.options()).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = 'http://127.0.0.1:' + server.address().port;
});
afterAll(async () => {
  server.close();
  await issuer.close();
});

test('a caller with orders.read gets its orders', async () => {
  const res = await fetch(base + '/orders', { headers: { authorization: await issuer.bearer({ clientId: 'worker', scope: 'orders.read' }) } });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ caller: 'worker' });
});

test('a caller without it gets 403 with the scope in the challenge', async () => {
  const res = await fetch(base + '/orders', { headers: { authorization: await issuer.bearer({ clientId: 'worker', scope: 'orders.write' }) } });
  expect(res.status).toBe(403);
  expect(res.headers.get('www-authenticate')).toMatch(/scope="orders.read"/);
});
`,
    },
    steps: [['npx', ['tsc', '-p', '.']], ['node', ['dist/main.js']], ['npx', ['jest']]],
  },
  'express4-js': {
    package: { name: 'express4-js', private: true, type: 'commonjs', dependencies: { ...dep('@scopeguard/core', '@scopeguard/express', '@scopeguard/testing'), express: '^4.21.2' } },
    files: {
      'main.js': `const express = require('express');
const { scopeguard, requireScopes } = require('@scopeguard/express');
const { createTestIssuer } = require('@scopeguard/testing');
${requestCheck}${serverCheck}
(async () => {
  const issuer = await createTestIssuer();
  const app = express();
  app.use(scopeguard({ issuer: issuer.issuer, audience: issuer.audience, permissions: 'token' }));
  app.get('/orders', requireScopes('orders.read'), (req, res) => res.json({ caller: req.auth.clientId }));
  const server = app.listen(0, '127.0.0.1', async () => {
    try {
      console.log(await check('http://127.0.0.1:' + server.address().port, issuer));
    } catch (error) {
      console.error(error);
      process.exitCode = 1;
    } finally {
      server.close();
      await issuer.close();
    }
  });
})();
`,
    },
    steps: [['node', ['main.js']]],
    drift: { express: '4' }, // this consumer is about Express 4: its newest release is the newest 4.x
  },
  'nest11-node10': {
    // This consumer is about Nest 11 under CommonJS and moduleResolution node10, which TypeScript 7 removed (TS5108).
    drift: { ...NEST11, '@nestjs/passport': '11', typescript: '6' },
    package: {
      name: 'nest11-node10',
      private: true,
      dependencies: {
        ...dep('@scopeguard/core', '@scopeguard/nestjs', '@scopeguard/testing'),
        '@nestjs/common': '^11.1.0', '@nestjs/core': '^11.1.0', '@nestjs/platform-express': '^11.1.0', '@nestjs/passport': '^11.0.5', passport: '^0.7.0', 'reflect-metadata': '^0.2.2', rxjs: '^7.8.2',
      },
      // The Passport entry's types extend passport's Strategy: its README install line has @types/passport.
      devDependencies: { typescript: '~5.9.3', '@types/node': '^20.19.0', '@types/express': '^5.0.3', '@types/passport': '^1.0.17' },
    },
    files: {
      // Older Nest CLI projects: node10 resolution (no "exports"), and here no skipLibCheck and no @nestjs/swagger.
      'tsconfig.json': { compilerOptions: { strict: true, module: 'commonjs', moduleResolution: 'node10', target: 'es2021', outDir: 'dist', rootDir: 'src', experimentalDecorators: true, emitDecoratorMetadata: true, skipLibCheck: false, types: ['node'] }, include: ['src'] },
      'src/main.ts': `import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Principal, RequireScopes, ScopeguardModule, type ScopeguardPrincipal } from '@scopeguard/nestjs';
import { ScopeguardStrategy } from '@scopeguard/nestjs/passport';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
${requestCheck.replace('async function check(base, issuer)', 'async function check(base: string, issuer: TestIssuer)')}
@Controller('orders')
class OrdersController {
  @RequireScopes('orders.read')
  @Get()
  list(@Principal() caller: ScopeguardPrincipal) {
    return { caller: caller.clientId };
  }
}

async function main(): Promise<void> {
  const issuer = await createTestIssuer();
  @Module({ imports: [ScopeguardModule.forRoot({ ...issuer.options(), permissions: 'token', global: true })], controllers: [OrdersController] })
  class AppModule {}
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  try {
    console.log(await check((await app.getUrl()).replace('[::1]', '127.0.0.1'), issuer), typeof ScopeguardStrategy);
  } finally {
    await app.close();
    await issuer.close();
  }
}
main().catch((error: unknown) => { console.error(error); process.exit(1); });
`,
    },
    steps: [['npx', ['tsc', '-p', '.']], ['node', ['dist/main.js']]],
  },
  esm: {
    package: { name: 'esm', private: true, type: 'module', dependencies: { ...dep('@scopeguard/core', '@scopeguard/express', '@scopeguard/testing'), express: '^5.1.0' } },
    files: {
      'main.js': `import express from 'express';
import { Scopeguard, isPrincipal } from '@scopeguard/core';
import { requireScopes, scopeguard } from '@scopeguard/express';
import { createTestIssuer } from '@scopeguard/testing';
${requestCheck}${serverCheck}
const issuer = await createTestIssuer();
const engine = new Scopeguard({ ...issuer.options(), permissions: 'token' });
if (!isPrincipal(await engine.verify(await issuer.mint()))) throw new Error('no principal');
const app = express();
app.use(scopeguard(engine));
app.get('/orders', requireScopes('orders.read'), (req, res) => res.json({ caller: req.auth.clientId }));
console.log(await checkServer(app.listen(0, '127.0.0.1'), issuer));
`,
    },
    steps: [['node', ['main.js']]],
  },
  'hono-ts': {
    package: { name: 'hono-ts', private: true, type: 'module', dependencies: { ...dep('@scopeguard/core', '@scopeguard/hono', '@scopeguard/testing'), hono: '^4.13.0', '@hono/node-server': '^2.1.0' }, devDependencies: { typescript: '~5.9.3', '@types/node': '^20.19.0' } },
    files: {
      'tsconfig.json': { compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', outDir: 'dist', rootDir: 'src', skipLibCheck: false, types: ['node'] }, include: ['src'] },
      'src/main.ts': `import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { scopeguard, type ScopeguardEnv } from '@scopeguard/hono';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
${requestCheck.replace('async function check(base, issuer)', 'async function check(base: string, issuer: TestIssuer)')}
const issuer = await createTestIssuer();
const app = new Hono<ScopeguardEnv>();
const guard = scopeguard({ ...issuer.options(), permissions: { worker: ['orders.read'] }, logger: false });
app.use(guard);
app.get('/orders', guard.requireScopes('orders.read'), (c) => c.json({ caller: c.get('auth').clientId }));
const base = await new Promise<string>((resolve) => serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => resolve('http://127.0.0.1:' + info.port)));
try {
  console.log(await check(base, issuer));
} finally {
  await issuer.close();
  process.exit(0);
}
`,
    },
    steps: [['npx', ['tsc', '-p', '.']], ['node', ['dist/main.js']]],
  },
  'fastify-ts': {
    package: { name: 'fastify-ts', private: true, type: 'commonjs', dependencies: { ...dep('@scopeguard/core', '@scopeguard/fastify', '@scopeguard/testing'), fastify: '^5.6.0' }, devDependencies: { typescript: '~5.9.3', '@types/node': '^20.19.0' } },
    files: {
      'tsconfig.json': { compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', outDir: 'dist', rootDir: 'src', skipLibCheck: false, types: ['node'] }, include: ['src'] },
      'src/main.ts': `import Fastify from 'fastify';
import { scopeguard } from '@scopeguard/fastify';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
${requestCheck.replace('async function check(base, issuer)', 'async function check(base: string, issuer: TestIssuer)')}
async function main(): Promise<void> {
  const issuer = await createTestIssuer();
  const app = Fastify();
  await app.register(scopeguard, { ...issuer.options(), permissions: { worker: ['orders.read'] }, logger: false });
  app.get('/orders', { config: { scopeguard: { scopes: ['orders.read'] } } }, async (request) => ({ caller: request.auth?.clientId ?? null }));
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    console.log(await check(base, issuer));
  } finally {
    await app.close();
    await issuer.close();
  }
}
void main();
`,
    },
    steps: [['npx', ['tsc', '-p', '.']], ['node', ['dist/main.js']]],
  },
  'koa-js': {
    package: { name: 'koa-js', private: true, type: 'commonjs', dependencies: { ...dep('@scopeguard/core', '@scopeguard/koa', '@scopeguard/testing'), koa: '^3.0.0', '@koa/router': '^15.0.0' } },
    files: {
      'main.js': `const Koa = require('koa');
const Router = require('@koa/router');
const { requireScopes, scopeguard } = require('@scopeguard/koa');
const { createTestIssuer } = require('@scopeguard/testing');
${requestCheck}${serverCheck}
(async () => {
  const issuer = await createTestIssuer();
  const app = new Koa();
  app.use(scopeguard({ ...issuer.options(), permissions: { worker: ['orders.read'] }, logger: false }));
  const router = new Router();
  router.get('/orders', requireScopes('orders.read'), (ctx) => { ctx.body = { caller: ctx.state.auth.clientId }; });
  app.use(router.routes());
  console.log(await checkServer(app.listen(0, '127.0.0.1'), issuer));
})();
`,
    },
    steps: [['node', ['main.js']]],
  },
  'mcp-ts': {
    package: {
      name: 'mcp-ts',
      private: true,
      type: 'commonjs',
      dependencies: { ...dep('@scopeguard/core', '@scopeguard/mcp', '@scopeguard/testing'), '@modelcontextprotocol/sdk': '^1.32.2', express: '^5.1.0', zod: '^4.1.0' },
      devDependencies: { typescript: '~5.9.3', '@types/express': '^5.0.3', '@types/node': '^20.19.0' },
    },
    files: {
      'tsconfig.json': { compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', outDir: 'dist', rootDir: 'src', skipLibCheck: false, types: ['node'] }, include: ['src'] },
      // The server of packages/mcp/README.md: the test issuer instead of auth.example.com, and its own URL as the resource.
      'src/app.ts': `import type { IncomingMessage } from 'node:http';
import express from 'express';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { mcpGuard } from '@scopeguard/mcp';
import type { IssuerOptions } from '@scopeguard/core';

export function createApp(issuer: Pick<IssuerOptions, 'issuer' | 'keys' | 'algorithms'>, resource: string): express.Express {
  const guard = mcpGuard({
    ...issuer,
    audience: resource,
    resourceMetadata: { resource },
    permissions: { 'orders-worker': ['orders.read', 'orders.write'], 'orders-reporter': ['orders.read'] },
    tools: { list_orders: ['orders.read'], create_order: ['orders.write'] },
    clientCredentials: true, // machine clients: declares MCP's client-credentials extension
    logger: false,
  });

  const app = express();
  app.get('/.well-known/oauth-protected-resource/mcp', guard);
  app.post('/mcp', express.json(), guard, async (req, res) => {
    const server = new McpServer({ name: 'orders', version: '1.0.0' }, { capabilities: { ...guard.capabilities, tools: {} } });
    if (guard.allows(req, 'list_orders')) server.registerTool('list_orders', { description: 'List orders' }, async (extra) => ({ content: [{ type: 'text', text: \`orders for \${extra.authInfo?.clientId}\` }] }));
    if (guard.allows(req, 'create_order')) server.registerTool('create_order', { inputSchema: { item: z.string() } }, async ({ item }) => ({ content: [{ type: 'text', text: \`created \${item}\` }] }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => void transport.close().then(() => server.close()));
    await server.connect(transport);
    // As IncomingMessage: an app that also uses @scopeguard/express types req.auth as its Principal.
    await transport.handleRequest(req as IncomingMessage, res, req.body);
  });
  return app;
}
`,
      'src/main.ts': `import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { createApp } from './app';

/** The text of a tool result's first content item. */
function textOf(result: Awaited<ReturnType<Client['callTool']>>): string | undefined {
  const [first] = (result.content ?? []) as Array<{ type: string; text?: string }>;
  return first?.type === 'text' ? first.text : undefined;
}

async function check(resource: string, issuer: TestIssuer): Promise<string> {
  // The worker, through the SDK's own client: tools/list, then both tools.
  const worker = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read orders.write', audience: resource });
  const client = new Client({ name: 'mcp-ts', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(resource), { requestInit: { headers: { authorization: 'Bearer ' + worker } } }));
  const extensions = Object.keys(client.getServerCapabilities()?.extensions ?? {}).join(',');
  const tools = (await client.listTools()).tools.map((tool) => tool.name).sort().join(',');
  const listed = textOf(await client.callTool({ name: 'list_orders', arguments: {} }));
  const created = await client.callTool({ name: 'create_order', arguments: { item: 'widget' } });
  await client.close();
  if (extensions !== 'io.modelcontextprotocol/oauth-client-credentials' || tools !== 'create_order,list_orders' || listed !== 'orders for orders-worker' || created.isError || textOf(created) !== 'created widget') {
    throw new Error('unexpected answers to the worker: ' + JSON.stringify({ extensions, tools, listed, created }));
  }

  // The reporter calls create_order, and a request without a token: plain fetch.
  const call = (authorization?: string) => fetch(resource, {
    method: 'POST',
    headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'create_order', arguments: { item: 'widget' } } }),
  });
  const reporter = await call('Bearer ' + await issuer.mint({ clientId: 'orders-reporter', scope: 'orders.read', audience: resource }));
  const none = await call();
  const reporterChallenge = reporter.headers.get('www-authenticate') ?? '';
  const noneChallenge = none.headers.get('www-authenticate') ?? '';
  if (reporter.status !== 403 || !reporterChallenge.includes('insufficient_scope') || none.status !== 401 || !noneChallenge.includes('resource_metadata=')) {
    throw new Error('unexpected answers: ' + reporter.status + ' ' + reporterChallenge + ' / ' + none.status + ' ' + noneChallenge);
  }
  return 'POST /mcp: the SDK client as orders-worker lists ' + tools + ' and creates an order; orders-reporter\\'s create_order 403 insufficient_scope; no token 401 with resource_metadata';
}

async function main(): Promise<void> {
  const issuer = await createTestIssuer();
  // The resource is the server's own URL, known once it listens; the app is made then.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const resource = 'http://127.0.0.1:' + (server.address() as AddressInfo).port + '/mcp';
  server.on('request', createApp(issuer.options(), resource));
  try {
    console.log(await check(resource, issuer));
  } finally {
    server.closeAllConnections();
    server.close();
    await issuer.close();
  }
}
main().catch((error: unknown) => { console.error(error); process.exit(1); });
`,
    },
    steps: [['npx', ['tsc', '-p', '.']], ['node', ['dist/main.js']]],
  },
  'redis-ts': {
    needs: 'redis-server',
    package: {
      name: 'redis-ts',
      private: true,
      type: 'commonjs',
      // ioredis exactly 6.0.0: 6.1.0's own declarations import redis-errors, which ships no types, so a strict
      // project with skipLibCheck false fails inside ioredis (npm run test:drift reports it; see the README).
      dependencies: { ...dep('@scopeguard/core', '@scopeguard/express', '@scopeguard/redis', '@scopeguard/testing'), ioredis: '6.0.0', express: '^5.1.0' },
      devDependencies: { typescript: '~5.9.3', '@types/express': '^5.0.3', '@types/node': '^20.19.0' },
    },
    files: {
      'tsconfig.json': { compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', outDir: 'dist', rootDir: 'src', skipLibCheck: false, types: ['node'] }, include: ['src'] },
      // The Express app of packages/redis/README.md: the test issuer instead of auth.example.com, an admin
      // client in the map, and the Redis URL and public base URL given; returned instead of listening.
      'src/app.ts': `import express from 'express';
import type { Redis } from 'ioredis';
import { requireScopes, scopeguard } from '@scopeguard/express';
import { connectRedis, redisStore, type RedisStore } from '@scopeguard/redis';
import type { IssuerOptions } from '@scopeguard/core';

export async function createApp(issuer: Pick<IssuerOptions, 'issuer' | 'audience' | 'keys' | 'algorithms'>, redisUrl: string, publicBaseUrl: string): Promise<{ app: express.Express; store: RedisStore; client: Redis }> {
  const client = connectRedis(redisUrl);
  const store = redisStore({ client });
  const guard = scopeguard({
    ...issuer,
    permissions: store.permissions({ 'orders-worker': ['orders.read', 'orders.write'], 'orders-admin': ['orders.admin'] }),
    isRevoked: store.isRevoked,
    dpop: { nonce: true, nonceSecret: await store.nonceSecret(), replayStore: store.replayStore, publicBaseUrl },
    logger: false,
  });
  await store.attach(guard); // before listening: this instance now hears every change

  const app = express();
  app.use(guard);
  app.get('/orders', requireScopes('orders.read'), (_req, res) => {
    res.json([]);
  });
  // An operator's route: revoke a token (its jti and exp) on every instance.
  app.post('/admin/revocations', express.json(), requireScopes('orders.admin'), async (req, res) => {
    const { jti, exp } = req.body as { jti: string; exp: number }; // validate it in a real app
    await store.revoke({ jti, expiresAt: exp * 1000 });
    res.status(204).end();
  });
  return { app, store, client };
}
`,
      'src/main.ts': `import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { createApp } from './app';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return 'http://127.0.0.1:' + (server.address() as AddressInfo).port;
}

/** Debian's redis-server on a free port, no persistence, once it accepts connections. */
async function startRedis() {
  const probe = createServer();
  const port = new URL(await listen(probe)).port;
  await new Promise((resolve) => probe.close(resolve));
  const child = spawn('redis-server', ['--port', port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => { out += chunk; if (out.includes('Ready to accept connections')) resolve(); });
    child.once('exit', (code) => reject(new Error('redis-server exited with ' + code + ':\\n' + out)));
  });
  return { url: 'redis://127.0.0.1:' + port, child };
}

async function check(a: string, b: string, issuer: TestIssuer): Promise<string> {
  const worker = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', claims: { jti: 'consumer-1' } });
  const orders = async (base: string) => (await fetch(base + '/orders', { headers: { authorization: 'Bearer ' + worker } })).status;
  const before = [await orders(a), await orders(b)];
  if (before.join() !== '200,200') throw new Error('before the revocation, A and B answered ' + before.join(' and '));

  const { exp } = JSON.parse(Buffer.from(worker.split('.')[1], 'base64url').toString()) as { exp: number };
  const admin = await issuer.mint({ clientId: 'orders-admin', scope: 'orders.admin' });
  const revoked = await fetch(a + '/admin/revocations', {
    method: 'POST',
    headers: { authorization: 'Bearer ' + admin, 'content-type': 'application/json' },
    body: JSON.stringify({ jti: 'consumer-1', exp }),
  });
  if (revoked.status !== 204) throw new Error('POST /admin/revocations on A answered ' + revoked.status + ': ' + await revoked.text());
  const start = Date.now();
  let status = await orders(b);
  while (status === 200 && Date.now() - start < 1000) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    status = await orders(b);
  }
  const ms = Date.now() - start;
  if (status !== 401) throw new Error('B still answered ' + status + ' ' + ms + ' ms after the revocation on A');
  const onA = await orders(a);
  if (onA !== 401) throw new Error('A answered ' + onA + ' after the revocation');
  return 'GET /orders: orders-worker 200 on A and B; revoked on A, 401 on B after ' + ms + ' ms (and on A)';
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const issuer = await createTestIssuer();
  const servers = [createServer(), createServer()];
  const instances: Array<Awaited<ReturnType<typeof createApp>>> = [];
  try {
    // Two instances, each with its own Redis connection, as two processes behind a load balancer would be.
    const bases: string[] = [];
    for (const server of servers) {
      const base = await listen(server);
      const instance = await createApp(issuer.options(), redis.url, base);
      instances.push(instance);
      server.on('request', instance.app);
      bases.push(base);
    }
    console.log(await check(bases[0], bases[1], issuer));
  } finally {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    for (const { store, client } of instances) {
      await store.close();
      await client.quit();
    }
    await issuer.close();
    redis.child.kill();
  }
}
main().catch((error: unknown) => { console.error(error); process.exit(1); });
`,
    },
    steps: [['npx', ['tsc', '-p', '.']], ['node', ['dist/main.js']]],
  },
  'jest-ts7': {
    // Nest 12 is ESM-only, which Jest's CommonJS runtime cannot load on Node 20 (the testing README says so).
    drift: NEST11,
    package: {
      name: 'jest-ts7',
      private: true,
      type: 'commonjs',
      dependencies: recipeDependencies,
      // What the test kit's README says to install for TypeScript tests, with today's TypeScript.
      devDependencies: { ...recipeDevDependencies, typescript: '^7.0.2', '@swc/core': '^1.15.0', '@swc/jest': '^0.2.39' },
      jest: { transform: { '^.+\\.ts$': '@swc/jest' } },
    },
    files: () => ({
      ...recipeFiles(),
      // Nest's decorators under SWC: the settings NestJS's own SWC recipe gives.
      '.swcrc': { jsc: { parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true } } },
    }),
    steps: [['npx', ['tsc', '-p', '.']], ['npx', ['jest']]],
  },
  // The README's other way: ts-jest, which needs TypeScript 6 or older (it uses the compiler API that 7 lacks).
  'ts-jest-ts6': {
    drift: { ...NEST11, typescript: '6' },
    package: {
      name: 'ts-jest-ts6',
      private: true,
      type: 'commonjs',
      dependencies: recipeDependencies,
      devDependencies: { ...recipeDevDependencies, typescript: '~6.0.3', 'ts-jest': '^29.4.5' },
      jest: { preset: 'ts-jest' },
    },
    files: recipeFiles,
    steps: [['npx', ['jest']]],
  },
};

const argv = process.argv.slice(2);
const MODE = argv.includes('--drift') ? 'drift' : argv.includes('--update-locks') ? 'update-locks' : 'pinned';
const only = argv.filter((arg) => !arg.startsWith('--'));
const LOCKS = join(ROOT, 'test/packaging/locks');

/** A lockfile without the integrity of our own tarballs, which are packed anew on every run. */
function withoutOwnIntegrity(lock) {
  for (const entry of Object.values(lock.packages ?? {})) {
    if (typeof entry.resolved === 'string' && entry.resolved.startsWith('file:')) delete entry.integrity;
  }
  return lock;
}

/** Drift: every third-party dependency at its newest release (or the newest of the range a consumer names). */
function newest(pkg, ranges = {}) {
  const bump = (deps) => deps && Object.fromEntries(Object.entries(deps).map(([name, spec]) => [name, spec.startsWith('file:') ? spec : (ranges[name] ?? 'latest')]));
  return { ...pkg, dependencies: bump(pkg.dependencies), devDependencies: bump(pkg.devDependencies) };
}

/**
 * Whose fault a failed step is: a TypeScript error inside another package's own declarations (with
 * skipLibCheck false every .d.ts is checked) is that peer's; one in ours or in the consumer's code is ours.
 */
function blame(output) {
  const files = [...output.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)\/[^(:\s]+\.d\.[cm]?ts/g)].map((match) => match[1]);
  const peers = [...new Set(files.filter((name) => !name.startsWith('@scopeguard/')))];
  const ours = output.includes('node_modules/@scopeguard/') || /^src\/|^test\//m.test(output);
  if (peers.length > 0 && !ours) return `a peer's own declarations (${peers.join(', ')})`;
  if (/^tsconfig\.json\(/m.test(output)) return 'the consumer\'s tsconfig under the new compiler';
  if (/Must use import to load ES Module|ERR_REQUIRE_ESM/.test(output)) return 'an ESM-only release loaded from CommonJS';
  return 'ours or the consumer\'s code';
}

/** The versions a consumer ended up with, of its direct third-party dependencies. */
function installedVersions(dir, pkg) {
  const names = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((name) => !name.startsWith('@scopeguard/'));
  return names.map((name) => {
    try {
      return `${name}@${JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version}`;
    } catch {
      return `${name}@(not installed)`;
    }
  });
}

let failed = 0;
const skipped = [];
const report = [];
for (const [name, consumer] of Object.entries(consumers)) {
  if (only.length > 0 && !only.includes(name)) continue;
  // A consumer that needs a program (redis-ts: Debian's redis-server) is skipped, and says so, without it.
  if (consumer.needs && spawnSync(consumer.needs, ['--version']).status !== 0) {
    skipped.push(name);
    console.log(`${name}: skipped (no ${consumer.needs})`);
    continue;
  }
  const dir = join(work, name);
  mkdirSync(join(dir, 'vendor'), { recursive: true });
  const pkg = MODE === 'drift' ? newest(consumer.package, consumer.drift) : consumer.package;
  write(dir, { 'package.json': pkg, ...(typeof consumer.files === 'function' ? consumer.files() : consumer.files) });
  for (const own of Object.keys(pkg.dependencies ?? {}).filter((dependency) => dependency.startsWith('@scopeguard/'))) {
    copyFileSync(tarballs[own], join(dir, vendored(own)));
  }
  const lockPath = join(LOCKS, `${name}.json`);
  let step = 'install';
  try {
    if (MODE === 'pinned') {
      if (!existsSync(lockPath)) throw new Error(`${name}: no lockfile at ${lockPath}: run node test/packaging/consumers.mjs --update-locks ${name}`);
      writeFileSync(join(dir, 'package-lock.json'), readFileSync(lockPath));
      // npm ci refuses a lockfile that no longer matches the package.json above: update the locks then.
      run(dir, npm, ['ci', '--no-audit', '--no-fund', '--prefer-offline'], `${name}: install (npm ci; after changing this consumer's dependencies, run --update-locks ${name})`);
    } else {
      run(dir, npm, ['install', '--no-audit', '--no-fund', '--prefer-offline'], `${name}: install`);
      if (MODE === 'update-locks') {
        mkdirSync(LOCKS, { recursive: true });
        const lock = withoutOwnIntegrity(JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')));
        writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
        console.log(`${name}: lockfile written to ${lockPath}`);
      }
    }
    for (const [command, args] of consumer.steps) {
      step = `${command} ${args.join(' ')}`;
      const out = run(dir, command === 'npx' ? 'npx' : command === 'node' ? process.execPath : command, args, name);
      const summary = out.split('\n').filter((line) => /^Tests:|^GET |^POST /.test(line.trim())).map((line) => line.trim());
      console.log(`✓ ${name}: ${step}${summary.length ? ` — ${summary.join('; ')}` : ''}`);
    }
    if (MODE === 'drift') report.push(`ok      ${name}: ${installedVersions(dir, pkg).join(' ')}`);
  } catch (error) {
    failed++;
    console.error(`✗ ${error.message}`);
    if (MODE === 'drift') report.push(`BROKEN  ${name}: ${step} — ${step === 'install' ? 'cannot be installed together' : blame(error.message)}; ${installedVersions(dir, pkg).join(' ')}`);
  }
}
if (!process.env.KEEP_CONSUMERS) rmSync(work, { recursive: true, force: true });
else console.log(`consumers kept in ${work}`);
const skips = skipped.length ? ` (skipped: ${skipped.join(', ')})` : '';
if (MODE === 'drift') {
  console.log(`\nDrift (the newest release of every third-party dependency, no lockfiles), ${new Date().toISOString().slice(0, 10)}:\n${report.join('\n')}`);
  console.log(failed === 0 ? `every consumer works with today's releases${skips}` : `${failed} consumer(s) break with today's releases${skips}`);
} else {
  console.log(failed === 0 ? `every consumer installed, type-checked and answered${skips}` : `${failed} consumer(s) failed${skips}`);
}
process.exit(failed === 0 ? 0 : 1);
