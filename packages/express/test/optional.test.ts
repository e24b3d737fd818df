/** Optional authentication on Express (issue 16): anonymous served, a sent token must be valid. */
import { createServer, type Server } from 'node:http';
import express from 'express';
import { optionalAuth, requireScopes, scopeguard } from '@scopeguard/express';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { close, listen, send } from '../../../test/support/http';

let issuer: TestIssuer;
let server: Server;
let base: string;
const decisions: string[] = [];
beforeAll(async () => {
  issuer = await createTestIssuer();
  const guard = scopeguard({ ...issuer.options(), permissions: 'token', logger: false, onDecision: (event) => void decisions.push(event.outcome) });
  const app = express();
  app.get('/catalog', optionalAuth(guard), (req, res) => res.json({ caller: req.auth?.clientId ?? null }));
  app.get('/reports', optionalAuth(guard), requireScopes('orders.read'), (req, res) => res.json({ caller: req.auth?.clientId ?? null }));
  app.use(guard);
  app.get('/orders', requireScopes('orders.read'), (_req, res) => res.json([]));
  server = createServer(app);
  base = await listen(server);
});
afterAll(async () => {
  await close(server);
  await issuer.close();
});

describe('optionalAuth', () => {
  it('followed by requireScopes: an anonymous caller gets the 401 challenge, never a 500', async () => {
    const anonymous = await send(`${base}/reports`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer( |$)/);
    expect(anonymous.headers['www-authenticate']).not.toContain('error=');
    expect(JSON.stringify(anonymous.body)).not.toMatch(/at .*\.js|must run after/);
    expect((await send(`${base}/reports`, { headers: { authorization: 'Basic dXNlcjpwYXNz' } })).status).toBe(401);
    const reader = await send(`${base}/reports`, { headers: { authorization: await issuer.bearer({ clientId: 'orders-reporter', scope: 'orders.read' }) } });
    expect(reader).toMatchObject({ status: 200, body: { caller: 'orders-reporter' } });
    const other = await send(`${base}/reports`, { headers: { authorization: await issuer.bearer({ scope: 'orders.write' }) } });
    expect(other.status).toBe(403);
  });

  it('a value with another scheme and a Bearer credential is refused (400), as on every adapter, never served anonymously', async () => {
    for (const authorization of ['Basic eDp5, Bearer invalid', `Basic eDp5, Bearer ${await issuer.mint()}`]) {
      const res = await send(`${base}/catalog`, { headers: { authorization } });
      expect(res.status).toBe(400);
      expect(res.headers['www-authenticate']).toContain('error="invalid_request"');
    }
  });

  it('serves an anonymous caller with no req.auth, and reports no decision for it', async () => {
    decisions.length = 0;
    const res = await send(`${base}/catalog`);
    expect(res).toMatchObject({ status: 200, body: { caller: null } });
    expect(decisions).toEqual([]);
    // Another scheme is no bearer token either.
    expect((await send(`${base}/catalog`, { headers: { authorization: 'Basic dXNlcjpwYXNz' } })).body).toEqual({ caller: null });
  });

  it('hands the caller to the route when a valid token is sent', async () => {
    const res = await send(`${base}/catalog`, { headers: { authorization: `Bearer ${await issuer.mint({ clientId: 'orders-worker' })}` } });
    expect(res).toMatchObject({ status: 200, body: { caller: 'orders-worker' } });
  });

  it('refuses an invalid or malformed token instead of ignoring it', async () => {
    const expired = await send(`${base}/catalog`, { headers: { authorization: `Bearer ${await issuer.mint({ expiresIn: -3600 })}` } });
    expect(expired.status).toBe(401);
    expect(expired.headers['www-authenticate']).toContain('error="invalid_token"');
    expect((await send(`${base}/catalog`, { headers: { authorization: 'Bearer ' } })).status).toBe(400);
    expect((await send(`${base}/catalog`, { headers: ['Authorization', `Bearer ${await issuer.mint()}`, 'Authorization', 'Bearer x'] })).status).toBe(400);
    // Sent wrong, still a credential: a tab or a comma after the scheme, or DPoP where DPoP is off.
    const expiredToken = await issuer.mint({ expiresIn: -3600 });
    for (const header of [`Bearer\t${expiredToken}`, `Bearer,${expiredToken}`, `DPoP ${expiredToken}`]) {
      expect((await send(`${base}/catalog`, { headers: { authorization: header } })).status).toBe(401);
    }
  });

  it('leaves the routes behind the middleware as they were: no token, 401', async () => {
    expect((await send(`${base}/orders`)).status).toBe(401);
  });
});
