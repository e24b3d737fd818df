// The app every runtime serves: Hono, guarded by @scopeguard/hono. Plain JavaScript, so that Deno, Bun
// and workerd (after esbuild) run the very same file. Configuration comes from the runtime's env.
import { Hono } from 'hono';
import { cryptoPlatform } from '@scopeguard/core';
import { requireScopes, scopeguard } from '@scopeguard/hono';

/** @param {{ ISSUER: string, AUDIENCE: string, JWKS_URI: string, DOWN_JWKS_URI: string }} env */
export function createApp(env) {
  const settings = { issuer: env.ISSUER, audience: env.AUDIENCE, algorithms: ['RS256', 'ES256'], permissions: { 'orders-worker': ['orders.read', 'orders.write'] }, logger: false };
  const app = new Hono();
  // Which crypto this runtime got from the package's conditional exports (WebCrypto or node:crypto).
  app.get('/platform', (c) => c.json({ crypto: cryptoPlatform() }));
  // An issuer whose key set cannot be fetched: its routes answer 503 with Retry-After.
  app.use('/down/*', scopeguard({ ...settings, jwksUri: env.DOWN_JWKS_URI, jwks: { timeoutMs: 500 } }));
  app.get('/down/orders', (c) => c.json({ ok: true }));
  const guard = scopeguard({ ...settings, jwksUri: env.JWKS_URI });
  app.use('/orders/*', guard);
  app.get('/orders/list', guard.requireScopes('orders.read'), (c) => c.json({ caller: c.get('auth').clientId, may: c.get('auth').permissions }));
  app.post('/orders/new', requireScopes('orders.write'), (c) => c.json({ created: true }, 201));
  return app;
}
