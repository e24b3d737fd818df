/**
 * @scopeguard/koa beyond the conformance table: typed `ctx.state.auth`, public routes before the
 * middleware, route checks without it, `onError: 'throw'` with Koa's default handler and an app's,
 * the RFC 9728 document's scopes read off the app's routers, shared engines, nested routers.
 */
import { createServer, type Server } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import { Scopeguard, ScopeguardConfigError, ScopeguardError, requireAnyScope, requireScopes, scopeguard, type ScopeguardMiddlewareOptions, type ScopeguardState } from '@scopeguard/koa';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { close, listen, send } from '../../../test/support/http';

let issuer: TestIssuer;
const servers: Server[] = [];
beforeAll(async () => {
  issuer = await createTestIssuer();
});
afterEach(() => Promise.all(servers.splice(0).map((server) => close(server))));
afterAll(() => issuer.close());

const engineOptions = () => ({
  issuer: issuer.issuer,
  audience: issuer.audience,
  jwksUri: issuer.jwksUri,
  realm: 'orders',
  logger: false as const,
  permissions: { worker: ['orders.read', 'orders.write'], reporter: ['orders.read'] },
});
const bearer = (clientId = 'worker', scope = 'orders.read orders.write') => issuer.mint({ clientId, scope }).then((token) => ({ authorization: `Bearer ${token}` }));

/** Serves `app` on 127.0.0.1:0, closed after the test; errors Koa emits are collected, not printed. */
async function serve(app: Koa<any>): Promise<{ base: string; errors: unknown[] }> {
  const errors: unknown[] = [];
  app.on('error', (error: unknown) => void errors.push(error));
  const server = createServer(app.callback());
  servers.push(server);
  return { base: await listen(server), errors };
}

/** The app of the README: a public route, the guard, routes with requirements on a router. */
function ordersApp(options: Partial<ScopeguardMiddlewareOptions> = {}, first?: Koa.Middleware) {
  const app = new Koa();
  if (first) app.use(first);
  const open = new Router();
  open.get('/health', (ctx) => void (ctx.body = { ok: true }));
  app.use(open.routes());
  app.use(scopeguard({ ...engineOptions(), ...options }));
  const router = new Router();
  // Untyped Koa and Router: ctx.state takes ScopeguardState from requireScopes' type.
  router.get('/orders', requireScopes('orders.read'), (ctx) => void (ctx.body = { caller: ctx.state.auth.clientId, may: ctx.state.auth.permissions }));
  router.post('/orders', requireScopes('orders.write'), (ctx) => void ((ctx.status = 201), (ctx.body = { created: true })));
  router.get('/me', (ctx) => void (ctx.body = { caller: (ctx.state as ScopeguardState).auth.clientId }));
  app.use(router.routes());
  return app;
}

describe('the middleware and route checks', () => {
  it('sets ctx.state.auth to the principal for handlers, and routes before the middleware stay public', async () => {
    const { base } = await serve(ordersApp());
    expect((await send(`${base}/health`)).body).toEqual({ ok: true });
    const reporter = await bearer('reporter', 'orders.read orders.write');
    expect((await send(`${base}/orders`, { headers: reporter })).body).toEqual({ caller: 'reporter', may: ['orders.read'] });
    expect((await send(`${base}/me`, { headers: reporter })).body).toEqual({ caller: 'reporter' });
  });

  it('answers refusals on ctx: status, WWW-Authenticate, the JSON body with its content type', async () => {
    const { base } = await serve(ordersApp());
    const missing = await send(`${base}/orders`);
    expect([missing.status, missing.headers['www-authenticate'], missing.headers['content-type']]).toEqual([401, 'Bearer realm="orders"', 'application/json; charset=utf-8']);
    const forbidden = await send(`${base}/orders`, { method: 'POST', headers: await bearer('reporter') });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers['www-authenticate']).toContain('error="insufficient_scope"');
    expect(forbidden.body).toEqual({ error: 'insufficient_scope', error_description: expect.any(String) });
  });

  it('a route check without the middleware before it fails closed and loudly: 500, the handler never runs', async () => {
    const app = new Koa();
    let ran = false;
    const router = new Router();
    router.get('/orders', requireScopes('orders.read'), () => void (ran = true));
    app.use(router.routes());
    app.use(scopeguard(engineOptions())); // after the routes: too late
    const { base, errors } = await serve(app);
    expect((await send(`${base}/orders`, { headers: await bearer() })).status).toBe(500);
    expect(ran).toBe(false);
    expect(String(errors[0])).toContain('must run after the scopeguard() middleware');
  });

  it('route checks use the principal the engine admitted, whatever ctx.state holds by then, and hand it back to the handler', async () => {
    const app = new Koa<ScopeguardState>();
    app.use(scopeguard(engineOptions()));
    app.use((ctx, next) => {
      ctx.state = { auth: { ...ctx.state.auth, clientId: 'forged', permissions: ['orders.read', 'orders.write'] } };
      return next();
    });
    const router = new Router<ScopeguardState>();
    router.get('/orders', requireScopes('orders.read'), (ctx) => void (ctx.body = { caller: ctx.state.auth.clientId }));
    router.post('/orders', requireScopes('orders.write'), (ctx) => void (ctx.body = {}));
    app.use(router.routes());
    const { base } = await serve(app);
    const reporter = await bearer('reporter');
    expect((await send(`${base}/orders`, { method: 'POST', headers: reporter })).status).toBe(403);
    expect((await send(`${base}/orders`, { headers: reporter })).body).toEqual({ caller: 'reporter' });
  });

  it('two middlewares sharing one engine verify a token once; a check after either works', async () => {
    const { logger: _, ...options } = engineOptions();
    const engine = new Scopeguard(options);
    const build = () => {
      const app = new Koa();
      app.use(scopeguard(engine));
      const router = new Router();
      router.get('/orders', requireAnyScope('orders.admin', 'orders.read'), (ctx) => void (ctx.body = { caller: ctx.state.auth.clientId }));
      app.use(router.routes());
      return app;
    };
    const [a, b] = await Promise.all([serve(build()), serve(build())]);
    const headers = await bearer();
    expect((await send(`${a.base}/orders`, { headers })).body).toEqual({ caller: 'worker' });
    expect((await send(`${b.base}/orders`, { headers })).body).toEqual({ caller: 'worker' });
    expect(engine.stats().cachedTokens).toBe(1);
    expect(scopeguard(engine).engine).toBe(engine);
  });

  it('nested routers: checks on a router mounted in another work, with prefixes', async () => {
    const app = new Koa();
    app.use(scopeguard(engineOptions()));
    const inner = new Router();
    inner.get('/orders/:id', requireScopes('orders.write'), (ctx) => void (ctx.body = { id: ctx.params.id, caller: ctx.state.auth.clientId }));
    const outer = new Router({ prefix: '/v1' });
    outer.use('/shop', inner.routes());
    app.use(outer.routes());
    const { base } = await serve(app);
    expect((await send(`${base}/v1/shop/orders/7`, { headers: await bearer() })).body).toEqual({ id: '7', caller: 'worker' });
    expect((await send(`${base}/v1/shop/orders/7`, { headers: await bearer('reporter') })).status).toBe(403);
  });

  it('validates at definition: requirements, and the onError option', () => {
    expect(() => requireScopes()).toThrow(ScopeguardConfigError);
    expect(() => requireAnyScope('orders read')).toThrow(ScopeguardConfigError);
    expect(() => scopeguard({ ...engineOptions(), onError: 'next' as never })).toThrow('option "onError" must be "respond" or "throw"');
  });
});

describe("onError: 'throw'", () => {
  const expired = () => issuer.mint({ expiresIn: -3600 }).then((token) => ({ authorization: `Bearer ${token}` }));
  const metadata = { resourceMetadata: { resource: 'https://api.example.com/orders' } };

  it("Koa's default handler answers with the status and challenge the middleware would, and no stack", async () => {
    const [direct, thrown] = await Promise.all([serve(ordersApp(metadata)), serve(ordersApp({ ...metadata, onError: 'throw' }))]);
    for (const [path, method, headers] of [['/orders', 'GET', await expired()], ['/orders', 'POST', await bearer('reporter')], ['/orders', 'GET', {}]] as const) {
      const want = await send(`${direct.base}${path}`, { method, headers });
      const got = await send(`${thrown.base}${path}`, { method, headers });
      expect([got.status, got.headers['www-authenticate']]).toEqual([want.status, want.headers['www-authenticate']]);
      expect(got.text).toBe(want.body.error_description ?? 'Unauthorized'); // expose: the sanitised description
      expect(got.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
    }
    expect(thrown.errors).toHaveLength(3);
    expect(thrown.errors.every((error) => error instanceof ScopeguardError)).toBe(true);
  });

  it("an app's error handler gets the ScopeguardError and err.toResponse() answers as 'respond' would", async () => {
    const handler: Koa.Middleware = async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        if (!(error instanceof ScopeguardError)) throw error;
        const { status, headers, body } = error.toResponse();
        ctx.status = status;
        ctx.set(headers);
        ctx.body = { ...body, handledBy: 'app' };
      }
    };
    const [{ base }, direct] = await Promise.all([serve(ordersApp({ ...metadata, onError: 'throw' }, handler)), serve(ordersApp(metadata))]);
    const headers = await bearer('reporter');
    const got = await send(`${base}/orders`, { method: 'POST', headers });
    const want = await send(`${direct.base}/orders`, { method: 'POST', headers });
    expect(got.body).toEqual({ ...want.body, handledBy: 'app' });
    expect([got.status, got.headers['www-authenticate']]).toEqual([403, want.headers['www-authenticate']]);
    expect(want.headers['www-authenticate']).toContain('resource_metadata=');
  });
});

describe('RFC 9728 metadata', () => {
  const resource = (host: string) => ({ resourceMetadata: { resource: `https://${host}/api` } });

  it("scopes_supported lists the scopes of the checks behind this middleware, in nested routers too, and only this app's", async () => {
    const build = (host: string, scope: string) => {
      const app = new Koa();
      const before = new Router();
      before.get('/early', requireScopes(`${scope}.before`), (ctx) => void (ctx.body = {}));
      app.use(before.routes());
      app.use(scopeguard({ ...engineOptions(), ...resource(host) }));
      const inner = new Router();
      inner.get('/deep', requireAnyScope(`${scope}.deep`, `${scope}.other`), (ctx) => void (ctx.body = {}));
      const router = new Router();
      router.use('/nested', inner.routes());
      router.get('/x', requireScopes(scope), (ctx) => void (ctx.body = {}));
      router.use(requireScopes(`${scope}.all`));
      app.use(router.routes());
      return app;
    };
    const [a, b] = await Promise.all([serve(build('a.example.com', 'a.read')), serve(build('b.example.com', 'b.write'))]);
    const docA = await send(`${a.base}/.well-known/oauth-protected-resource/api`);
    expect(docA.status).toBe(200);
    expect(docA.headers['content-type']).toBe('application/json; charset=utf-8');
    expect([...docA.body.scopes_supported].sort()).toEqual(['a.read', 'a.read.all', 'a.read.deep', 'a.read.other']);
    expect([...(await send(`${b.base}/.well-known/oauth-protected-resource/api?x=1`)).body.scopes_supported].sort()).toEqual(['b.write', 'b.write.all', 'b.write.deep', 'b.write.other']);
    const head = await send(`${a.base}/.well-known/oauth-protected-resource/api`, { method: 'HEAD' });
    expect([head.status, head.text, head.headers['content-length']]).toEqual([200, '', docA.headers['content-length']]);
  });

  it('routes added after start-up are listed; without resourceMetadata the path is guarded like any other', async () => {
    const app = new Koa();
    app.use(scopeguard({ ...engineOptions(), ...resource('c.example.com') }));
    const router = new Router();
    app.use(router.routes());
    const { base } = await serve(app);
    router.get('/late', requireScopes('c.late'), (ctx) => void (ctx.body = {}));
    expect((await send(`${base}/.well-known/oauth-protected-resource/api`)).body.scopes_supported).toEqual(['c.late']);
    expect((await send(`${(await serve(ordersApp())).base}/.well-known/oauth-protected-resource/api`)).status).toBe(401);
  });
});
