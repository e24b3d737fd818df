/** @scopeguard/hono beyond the conformance table: typed context, bound checks, metadata, wiring errors. */
import { Hono } from 'hono';
import { Scopeguard, requireScopes, scopeguard, type ScopeguardEnv } from '@scopeguard/hono';
import { InsufficientScopeError, tokenRequestFromFetch } from '@scopeguard/core/adapter';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer({ audience: 'https://orders.example.com' });
});
afterAll(() => issuer.close());

const options = () => ({ ...issuer.options(), permissions: { 'orders-worker': ['orders.read'] }, logger: false as const });
const get = (app: Hono<ScopeguardEnv>, path: string, token?: string, method = 'GET') =>
  app.request(path, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });

describe('@scopeguard/hono', () => {
  it("hands the principal to handlers as c.get('auth'), with the intersection applied", async () => {
    const app = new Hono<ScopeguardEnv>();
    app.use('/orders/*', scopeguard(options()));
    app.get('/orders/mine', requireScopes('orders.read'), (c) => c.json({ client: c.get('auth').clientId, may: c.get('auth').permissions }));
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read orders.write' });
    const res = await get(app, '/orders/mine', token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ client: 'orders-worker', may: ['orders.read'] });
  });

  it('fails closed and loudly when a route check runs without the middleware before it', async () => {
    const app = new Hono<ScopeguardEnv>();
    const errors: string[] = [];
    app.onError((error, c) => (errors.push(error.message), c.text('error', 500)));
    app.get('/orders', requireScopes('orders.read'), (c) => c.text('should not run'));
    const res = await get(app, '/orders', await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read' }));
    expect(res.status).toBe(500);
    expect(errors).toEqual(['scopeguard: requireScopes()/requireAnyScope() must run after the scopeguard() middleware']);
  });

  it('lists the scopes of bound checks in the RFC 9728 document before any route ran, public and before authentication', async () => {
    const app = new Hono<ScopeguardEnv>();
    const guard = scopeguard({ ...options(), resourceMetadata: { resource: 'https://orders.example.com/orders' } });
    app.use(guard);
    app.get('/orders', guard.requireScopes('orders.read'), (c) => c.json([]));
    app.delete('/orders/:id', guard.requireAnyScope('orders.admin', 'orders.owner'), (c) => c.body(null, 204));
    const res = await get(app, '/.well-known/oauth-protected-resource/orders');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    expect((await res.json()) as object).toMatchObject({ resource: 'https://orders.example.com/orders', scopes_supported: expect.arrayContaining(['orders.read', 'orders.admin', 'orders.owner']) });
    const head = await get(app, '/.well-known/oauth-protected-resource/orders', undefined, 'HEAD');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const refused = await get(app, '/orders');
    expect(refused.headers.get('www-authenticate')).toContain('resource_metadata="https://orders.example.com/.well-known/oauth-protected-resource/orders"');
  });

  it('shares an engine given instead of options, and writes one audit line per decision through auditLog', async () => {
    const { logger: _none, ...engineOptions } = options();
    const engine = new Scopeguard(engineOptions);
    const app = new Hono<ScopeguardEnv>();
    app.use(scopeguard(engine));
    app.get('/orders', requireScopes('orders.read'), (c) => c.json([]));
    expect((await get(app, '/orders', await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read' }))).status).toBe(200);
    expect(engine.stats().jwksFetches).toBe(0); // pinned keys: no fetch at all

    const lines: string[] = [];
    const audited = new Hono<ScopeguardEnv>();
    audited.use(scopeguard({ ...options(), auditLog: (line) => lines.push(line) }));
    audited.get('/orders', requireScopes('orders.write'), (c) => c.json([]));
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read' });
    expect((await get(audited, '/orders', token)).status).toBe(403);
    expect(lines.some((line) => line.includes('GET /orders') && line.includes('403'))).toBe(true);
    expect(lines.join('\n')).not.toContain(token);
  });

  it('refuses wrong adapter options at once', () => {
    expect(() => scopeguard({ ...options(), logger: {} as never })).toThrow(/logger/);
    expect(() => requireScopes()).toThrow();
    expect(() => requireScopes('not a scope')).toThrow();
  });

  it("answers a refusal the app recorded with engine.refuse(), not a wiring error", async () => {
    const app = new Hono<ScopeguardEnv>();
    const guard = scopeguard(options());
    app.use(guard);
    // The app knows no such user (as a Passport validate() may decide): it refuses after admission.
    app.use(async (c, next) => {
      guard.engine.refuse(InsufficientScopeError.unknownClient(), tokenRequestFromFetch(c.req.raw, { carrier: c }));
      await next();
    });
    app.get('/orders', requireScopes('orders.read'), (c) => c.json([]));
    const res = await get(app, '/orders', await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read' }));
    expect(res.status).toBe(403);
  });
});


describe('what the guard reads and resolves to (second review of issue 27)', () => {
  it('checks the Request it routes: a credential the app removed is gone, one a bridge set is read', async () => {
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read' });
    // On @hono/node-server c.env.incoming is the Node message; it must not stand in for the Request.
    const nodeEnv = { incoming: { rawHeaders: ['Host', 'h', 'Authorization', `Bearer ${token}`] } };
    const stripped = new Hono<ScopeguardEnv>();
    stripped.use('*', async (c, next) => {
      c.req.raw.headers.delete('authorization');
      await next();
    });
    stripped.use('*', scopeguard(options()));
    stripped.get('/x', (c) => c.json({ client: c.get('auth').clientId }));
    expect((await stripped.fetch(new Request('http://h/x', { headers: { authorization: `Bearer ${token}` } }), nodeEnv)).status).toBe(401);

    const inner = new Hono<ScopeguardEnv>();
    inner.use('*', scopeguard(options()));
    inner.get('/x', (c) => c.json({ client: c.get('auth').clientId }));
    const bridge = new Hono();
    bridge.get('/x', (c) => inner.fetch(new Request(c.req.url, { headers: { authorization: `Bearer ${token}` } }), c.env));
    const bridged = await bridge.fetch(new Request('http://h/x'), { incoming: { rawHeaders: ['Host', 'h'] } });
    expect(bridged.status).toBe(200);
  });

  it("resolves to nothing, as an async middleware's await next() did: a downstream that forgets to return still gets Hono's 500", async () => {
    const app = new Hono<ScopeguardEnv>();
    app.use('*', scopeguard(options()));
    app.use('*', async () => {
      // forgets to call or return next()
    });
    app.get('/x', (c) => c.text('never'));
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read' });
    const res: unknown = await app.fetch(new Request('http://h/x', { headers: { authorization: `Bearer ${token}` } }));
    expect(res).toBeInstanceOf(Response);
    expect((res as Response).status).toBe(500);
  });
});
