/**
 * @scopeguard/fastify beyond the conformance table: route config validated at startup, public routes,
 * `scopes` with `anyScope`, the metadata, `request.auth`, a shared engine, `onError: 'throw'`, the body
 * source on preValidation, and encapsulation.
 */
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import { Scopeguard, ScopeguardConfigError, ScopeguardError, scopeguard, type RouteRequirements, type ScopeguardPluginOptions } from '@scopeguard/fastify';
import type { DecisionEvent } from '@scopeguard/core';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer({ audience: 'https://orders.example.com' });
});
afterAll(() => issuer.close());

const PERMISSIONS = { 'orders-worker': ['orders.read', 'orders.admin'], 'orders-owner': ['orders.read', 'orders.owner', 'orders.delete'] };
const options = (extra: Partial<ScopeguardPluginOptions> = {}) => ({ ...issuer.options(), permissions: PERMISSIONS, logger: false as const, ...extra }) as ScopeguardPluginOptions;
const token = (clientId: string, scope: string) => issuer.mint({ clientId, scope });
const get = (app: FastifyInstance, url: string, bearer?: string, method: 'GET' | 'HEAD' | 'DELETE' = 'GET') =>
  app.inject({ method, url, headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });

async function guarded(extra: Partial<ScopeguardPluginOptions> = {}): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(scopeguard, options(extra));
  app.get('/orders', { config: { scopeguard: { scopes: ['orders.read'] } } }, async (request) => ({ client: request.auth!.clientId, may: request.auth!.permissions }));
  app.delete('/orders/:id', { config: { scopeguard: { scopes: ['orders.delete'], anyScope: ['orders.admin', 'orders.owner'] } } }, async () => ({ deleted: true }));
  app.get('/health', { config: { scopeguard: { public: true } } }, async (request) => ({ ok: true, auth: request.auth ?? null, decorated: 'auth' in request }));
  app.get('/me', async (request) => ({ client: request.auth!.clientId }));
  return app;
}

describe('@scopeguard/fastify', () => {
  it('hands handlers request.auth, with the intersection applied', async () => {
    const app = await guarded();
    const res = await get(app, '/orders', await token('orders-worker', 'orders.read orders.write'));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ client: 'orders-worker', may: ['orders.read'] });
    // No config: any valid token, and none is a 401.
    expect((await get(app, '/me', await token('orders-worker', 'orders.write'))).json()).toEqual({ client: 'orders-worker' });
    expect((await get(app, '/me')).statusCode).toBe(401);
  });

  it('leaves public routes alone: no token needed, a bad one not even read, request.auth declared but unset', async () => {
    const app = await guarded();
    for (const bearer of [undefined, 'not-a-token']) {
      const res = await get(app, '/health', bearer);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ ok: true, auth: null, decorated: true });
    }
    expect((await get(app, '/health', undefined, 'HEAD')).statusCode).toBe(200);
  });

  it('with scopes and anyScope, both must hold', async () => {
    const app = await guarded();
    // orders.delete, but neither orders.admin nor orders.owner:
    const deleteOnly = await get(app, '/orders/1', await token('orders-owner', 'orders.delete'), 'DELETE');
    expect(deleteOnly.statusCode).toBe(403);
    expect(deleteOnly.headers['www-authenticate']).toContain('scope="orders.admin orders.owner"');
    // one of them, but not orders.delete (orders-worker does not hold it):
    const adminOnly = await get(app, '/orders/1', await token('orders-worker', 'orders.delete orders.admin'), 'DELETE');
    expect(adminOnly.statusCode).toBe(403);
    expect(adminOnly.headers['www-authenticate']).toContain('scope="orders.delete"');
    expect((await get(app, '/orders/1', await token('orders-owner', 'orders.delete orders.owner'), 'DELETE')).statusCode).toBe(200);
  });

  it('refuses a wrong route config when the route is added, naming the route and the key', async () => {
    const app = await guarded();
    const handler = async () => ({});
    const wrong: [unknown, RegExp][] = [
      [{ scope: ['orders.read'] }, /"config\.scopeguard\.scope" of route GET \/bad is unknown/],
      [{ scopes: [] }, /"config\.scopeguard\.scopes" of route GET \/bad must name at least one scope/],
      [{ anyScope: ['orders read'] }, /"config\.scopeguard\.anyScope" of route GET \/bad holds "orders read", which is not an RFC 6749 scope-token/],
      [{ scopes: 'orders.read' }, /"config\.scopeguard\.scopes" of route GET \/bad must be a list of scopes/],
      [{ public: true, scopes: ['orders.read'] }, /is public: it cannot require scopes too/],
      [{ public: 'yes' }, /"config\.scopeguard\.public" of route GET \/bad must be true or false/],
      [['orders.read'], /"config\.scopeguard" of route GET \/bad must be an object/],
    ];
    for (const [config, message] of wrong) {
      expect(() => app.get('/bad', { config: { scopeguard: config as never } }, handler)).toThrow(message);
    }
    expect(() => app.get('/bad', { config: { scopeguard: { scopes: [] } } }, handler)).toThrow(ScopeguardConfigError);
    await app.close();
  });

  it('config.scopeguard is exact at compile time too: a typo does not type-check (npm test runs tsc on this file)', async () => {
    const app = await guarded();
    const handler = async () => ({});
    // @ts-expect-error `scope` is not a key (scopes is)
    expect(() => app.get('/t1', { config: { scopeguard: { scope: ['orders.read'] } } }, handler)).toThrow(/"config\.scopeguard\.scope" of route GET \/t1 is unknown/);
    // @ts-expect-error `anyscope` is not a key (anyScope is), beside a right one
    expect(() => app.get('/t2', { config: { scopeguard: { scopes: ['orders.read'], anyscope: ['orders.admin'] } } }, handler)).toThrow(/anyscope/);
    // @ts-expect-error the same through app.route()
    expect(() => app.route({ method: 'GET', url: '/t3', config: { scopeguard: { scopes: ['a'], Scopes: ['b'] } }, handler })).toThrow(/Scopes/);
    // @ts-expect-error public takes a boolean
    expect(() => app.get('/t4', { config: { scopeguard: { public: 'yes' } } }, handler)).toThrow(/public/);
    // With `satisfies`, every key is checked, foreseen or not.
    // @ts-expect-error `anyScopez` is no key of RouteRequirements
    expect(() => app.get('/t5', { config: { scopeguard: { scopes: ['a'], anyScopez: ['b'] } satisfies RouteRequirements } }, handler)).toThrow(/anyScopez/);
    // The right shapes type-check.
    app.get('/ok1', { config: { scopeguard: { scopes: ['orders.read'] } } }, handler);
    app.get('/ok2', { config: { scopeguard: { anyScope: ['orders.read'], scopes: ['orders.write'] } } }, handler);
    app.get('/ok3', { config: { scopeguard: { public: true } } }, handler);
    await app.close();
  });

  it('refuses wrong plugin options at registration', async () => {
    await expect(Fastify().register(scopeguard, options({ onError: 'next' as never }))).rejects.toThrow(/"onError" must be "respond" or "throw"/);
    await expect(Fastify().register(scopeguard, options({ logger: {} as never }))).rejects.toThrow(/logger/);
    await expect(Fastify().register(scopeguard, { issuer: issuer.issuer } as never)).rejects.toThrow(ScopeguardConfigError);
  });

  it("lists the routes' scopes in the RFC 9728 document before any route ran, public and before authentication", async () => {
    const app = await guarded({ resourceMetadata: { resource: 'https://orders.example.com/orders' } });
    const path = '/.well-known/oauth-protected-resource/orders';
    const res = await get(app, path);
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    expect(res.json().scopes_supported).toEqual(expect.arrayContaining(['orders.read', 'orders.delete', 'orders.admin', 'orders.owner']));
    expect((await get(app, `${path}?x=1`, 'not-a-token')).statusCode).toBe(200);
    const refused = await get(app, '/orders');
    expect(refused.headers['www-authenticate']).toContain(`resource_metadata="https://orders.example.com${path}"`);
  });

  it('answers refusals through the reply: onSend hooks run, the challenge keeps its spelling', async () => {
    const app = await guarded();
    app.addHook('onSend', async (_request, reply) => void reply.header('x-seen-by-onsend', '1'));
    const res = await get(app, '/orders');
    expect(res.statusCode).toBe(401);
    expect(res.headers['x-seen-by-onsend']).toBe('1');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    // As RFC 6750 spells it (Node keeps the spelling given; the types lack getRawHeaderNames).
    expect((res.raw.res as unknown as { getRawHeaderNames(): string[] }).getRawHeaderNames()).toContain('WWW-Authenticate');
    expect(res.json()).toEqual({ error_description: expect.any(String) });
  });

  it("reports each route's template and method in audit events", async () => {
    const events: DecisionEvent[] = [];
    const app = await guarded({ onDecision: (event) => void events.push(event) });
    await get(app, '/orders/7?x=1', await token('orders-worker', 'orders.read'), 'DELETE');
    await get(app, '/nowhere?x=1');
    expect(events.map(({ outcome, method, route }) => [outcome, method, route])).toEqual([
      ['authenticated', 'DELETE', '/orders/:id'],
      ['refused', 'DELETE', '/orders/:id'],
      ['refused', 'GET', '/nowhere'],
    ]);
  });

  it('shares an engine given as { engine } between apps: one token cache, no second key fetch', async () => {
    const { logger: _none, ...engineOptions } = options() as ScopeguardPluginOptions & { logger: false };
    const engine = new Scopeguard(engineOptions as never);
    const apps = [Fastify(), Fastify()];
    for (const app of apps) {
      await app.register(scopeguard, { engine });
      app.get('/orders', { config: { scopeguard: { scopes: ['orders.read'] } } }, async (request) => ({ client: request.auth!.clientId }));
    }
    const bearer = await token('orders-worker', 'orders.read');
    for (const app of apps) expect((await get(app, '/orders', bearer)).json()).toEqual({ client: 'orders-worker' });
    expect(engine.stats().cachedTokens).toBe(1);
  });

  it("onError 'throw' hands the refusal to Fastify's error handler, rendered by the engine", async () => {
    const app = Fastify();
    const seen: unknown[] = [];
    app.setErrorHandler((error, _request, reply) => {
      seen.push(error);
      if (!(error instanceof ScopeguardError)) return reply.send(error);
      const { status, headers, body } = error.toResponse();
      return reply.code(status).headers(headers).send({ ...body, handled: true });
    });
    await app.register(scopeguard, options({ onError: 'throw', realm: 'orders' }));
    app.get('/orders', { config: { scopeguard: { scopes: ['orders.admin'] } } }, async () => []);
    const res = await get(app, '/orders', await token('orders-owner', 'orders.read'));
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: 'insufficient_scope', handled: true });
    expect(res.headers['www-authenticate']).toContain('realm="orders"');
    expect(seen).toHaveLength(1);
    // Fastify's default handler answers with the status and the challenge too.
    const plain = Fastify();
    await plain.register(scopeguard, options({ onError: 'throw' }));
    plain.get('/orders', async () => []);
    const bare = await get(plain, '/orders');
    expect(bare.statusCode).toBe(401);
    expect(bare.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it("reads body tokens on preValidation, once the body is parsed, when tokenSources include 'body'", async () => {
    const build = async (tokenSources: ('header' | 'body')[]) => {
      const app = Fastify();
      await app.register(formbody);
      await app.register(scopeguard, options({ tokenSources }));
      const atOnRequest: unknown[] = [];
      app.addHook('onRequest', async (request) => void atOnRequest.push(request.auth));
      app.post('/orders', { config: { scopeguard: { scopes: ['orders.read'] } } }, async (request) => ({ client: request.auth!.clientId }));
      return { app, atOnRequest };
    };
    const bearer = await token('orders-worker', 'orders.read');
    const body = await build(['header', 'body']);
    const res = await body.app.inject({ method: 'POST', url: '/orders', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `access_token=${bearer}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ client: 'orders-worker' });
    expect(body.atOnRequest).toEqual([undefined]); // authentication ran later, on preValidation
    // Header only: on onRequest, before the app's own hooks registered after the plugin.
    const header = await build(['header']);
    expect((await header.app.inject({ method: 'POST', url: '/orders', headers: { authorization: `Bearer ${bearer}` } })).statusCode).toBe(200);
    expect(header.atOnRequest).toEqual([expect.objectContaining({ clientId: 'orders-worker' })]);
    const inBody = await header.app.inject({ method: 'POST', url: '/orders', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `access_token=${bearer}` });
    expect(inBody.statusCode).toBe(401);
  });

  it('guards only the context it is registered in and its children; siblings and the parent stay public', async () => {
    const app = Fastify();
    app.get('/public', async () => ({ ok: true }));
    await app.register(async (api) => {
      await api.register(scopeguard, options());
      api.get('/api/orders', { config: { scopeguard: { scopes: ['orders.read'] } } }, async (request) => ({ client: request.auth!.clientId }));
      await api.register(async (nested) => void nested.get('/api/nested', async (request) => ({ client: request.auth!.clientId })));
    });
    await app.register(async (sibling) => void sibling.get('/sibling', async () => ({ ok: true })));
    expect((await get(app, '/public')).statusCode).toBe(200);
    expect((await get(app, '/sibling')).statusCode).toBe(200);
    expect((await get(app, '/nowhere')).statusCode).toBe(404);
    expect((await get(app, '/api/orders')).statusCode).toBe(401);
    expect((await get(app, '/api/nested')).statusCode).toBe(401);
    const bearer = await token('orders-worker', 'orders.read');
    expect((await get(app, '/api/nested', bearer)).json()).toEqual({ client: 'orders-worker' });
  });

  it('still enforces the config of routes added before the plugin loaded (registration not awaited)', async () => {
    const app = Fastify();
    void app.register(scopeguard, options());
    // Fastify adds these now, before the plugin (and its onRoute hook) loads; its onRequest hook still runs.
    app.get('/orders', { config: { scopeguard: { scopes: ['orders.admin'] } } }, async () => []);
    app.get('/health', { config: { scopeguard: { public: true } } }, async () => ({ ok: true }));
    app.get('/bad', { config: { scopeguard: { scopes: [] } } }, async () => []);
    await app.ready();
    expect((await get(app, '/orders', await token('orders-owner', 'orders.read'))).statusCode).toBe(403);
    expect((await get(app, '/orders', await token('orders-worker', 'orders.admin'))).statusCode).toBe(200);
    expect((await get(app, '/health')).statusCode).toBe(200);
    // A wrong config found only now fails closed: a 500 from Fastify, never the route.
    const bad = await get(app, '/bad', await token('orders-worker', 'orders.admin'));
    expect(bad.statusCode).toBe(500);
    expect(bad.json().message).toMatch(/config\.scopeguard\.scopes" of route GET \/bad must name at least one scope/);
  });
});
