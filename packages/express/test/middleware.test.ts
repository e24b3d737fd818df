import type { Server } from 'node:http';
import express5 from 'express';
import { requireAnyScope, requireScopes, scopeguard, ScopeguardError, type ScopeguardMiddlewareOptions } from '@scopeguard/express';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { close, listen, send } from '../../../test/support/http';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const express4 = require('express4') as typeof express5;

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});
afterAll(() => issuer.close());

describe.each([
  ['Express 5', express5],
  ['Express 4', express4],
])('%s middleware', (_name, express) => {
  let server: Server;
  let base: string;
  let token: (options?: Parameters<TestIssuer['mint']>[0]) => Promise<string>;

  function app(options: Partial<ScopeguardMiddlewareOptions> = {}) {
    const instance = express();
    instance.get('/health', (_req, res) => {
      res.json({ ok: true });
    });
    instance.use(express.urlencoded({ extended: false }));
    instance.use(
      scopeguard({
        issuer: issuer.issuer,
        audience: issuer.audience,
        jwksUri: issuer.jwksUri,
        realm: 'orders',
        permissions: { worker: ['orders.read', 'orders.write'], reporter: ['orders.read'] },
        ...options,
      }),
    );
    instance.get('/orders', requireScopes('orders.read'), (req, res) => {
      res.json({ client: req.auth?.clientId, permissions: req.auth?.permissions });
    });
    instance.post('/orders', requireScopes('orders.write'), (_req, res) => {
      res.status(201).json({ created: true });
    });
    instance.get('/any', requireAnyScope('orders.write', 'orders.admin'), (_req, res) => {
      res.json({ ok: true });
    });
    instance.get('/me', (req, res) => {
      res.json({ client: req.auth?.clientId });
    });
    return instance;
  }

  beforeAll(async () => {
    const { createServer } = await import('node:http');
    server = createServer(app());
    base = await listen(server);
    token = (options) => issuer.mint({ clientId: 'worker', scope: 'orders.read orders.write', ...options });
  });
  afterAll(() => close(server));

  it('lets a valid token through and sets req.auth', async () => {
    const res = await send(`${base}/orders`, { headers: { authorization: `Bearer ${await token()}` } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ client: 'worker', permissions: ['orders.read', 'orders.write'] });
  });

  it('leaves routes before the middleware public', async () => {
    expect((await send(`${base}/health`)).status).toBe(200);
  });

  it('401 with a bare challenge when no token is sent', async () => {
    const res = await send(`${base}/orders`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="orders"');
    expect(res.body).not.toHaveProperty('error');
  });

  it('401 with a bare challenge for another scheme', async () => {
    const res = await send(`${base}/orders`, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="orders"');
  });

  it.each(['Bearer', 'Bearer a b', 'Bearer a"b'])('400 invalid_request for %j', async (authorization) => {
    const res = await send(`${base}/orders`, { headers: { authorization } });
    expect(res.status).toBe(400);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="orders", error="invalid_request", error_description="[^"]+"$/);
    expect(res.body.error).toBe('invalid_request');
  });

  it('400 for two Authorization headers', async () => {
    const res = await send(`${base}/orders`, { headers: ['Authorization', `Bearer ${await token()}`, 'Authorization', 'Bearer x'] });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('401 invalid_token for an expired token, with the same code in header and body', async () => {
    const res = await send(`${base}/orders`, { headers: { authorization: `Bearer ${await token({ expiresIn: -60 })}` } });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="orders", error="invalid_token", error_description="the token has expired"');
    expect(res.body).toEqual({ error: 'invalid_token', error_description: 'the token has expired' });
  });

  it('403 insufficient_scope naming the required scope (intersection)', async () => {
    const reporter = await issuer.mint({ clientId: 'reporter', scope: 'orders.read orders.write' });
    const res = await send(`${base}/orders`, { method: 'POST', headers: { authorization: `Bearer ${reporter}` } });
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toContain('error="insufficient_scope"');
    expect(res.headers['www-authenticate']).toContain('scope="orders.write"');
    expect((await send(`${base}/orders`, { headers: { authorization: `Bearer ${reporter}` } })).status).toBe(200);
  });

  it('any-of requirements', async () => {
    expect((await send(`${base}/any`, { headers: { authorization: `Bearer ${await token()}` } })).status).toBe(200);
    const reader = await token({ scope: 'orders.read' });
    const res = await send(`${base}/any`, { headers: { authorization: `Bearer ${reader}` } });
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toContain('scope="orders.write orders.admin"');
  });

  it('authenticated-only routes need a valid token but no scope', async () => {
    expect((await send(`${base}/me`, { headers: { authorization: `Bearer ${await token({ scope: 'x' })}` } })).status).toBe(200);
  });

  it('ignores query tokens by default', async () => {
    const res = await send(`${base}/orders?access_token=${await token()}`);
    expect(res.status).toBe(401);
  });
});

describe('Express options', () => {
  it('reads a form body token when enabled, refuses header + body', async () => {
    const { createServer } = await import('node:http');
    const instance = express5();
    instance.use(express5.urlencoded({ extended: false }));
    instance.use(scopeguard({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, tokenSources: ['header', 'body', 'query'] }));
    instance.post('/x', (req, res) => {
      res.json({ client: req.auth?.clientId });
    });
    const server = createServer(instance);
    const base = await listen(server);
    try {
      const token = await issuer.mint({ clientId: 'form' });
      const headers = { 'content-type': 'application/x-www-form-urlencoded' };
      expect((await send(`${base}/x`, { method: 'POST', headers, body: `access_token=${token}` })).body).toEqual({ client: 'form' });
      expect((await send(`${base}/x?access_token=${token}`, { method: 'POST' })).body).toEqual({ client: 'form' });
      const both = await send(`${base}/x`, { method: 'POST', headers: { ...headers, authorization: `Bearer ${token}` }, body: `access_token=${token}` });
      expect(both.status).toBe(400);
    } finally {
      await close(server);
    }
  });

  it("onError: 'next' hands the error to the app's error handler", async () => {
    const { createServer } = await import('node:http');
    const instance = express5();
    instance.use(scopeguard({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, onError: 'next' }));
    instance.get('/x', (_req, res) => {
      res.json({});
    });
    instance.use((error: unknown, _req: express5.Request, res: express5.Response, _next: express5.NextFunction) => {
      const response = (error as ScopeguardError).toResponse({ realm: 'custom' });
      res.status(response.status).set(response.headers).json({ ...response.body, handledBy: 'app' });
    });
    const server = createServer(instance);
    const base = await listen(server);
    try {
      const res = await send(`${base}/x`);
      expect(res.status).toBe(401);
      expect(res.body.handledBy).toBe('app');
      expect(res.headers['www-authenticate']).toBe('Bearer realm="custom"');
    } finally {
      await close(server);
    }
  });

  it("onError: 'next' errors answer as the middleware would: toResponse() with the engine's realm and metadata, and status, headers and expose for Express's default handler (no stack)", async () => {
    const { createServer } = await import('node:http');
    const engineOptions = { issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, realm: 'orders', resourceMetadata: { resource: 'https://api.example.com/orders' } };
    const handled = express5();
    handled.use(scopeguard({ ...engineOptions, onError: 'next' }));
    handled.get('/x', (_req, res) => void res.json({}));
    handled.use((error: unknown, _req: express5.Request, res: express5.Response, _next: express5.NextFunction) => {
      const response = (error as ScopeguardError).toResponse();
      res.status(response.status).set(response.headers).json(response.body);
    });
    const bare = express5(); // no error handler: Express's own answers
    bare.use(scopeguard({ ...engineOptions, onError: 'next' }));
    bare.get('/x', (_req, res) => void res.json({}));
    const respond = express5();
    respond.use(scopeguard(engineOptions));
    respond.get('/x', (_req, res) => void res.json({}));
    const servers = [createServer(handled), createServer(bare), createServer(respond)];
    const [handledBase, bareBase, respondBase] = await Promise.all(servers.map((server) => listen(server)));
    try {
      const expired = { authorization: `Bearer ${await issuer.mint({ expiresIn: -3600 })}` };
      const viaHandler = await send(`${handledBase}/x`, { headers: expired });
      const direct = await send(`${respondBase}/x`, { headers: expired });
      expect({ status: viaHandler.status, challenge: viaHandler.headers['www-authenticate'], body: viaHandler.body }).toEqual({
        status: direct.status,
        challenge: direct.headers['www-authenticate'],
        body: direct.body,
      });
      expect(direct.headers['www-authenticate']).toContain('resource_metadata=');
      const viaExpress = await send(`${bareBase}/x`, { headers: expired });
      expect(viaExpress.status).toBe(401);
      expect(viaExpress.headers['www-authenticate']).toBe(direct.headers['www-authenticate']);
      expect(viaExpress.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
    } finally {
      await Promise.all(servers.map((server) => close(server)));
    }
  });

  it.each([['Express 5', express5], ['Express 4', express4]] as const)('%s: scopes_supported lists the scopes of the routes behind this middleware only, not of every app in the process', async (_name, flavour) => {
    const { createServer } = await import('node:http');
    const build = (resource: string, scope: string) => {
      const app = flavour();
      app.use(scopeguard({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, resourceMetadata: { resource } }));
      const router = flavour.Router();
      router.get('/deep', requireAnyScope(`${scope}.deep`, `${scope}.other`), (_req, res) => void res.json({}));
      app.get('/x', requireScopes(scope), (_req, res) => void res.json({}));
      app.use('/nested', router);
      return app;
    };
    const servers = [createServer(build('https://a.example.com/api', 'a.read')), createServer(build('https://b.example.com/api', 'b.write'))];
    const [a, b] = await Promise.all(servers.map((server) => listen(server)));
    try {
      const docA = (await send(`${a}/.well-known/oauth-protected-resource/api`)).body;
      const docB = (await send(`${b}/.well-known/oauth-protected-resource/api`)).body;
      expect(docA.scopes_supported).toEqual(['a.read', 'a.read.deep', 'a.read.other']);
      expect(docB.scopes_supported).toEqual(['b.write', 'b.write.deep', 'b.write.other']);
    } finally {
      await Promise.all(servers.map((server) => close(server)));
    }
  });

  it('503 when the issuer is down, never 500', async () => {
    const { createServer } = await import('node:http');
    const down = await createTestIssuer();
    down.outage();
    const instance = express5();
    instance.use(scopeguard({ issuer: down.issuer, audience: down.audience, jwksUri: down.jwksUri }));
    instance.get('/x', (_req, res) => {
      res.json({});
    });
    const server = createServer(instance);
    const base = await listen(server);
    try {
      const res = await send(`${base}/x`, { headers: { authorization: `Bearer ${await down.mint()}` } });
      expect(res.status).toBe(503);
      expect(res.body.error).toBe('temporarily_unavailable');
      expect(res.headers['retry-after']).toBeDefined();
    } finally {
      await close(server);
      await down.close();
    }
  });

  it('rejects a wrong option at once, and an empty requirement at definition', () => {
    expect(() => scopeguard({ issuer: issuer.issuer, audience: [] })).toThrow(/audience/);
    expect(() => requireScopes()).toThrow(/at least one scope/);
  });
});

describe('the intersection, announced', () => {
  const base = { issuer: 'https://as.example.com/', audience: 'https://api.example.com' };

  it('without permissions, the middleware warns once through its logger; with a choice, it does not', () => {
    const warnings: string[] = [];
    const logger = { warn: (message: string) => void warnings.push(message) };
    const middleware = scopeguard({ ...base, logger });
    scopeguard(middleware.engine); // the same engine again: no second announcement
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/no "permissions" for https:\/\/as\.example\.com\/.*permissions: 'token'/);
    scopeguard({ ...base, logger, permissions: 'token' });
    scopeguard({ ...base, logger, permissions: { worker: ['orders.read'] } });
    expect(warnings).toHaveLength(1);
  });

  it('logger: false silences it; a logger without warn() is refused at once', () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      scopeguard({ ...base, logger: false });
      expect(warn).not.toHaveBeenCalled();
      scopeguard(base);
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
    expect(() => scopeguard({ ...base, logger: {} as never })).toThrow(/logger/);
  });
});

describe('auditLog', () => {
  it('writes one line per verdict (never the token) and still runs the app’s onDecision', async () => {
    const lines: string[] = [];
    const events: string[] = [];
    const app = express5();
    app.use(
      scopeguard({
        issuer: issuer.issuer,
        audience: issuer.audience,
        jwksUri: issuer.jwksUri,
        permissions: { worker: ['orders.read'] },
        auditLog: (line, event) => void (event.outcome !== 'authenticated' && lines.push(line)),
        onDecision: (event) => void events.push(event.outcome),
      }),
    );
    app.get('/orders/:id', requireScopes('orders.read'), (_req, res) => void res.json({}));
    app.post('/orders', requireScopes('orders.write'), (_req, res) => void res.json({}));
    const { createServer } = await import('node:http');
    const server = createServer(app);
    const base = await listen(server);
    try {
      const token = await issuer.mint({ clientId: 'worker', scope: 'orders.read orders.write' });
      await send(`${base}/orders/7`, { headers: { authorization: `Bearer ${token}` } });
      await send(`${base}/orders`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      await send(`${base}/orders/7`);
      expect(lines).toEqual([
        'GET /orders/:id client=worker allowed orders.read',
        expect.stringMatching(/^POST \/orders client=worker 403 ERR_INSUFFICIENT_SCOPE needs orders.write: /),
        expect.stringMatching(/^GET \/orders\/7 401 ERR_BEARER_MISSING: /),
      ]);
      expect(lines.join('\n')).not.toContain(token.split('.')[2]);
      expect(events).toEqual(['authenticated', 'allowed', 'authenticated', 'refused', 'refused']);
    } finally {
      await close(server);
    }
  });

  it('auditLog: true writes to the console by outcome; a wrong value is refused at once', async () => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const middleware = scopeguard({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, permissions: 'token', auditLog: true });
      await middleware.engine.verify('not.a.token').catch(() => undefined);
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/401 ERR_TOKEN_MALFORMED/));
      expect(log).not.toHaveBeenCalled();
    } finally {
      log.mockRestore();
      warn.mockRestore();
    }
    expect(() => scopeguard({ issuer: issuer.issuer, audience: issuer.audience, auditLog: 'yes' as never })).toThrow(/auditLog/);
  });
});

describe('req.auth without new properties on req', () => {
  it('is the admitted principal, even where other code set req.auth before a stage', async () => {
    const app = express5();
    app.use((req, _res, next) => ((req as { auth?: unknown }).auth = { clientId: 'stub-before' }, next()));
    app.use(scopeguard({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, permissions: 'token', logger: false }));
    app.get('/me', requireScopes('orders.read'), (req, res) => void res.json({ client: req.auth?.clientId, own: Object.hasOwn(req, 'auth') }));
    app.get('/later', (req, _res, next) => ((req as { auth?: unknown }).auth = { clientId: 'stub-after' }, next()), requireScopes('orders.read'), (req, res) => void res.json({ client: req.auth?.clientId }));
    const { createServer } = await import('node:http');
    const server = createServer(app);
    const base = await listen(server);
    try {
      const headers = { authorization: `Bearer ${await issuer.mint({ clientId: 'worker', scope: 'orders.read' })}` };
      expect((await send(`${base}/me`, { headers })).body).toEqual({ client: 'worker', own: true });
      // A stub between the stages never counts for requireScopes, which hands the admitted principal on again.
      expect((await send(`${base}/later`, { headers })).body).toEqual({ client: 'worker' });
      const noScope = { authorization: `Bearer ${await issuer.mint({ clientId: 'worker', scope: 'orders.write' })}` };
      expect((await send(`${base}/later`, { headers: noScope })).status).toBe(403);
    } finally {
      await close(server);
    }
  });

  it('an app with no stub keeps req free of own properties of ours', async () => {
    const app = express5();
    app.use(scopeguard({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, permissions: 'token', logger: false }));
    app.get('/me', requireScopes('orders.read'), (req, res) => void res.json({ client: req.auth?.clientId, ours: Object.getOwnPropertyNames(req).filter((name) => name === 'auth').length + Object.getOwnPropertySymbols(req).filter((symbol) => String(symbol.description).startsWith('scopeguard')).length }));
    const { createServer } = await import('node:http');
    const server = createServer(app);
    const base = await listen(server);
    try {
      const headers = { authorization: `Bearer ${await issuer.mint({ clientId: 'worker', scope: 'orders.read' })}` };
      expect((await send(`${base}/me`, { headers })).body).toEqual({ client: 'worker', ours: 0 });
    } finally {
      await close(server);
    }
  });
});

describe('req.auth in mounted sub-apps', () => {
  it.each([
    ['Express 5', express5],
    ['Express 4', express4],
  ])('%s: a sub-app behind the middleware reads the same req.auth, with or without its own requireScopes', async (_name, flavour) => {
    const app = flavour();
    app.use(scopeguard({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, permissions: 'token', logger: false }));
    const sub = flavour();
    sub.get('/plain', (req, res) => void res.json({ client: (req as { auth?: { clientId?: string } }).auth?.clientId ?? null }));
    sub.get('/scoped', requireScopes('orders.read'), (req, res) => void res.json({ client: (req as { auth?: { clientId?: string } }).auth?.clientId ?? null }));
    app.use('/sub', sub);
    app.get('/after', (req, res) => void res.json({ client: (req as { auth?: { clientId?: string } }).auth?.clientId ?? null }));
    const { createServer } = await import('node:http');
    const server = createServer(app);
    const base = await listen(server);
    try {
      const headers = { authorization: `Bearer ${await issuer.mint({ clientId: 'worker', scope: 'orders.read' })}` };
      for (const path of ['/sub/plain', '/sub/scoped', '/after']) expect([path, (await send(`${base}${path}`, { headers })).body]).toEqual([path, { client: 'worker' }]);
    } finally {
      await close(server);
    }
  });
});
