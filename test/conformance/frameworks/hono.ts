/** Hono on Node (`@hono/node-server`'s request listener on a plain or TLS server), the conformance routes. */
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer, type ServerOptions as TlsOptions } from 'node:https';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import type { ScopeguardOptions } from '@scopeguard/core';
import { requireScopes, scopeguard, type ScopeguardEnv } from '@scopeguard/hono';
import { close, listen } from '../../support/http';
import { FORGED_AUTH, type AppExtras, type RunningAdapter } from '../adapters';

export async function startHono(options: ScopeguardOptions, tls: TlsOptions | undefined, extras: AppExtras): Promise<RunningAdapter> {
  const app = new Hono<ScopeguardEnv>();
  const guard = scopeguard({ logger: false, ...options }); // cases leave permissions out on purpose (a test may pass its logger)
  app.use(guard);
  // Another middleware overwrites the principal the routes see: route checks must not read it.
  if (extras.forgeAuth) app.use(async (c, next) => (c.set('auth', FORGED_AUTH as never), next()));
  const ok = (c: { json(body: unknown): Response }) => c.json({ ok: true });
  // Bound checks (declared to the metadata at once) and a free one, as apps may mix them.
  app.get('/read', guard.requireScopes('orders.read'), ok);
  app.post('/read', requireScopes('orders.read'), ok);
  app.get('/any', guard.requireAnyScope('orders.write', 'orders.admin'), ok);
  app.get('/auth', ok);
  const listener = getRequestListener(app.fetch);
  const server: Server = tls ? createTlsServer(tls, listener) : createServer(listener);
  const base = await listen(server);
  return { base: tls ? base.replace('http:', 'https:') : base, close: () => close(server) };
}
