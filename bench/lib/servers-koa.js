'use strict';
/**
 * Koa 3 contenders for bench/lib/servers.js (family `koa`): GET /orders behind @koa/router, and
 * GET /__stats. Kinds: `none` (the route alone), `noop2` (two no-op middlewares where scopeguard and
 * requireScopes go: Koa's own cost of the shape), `scopeguard`, `verify` (a bare crypto.verify where
 * the guard goes: the unique-token floor).
 */
const Koa = require('koa');
const Router = require('@koa/router');

module.exports = async function listen(kind, { issuer, audience, jwksUri, algorithms, orders, stats, bareVerifier, port }) {
  const app = new Koa();
  const router = new Router();
  let engine;
  // The same first middleware in every kind, so /__stats stays outside the guard at the same cost for all.
  app.use((ctx, next) => (ctx.path === '/__stats' ? void (ctx.body = stats(engine)) : next()));
  const ok = (ctx) => void (ctx.body = orders);
  if (kind === 'none') {
    router.get('/orders', ok);
  } else if (kind === 'noop2') {
    app.use((_ctx, next) => next());
    router.get('/orders', (_ctx, next) => next(), ok);
  } else if (kind === 'scopeguard') {
    const { scopeguard, requireScopes } = require('@scopeguard/koa');
    const guard = scopeguard({ issuer, audience, jwksUri, algorithms, permissions: 'token' });
    engine = guard.engine;
    app.use(guard);
    router.get('/orders', requireScopes('orders.read'), ok);
  } else if (kind === 'verify') {
    const verified = bareVerifier();
    app.use((ctx, next) => (verified(ctx.headers.authorization) ? next() : void (ctx.status = 401)));
    router.get('/orders', ok);
  } else {
    throw new Error(`servers-koa: unknown kind ${kind}`);
  }
  app.use(router.routes());
  const server = app.listen(port, '127.0.0.1');
  await new Promise((resolve, reject) => server.once('listening', resolve).once('error', reject));
  return server.address().port;
};
