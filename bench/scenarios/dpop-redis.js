'use strict';
/**
 * 8. DPoP across instances: requests with a DPoP-bound token and a fresh proof each, against the same
 * Express app with the in-memory replay store (one process) and with @scopeguard/redis's store (one
 * `SET NX PX` round trip per proof to a redis-server started here). The ratio is the price of refusing
 * a proof replayed against another instance. As in scenario 0, the server runs pinned to one core and wrk
 * to the other (redis-server shares wrk's core), contenders alternate, and the server's own CPU per request
 * is reported; each run gets proofs made for it (a proof is used once), from 16 clients (the in-memory
 * store keeps at most 10 000 live proofs per client, its fairness bound).
 */
const { join } = require('node:path');
const { QUICK, table } = require('../lib/harness');
const { ensureWrk, measure, rowsAgainst, HEADER, layout } = require('../lib/pinned');

const ROOT = join(__dirname, '../..');
const PUBLIC = 'https://orders.example.com';
const ROUNDS = Number(process.env.BENCH_ROUNDS || (QUICK ? 1 : 5));
const DURATION = Number(process.env.BENCH_DURATION || (QUICK ? 1 : 4));
const CONNECTIONS = 32;
/** Proofs per run: more than a run can send (wrk would wrap around and replay them: 401s, counted). */
const PROOFS = QUICK ? 3000 : 60_000;

module.exports = async function dpopRedis(issuer) {
  const { hasRedisServer, startRedis } = require('../../test/support/redis-server.js');
  if (!hasRedisServer()) return { text: '\n8. DPoP replay store: skipped (no redis-server; apt-get install redis-server)', targets: [], failed: false };
  if (!ensureWrk({ install: !QUICK })) return { text: '\n8. DPoP replay store: skipped (wrk is missing: apt-get install wrk)', targets: [], failed: false };
  const { createDpopKey } = require('@scopeguard/testing');
  const clients = await Promise.all(
    Array.from({ length: 16 }, async () => {
      const key = await createDpopKey('ES256');
      const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', expiresIn: 3600, claims: { cnf: { jkt: key.jkt } } });
      return { key, token };
    }),
  );
  const proofs = () =>
    Promise.all(
      Array.from({ length: PROOFS }, async (_, i) => {
        const { key, token } = clients[i % clients.length];
        return { Authorization: `DPoP ${token}`, DPoP: await key.proof({ method: 'GET', url: `${PUBLIC}/orders`, accessToken: token }) };
      }),
    );
  const redis = await startRedis();
  try {
    const contenders = ['express:dpop-memory', 'express:dpop-redis'].map((name) => ({ name, root: ROOT }));
    const results = await measure(issuer, contenders, proofs, { rounds: ROUNDS, duration: DURATION, connections: CONNECTIONS, env: { REDIS_URL: redis.url, PUBLIC_BASE_URL: PUBLIC } });
    const [memory, shared] = results;
    return {
      text: table(`8. DPoP, a fresh ES256 proof per request: replay store in memory vs on Redis; ${layout(ROUNDS, DURATION, CONNECTIONS)}; base: in memory`, HEADER, rowsAgainst(results, () => 'express:dpop-memory')),
      targets: [{ name: 'pinned/dpop: Redis replay store req/s ≥ 0.8 × in memory', value: shared.rps / memory.rps, min: 0.8 }],
      failed: results.some((r) => r.non2xx > 0),
    };
  } finally {
    await redis.stop();
  }
};
