/** Issue 16 on Express: warm start, a readiness handler, and key-set changes in the logs. */
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import express from 'express';
import { requireScopes, scopeguard, scopeguardHealth } from '@scopeguard/express';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { close, listen, send } from '../../../test/support/http';

let issuer: TestIssuer;
let server: Server | undefined;
beforeEach(async () => {
  issuer = await createTestIssuer();
});
afterEach(async () => {
  if (server) await close(server);
  server = undefined;
  await issuer.close();
});

async function start(clock: () => number, warnings: string[]) {
  const guard = scopeguard({
    issuer: issuer.issuer,
    audience: issuer.audience,
    jwksUri: issuer.jwksUri,
    permissions: 'token',
    clock,
    jwks: { maxAgeMs: 60_000, maxStaleMs: 600_000, cooldownMs: 0 },
    logger: { warn: (line) => warnings.push(line) },
  });
  const app = express();
  app.get('/health/ready', scopeguardHealth(guard));
  app.use(guard);
  app.get('/orders', requireScopes('orders.read'), (_req, res) => res.json([]));
  server = createServer(app);
  return { guard, base: await listen(server) };
}

describe('readiness on Express', () => {
  it('warms up before traffic, answers readiness 200/503 with per-issuer states, and logs stale, past-bound and recovered key sets', async () => {
    let now = Date.now();
    const warnings: string[] = [];
    const { guard, base } = await start(() => now, warnings);
    const down = await send(`${base}/health/ready`);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'down', issuers: [{ issuer: issuer.issuer, state: 'loading' }] });

    await guard.engine.ready();
    const up = await send(`${base}/health/ready`);
    expect(up.status).toBe(200);
    expect(up.headers['cache-control']).toBe('no-store');
    expect(up.body).toMatchObject({ status: 'up', issuers: [{ issuer: issuer.issuer, state: 'fresh', keys: 1 }] });

    const token = await issuer.mint({ scope: 'orders.read', expiresIn: 86_400 });
    expect((await send(`${base}/orders`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    issuer.outage({ status: 503 });
    now += 61_000;
    expect((await send(`${base}/orders`, { headers: { authorization: `Bearer ${await issuer.mint({ scope: 'orders.read', expiresIn: 86_400 })}` } })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(warnings.filter((line) => /are stale .*serving the last good set/.test(line))).toHaveLength(1);
    expect((await send(`${base}/health/ready`)).body).toMatchObject({ status: 'up', issuers: [{ state: 'stale', lastError: expect.stringContaining('HTTP 503') }] });

    now += 600_000;
    const refused = await send(`${base}/orders`, { headers: { authorization: `Bearer ${token}` } });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBeDefined();
    expect(warnings.some((line) => /past jwks\.maxStaleMs/.test(line))).toBe(true);
    expect((await send(`${base}/health/ready`)).status).toBe(503);

    issuer.recover();
    expect((await send(`${base}/orders`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect(warnings.some((line) => /fetched again from/.test(line))).toBe(true);
    expect(warnings.join('\n')).not.toContain(token);
  });
});
