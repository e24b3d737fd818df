'use strict';
/**
 * 1. Reused token, Express 5: the same GET /orders app with no auth, scopeguard,
 * express-oauth2-jwt-bearer + requiredScopes, passport-jwt + jwks-rsa + a scope check.
 * Targets: scopeguard ≥ 0.95 × no-auth, ≥ 1.5 × express-oauth2-jwt-bearer.
 * `noop2` (two empty middlewares, the same layer shape as app.use + requireScopes) shows what Express
 * itself charges for that shape, so the table separates our cost from the router's.
 */
const { alternate, startContender, table, ratio, fixed } = require('../lib/harness');

module.exports = async function reusedExpress(issuer) {
  const names = ['express:none', 'express:noop2', 'express:scopeguard', 'express:auth0', 'express:passport'];
  const contenders = [];
  try {
    for (const name of names) contenders.push(await startContender(name, issuer));
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read orders.write' });
    const results = await alternate(contenders, () => ({ headers: { authorization: `Bearer ${token}` } }));
    const base = results[0];
    const auth0 = results.find((r) => r.name === 'express:auth0');
    const rows = results.map((r) => [r.name, fixed(r.rps), r.p50, r.p99, ratio(r.rps, base.rps), ratio(r.rps, auth0.rps), r.non2xx + r.errors]);
    const scopeguard = results.find((r) => r.name === 'express:scopeguard');
    return {
      text: table('1. Reused token, Express 5 (req/s median; latency ms)', ['contender', 'req/s', 'p50', 'p99', '× no-auth', '× auth0', 'failed'], rows),
      targets: [
        { name: 'reused/express: scopeguard ≥ 0.95 × no-auth', value: scopeguard.rps / base.rps, min: 0.95 },
        { name: 'reused/express: scopeguard ≥ 1.5 × express-oauth2-jwt-bearer', value: scopeguard.rps / auth0.rps, min: 1.5 },
      ],
      failed: results.some((r) => r.non2xx + r.errors > 0),
    };
  } finally {
    await Promise.all(contenders.map((c) => c.stop()));
  }
};
