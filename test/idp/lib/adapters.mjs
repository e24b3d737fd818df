/**
 * The three guarded APIs, built from the workspace's packages as their READMEs show them:
 * `GET /orders` needs orders.read, `POST /orders` needs orders.write, client-credentials tokens only,
 * and the same permissions map on each. Each adapter gets its own engine (own key set, own caches),
 * so one rotation is timed three times independently.
 *
 * Every decision the engine reports (`onDecision`) is kept per adapter: a refusal's `code`
 * (ERR_TOKEN_EXPIRED, ERR_TOKEN_NOT_CLIENT, …) is what the checks compare, since the HTTP answer
 * alone cannot tell an expired token from a tampered one.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const PERMISSIONS = Object.freeze({ 'orders-worker': ['orders.read', 'orders.write'], 'orders-reporter': ['orders.read'] });

/**
 * @typedef {{ outcome: string, code?: string, status?: number, clientId?: string, detail?: string }} Decision
 * @typedef {{ status: number, challenge: string | null, body: string, decisions: Decision[], code: string | undefined, ms: number }} Reply
 * @typedef {{ name: string, url: string, decisions: Decision[], call: (method: 'GET' | 'POST', token: string | undefined) => Promise<Reply>, close: () => Promise<void> }} Adapter
 */

/** The guard's options for one server: its issuer options, plus what every adapter here shares. */
function guardOptions(serverOptions, decisions) {
  return {
    ...serverOptions,
    requireClientCredentials: true,
    permissions: PERMISSIONS,
    onDecision: (event) => decisions.push(event),
  };
}

async function express(options) {
  const expressApp = require('express');
  const { scopeguard, requireScopes } = require('@scopeguard/express');
  const app = expressApp();
  app.use(scopeguard({ ...options, logger: false }));
  app.get('/orders', requireScopes('orders.read'), (req, res) => res.json({ caller: req.auth.clientId }));
  app.post('/orders', requireScopes('orders.write'), (req, res) => res.json({ created: true, by: req.auth.clientId }));
  const server = await new Promise((resolve, reject) => {
    const listening = app.listen(0, '127.0.0.1', (error) => (error ? reject(error) : resolve(listening)));
  });
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Nest 11 on platform-express. Decorators are applied with Reflect.decorate: plain JS has no syntax for them. */
async function nestjs(options) {
  require('reflect-metadata');
  const { Controller, Get, HttpCode, Module, Post } = require('@nestjs/common');
  const { NestFactory } = require('@nestjs/core');
  const { ScopeguardModule, RequireScopes, Principal } = require('@scopeguard/nestjs');

  class OrdersController {
    list(caller) { return { caller: caller.clientId }; }
    create(caller) { return { created: true, by: caller.clientId }; }
  }
  decorateMethod(OrdersController, 'list', [Get(), RequireScopes('orders.read')], [Principal()]);
  decorateMethod(OrdersController, 'create', [Post(), HttpCode(200), RequireScopes('orders.write')], [Principal()]);
  Reflect.decorate([Controller('orders')], OrdersController);

  class AppModule {}
  Reflect.decorate([Module({ imports: [ScopeguardModule.forRoot({ ...options, global: true })], controllers: [OrdersController] })], AppModule);

  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  return { url: `http://127.0.0.1:${app.getHttpServer().address().port}`, close: () => app.close() };
}

/** A method's decorators and its parameters' (by position), as TypeScript's emit would apply them. */
function decorateMethod(target, key, decorators, parameterDecorators = []) {
  const withParameters = parameterDecorators.map((decorator, index) => (proto, name) => decorator(proto, name, index));
  const descriptor = Reflect.decorate([...decorators, ...withParameters], target.prototype, key, Object.getOwnPropertyDescriptor(target.prototype, key));
  Object.defineProperty(target.prototype, key, descriptor);
}

async function fastify(options) {
  const Fastify = require('fastify');
  const { scopeguard } = require('@scopeguard/fastify');
  const app = Fastify();
  await app.register(scopeguard, { ...options, logger: false });
  app.get('/orders', { config: { scopeguard: { scopes: ['orders.read'] } } }, async (request) => ({ caller: request.auth.clientId }));
  app.post('/orders', { config: { scopeguard: { scopes: ['orders.write'] } } }, async (request, reply) => reply.send({ created: true, by: request.auth.clientId }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = /** @type {import('node:net').AddressInfo} */ (app.server.address());
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

const BUILDERS = { express, nestjs, fastify };
export const ADAPTER_NAMES = Object.keys(BUILDERS);

/**
 * Starts the three APIs for one server's options.
 * @param {Record<string, unknown>} serverOptions issuer, audience, jwksUri / introspection, …
 * @returns {Promise<Adapter[]>}
 */
export async function startAdapters(serverOptions) {
  const adapters = [];
  try {
    for (const [name, build] of Object.entries(BUILDERS)) {
      /** @type {Decision[]} */
      const decisions = [];
      const { url, close } = await build(guardOptions(serverOptions, decisions));
      adapters.push({ name, url, decisions, close, call: (method, token) => call(url, decisions, method, token) });
    }
  } catch (error) {
    await closeAdapters(adapters);
    throw error;
  }
  return adapters;
}

export async function closeAdapters(adapters) {
  await Promise.all(adapters.map((adapter) => adapter.close().catch(() => undefined)));
}

/**
 * One request to a guarded route, with the decisions the engine reported while it ran (calls to one
 * adapter are made one at a time, so they are this request's).
 * @returns {Promise<Reply>}
 */
async function call(url, decisions, method, token) {
  const from = decisions.length;
  const started = performance.now();
  const response = await fetch(`${url}/orders`, {
    method,
    headers: { ...(token && { authorization: `Bearer ${token}` }), ...(method === 'POST' && { 'content-type': 'application/json' }) },
    body: method === 'POST' ? JSON.stringify({ item: 'widget', quantity: 1 }) : undefined,
    signal: AbortSignal.timeout(20_000),
  });
  const body = await response.text();
  const ms = performance.now() - started;
  const mine = decisions.slice(from);
  const refusal = mine.findLast((event) => event.code !== undefined);
  return { status: response.status, challenge: response.headers.get('www-authenticate'), body, decisions: mine, code: refusal?.code, ms };
}
