'use strict';
/**
 * Fastify 5 contenders (family `fastify` of servers.js), each serving GET /orders and GET /__stats:
 *   none        the route alone
 *   noop        a no-op onRequest hook: the floor for one auth hook
 *   scopeguard  @scopeguard/fastify, the route's config requiring orders.read, permissions: 'token'
 *   jwt         the usual Fastify recipe: @fastify/jwt with get-jwks fetching the key by kid, issuer
 *               and audience checked, then orders.read in the token's `scope` claim (401 / 403)
 *   verify      an onRequest hook doing a bare crypto.verify of the token: the floor for unique tokens
 */
const Fastify = require('fastify');

/** Resolves with the port the contender listens on. */
module.exports = async function listen(kind, { issuer, audience, jwksUri, algorithms, orders, stats, bareVerifier, port }) {
  const app = Fastify();
  let engine;
  // The contender in a context of its own, so that its hooks leave /__stats (at the root) alone.
  await app.register(async (api) => {
    const route = {};
    if (kind === 'noop') {
      api.addHook('onRequest', (_request, _reply, done) => done());
    } else if (kind === 'verify') {
      const verified = bareVerifier();
      api.addHook('onRequest', (request, reply, done) => (verified(request.headers.authorization) ? done() : reply.code(401).send()));
    } else if (kind === 'scopeguard') {
      const { Scopeguard, scopeguard } = require('@scopeguard/fastify');
      engine = new Scopeguard({ issuer, audience, jwksUri, algorithms, permissions: 'token' });
      await api.register(scopeguard, { engine });
      route.config = { scopeguard: { scopes: ['orders.read'] } };
    } else if (kind === 'jwt') {
      const buildGetJwks = require('get-jwks');
      const { origin, pathname } = new URL(jwksUri);
      const getJwks = buildGetJwks({ jwksPath: pathname });
      await api.register(require('@fastify/jwt'), {
        decode: { complete: true },
        secret: (_request, token) => getJwks.getPublicKey({ domain: origin, kid: token.header.kid, alg: token.header.alg }),
        verify: { allowedIss: issuer, allowedAud: audience, algorithms },
      });
      api.addHook('onRequest', async (request, reply) => {
        await request.jwtVerify(); // throws a 401 for Fastify's error handler
        const scope = request.user.scope;
        if (typeof scope !== 'string' || !scope.split(' ').includes('orders.read')) return reply.code(403).send({ error: 'insufficient_scope' });
      });
    } else if (kind !== 'none') {
      throw new Error(`unknown fastify contender: ${kind}`);
    }
    api.get('/orders', route, async () => orders);
  });
  app.get('/__stats', async () => stats(engine));
  await app.listen({ port, host: '127.0.0.1' });
  return app.server.address().port;
};
