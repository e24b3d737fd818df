'use strict';
/**
 * Hono on Node (@hono/node-server) contenders; resolves with the port (see servers.js, family `hono`).
 * Kinds: none; noop (one no-op middleware); noop2 (two, where scopeguard and its route check go: the
 * floor for reused tokens, Hono's own cost of that shape); header (noop2 that also reads Authorization
 * from the Request, as any guard must: on @hono/node-server that read is most of a reused token's cost,
 * see bench/README.md); scopeguard (@scopeguard/hono,
 * requireScopes); jwk (Hono's own jwk middleware as its docs show it, jwks_uri, plus a scope check);
 * jwk-keys (the same with the key set fetched once at start: Hono's jwk fetches a jwks_uri on every
 * request); verify (a bare crypto.verify: the floor for unique tokens).
 */
const { serve } = require('@hono/node-server');
const { Hono } = require('hono');

module.exports = async function listen(kind, { issuer, audience, jwksUri, algorithms, orders, stats, bareVerifier, port }) {
  const app = new Hono();
  let engine;
  app.get('/__stats', (c) => c.json(stats(engine)));
  const list = (c) => c.json(orders);
  if (kind === 'none') app.get('/orders', list);
  else if (kind === 'noop') {
    app.use('/orders', (_c, next) => next());
    app.get('/orders', list);
  } else if (kind === 'noop2') {
    app.use('/orders', (_c, next) => next());
    app.get('/orders', (_c, next) => next(), list);
  } else if (kind === 'header') {
    app.use('/orders', (c, next) => (c.req.header('authorization') ? next() : c.body(null, 401)));
    app.get('/orders', (_c, next) => next(), list);
  } else if (kind === 'scopeguard') {
    const { scopeguard } = require('@scopeguard/hono');
    const guard = scopeguard({ issuer, audience, jwksUri, algorithms, permissions: 'token' });
    engine = guard.engine;
    app.use('/orders', guard);
    app.get('/orders', guard.requireScopes('orders.read'), list);
  } else if (kind === 'jwk' || kind === 'jwk-keys') {
    const { jwk } = require('hono/jwk');
    const keys = kind === 'jwk-keys' ? (await (await fetch(jwksUri)).json()).keys : undefined;
    app.use('/orders', jwk({ ...(keys ? { keys } : { jwks_uri: jwksUri }), alg: ['RS256', 'ES256'], verification: { iss: issuer, aud: audience, typ: 'at+jwt' } }));
    app.get('/orders', (c, next) => (String(c.get('jwtPayload')?.scope ?? '').split(' ').includes('orders.read') ? next() : c.json({ error: 'insufficient_scope' }, 403)), list);
  } else if (kind === 'verify') {
    const verified = bareVerifier();
    app.use('/orders', (c, next) => (verified(c.req.header('authorization')) ? next() : c.body(null, 401)));
    app.get('/orders', list);
  } else throw new Error(`hono: unknown kind ${kind}`);
  return new Promise((resolve) => serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, (info) => resolve(info.port)));
};
