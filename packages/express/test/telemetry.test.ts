/** Issue 16: OpenTelemetry through the Express adapter (the `telemetry` engine option names the adapter). */
import { createServer, type Server } from 'node:http';
import express from 'express';
import { requireScopes, scopeguard } from '@scopeguard/express';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { close, listen } from '../../../test/support/http';
import { decisionTraffic, installTelemetry, type TestTelemetry } from '../../../test/support/telemetry';

let issuer: TestIssuer;
let otel: TestTelemetry;
let server: Server;
let base: string;
beforeAll(async () => {
  issuer = await createTestIssuer();
  otel = installTelemetry(); // before the engine: it takes the meter registered at its construction
  const app = express();
  app.use(
    scopeguard({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwksUri: issuer.jwksUri,
      permissions: { worker: ['orders.read'] },
      logger: false,
      telemetry: { adapter: 'express' },
    }),
  );
  app.get('/orders', requireScopes('orders.read'), (_req, res) => {
    res.json({ ok: true });
  });
  app.post('/orders', requireScopes('orders.write'), (_req, res) => {
    res.json({ ok: true });
  });
  server = createServer(app);
  base = await listen(server);
});
afterAll(async () => {
  await close(server);
  await otel.reset();
  await issuer.close();
});

it('Express: decisions counted with the adapter attribute, one verification span for a reused token', async () => {
  await decisionTraffic(base, issuer);

  expect(await otel.count('scopeguard.decisions', { outcome: 'authenticated', adapter: 'express' })).toBe(6);
  expect(await otel.count('scopeguard.decisions', { outcome: 'allowed', adapter: 'express' })).toBe(5);
  expect(await otel.count('scopeguard.decisions', { outcome: 'refused', code: 'ERR_INSUFFICIENT_SCOPE', adapter: 'express' })).toBe(1);
  expect(await otel.count('scopeguard.decisions', { outcome: 'refused', code: 'ERR_BEARER_MISSING', adapter: 'express' })).toBe(1);
  expect(await otel.count('scopeguard.cache.lookups', { hit: true })).toBe(4);
  expect(otel.spans('scopeguard.verify')).toHaveLength(2); // then cached: no span per request
});
