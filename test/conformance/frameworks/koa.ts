/** Koa 3 with @koa/router and @koa/bodyparser (forms parsed before the guard) on a plain or TLS server, the conformance routes. */
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer, type ServerOptions as TlsOptions } from 'node:https';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import type { ScopeguardOptions } from '@scopeguard/core';
import { requireAnyScope, requireScopes, scopeguard, type ScopeguardState } from '@scopeguard/koa';
import { close, listen } from '../../support/http';
import { FORGED_AUTH, type AppExtras, type RunningAdapter } from '../adapters';

export async function startKoa(options: ScopeguardOptions, tls: TlsOptions | undefined, extras: AppExtras): Promise<RunningAdapter> {
  const app = new Koa<ScopeguardState>();
  app.use(bodyParser({ enableTypes: ['json', 'form'] }));
  app.use(scopeguard({ logger: false, ...options })); // cases leave permissions out on purpose (a test may pass its logger)
  // Another middleware overwrites the principal the routes see: route checks must not read it.
  if (extras.forgeAuth) app.use((ctx, next) => ((ctx.state.auth = FORGED_AUTH as never), next()));
  const router = new Router<ScopeguardState>();
  const ok = (ctx: { body: unknown }) => void (ctx.body = { ok: true });
  router.get('/read', requireScopes('orders.read'), ok);
  router.post('/read', requireScopes('orders.read'), ok);
  router.get('/any', requireAnyScope('orders.write', 'orders.admin'), ok);
  router.get('/auth', ok);
  app.use(router.routes());
  const server: Server = tls ? createTlsServer(tls, app.callback()) : createServer(app.callback());
  const base = await listen(server);
  return { base: tls ? base.replace('http:', 'https:') : base, close: () => close(server) };
}
