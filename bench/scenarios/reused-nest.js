'use strict';
/**
 * 2. Reused token, NestJS on the Express and Fastify platforms: no guard, ScopeguardGuard (global,
 * @RequireScopes), and the @nestjs/passport + passport-jwt + jwks-rsa recipe with a scopes guard.
 * Target: ScopeguardGuard ≥ 0.95 × no guard.
 */
const { alternate, startContender, table, ratio, fixed } = require('../lib/harness');

module.exports = async function reusedNest(issuer) {
  const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read orders.write' });
  const rows = [];
  const targets = [];
  let failed = false;
  for (const platform of ['nest-express', 'nest-fastify']) {
    const contenders = [];
    try {
      for (const kind of ['none', 'scopeguard', 'passport']) contenders.push(await startContender(`${platform}:${kind}`, issuer));
      const results = await alternate(contenders, () => ({ headers: { authorization: `Bearer ${token}` } }));
      const base = results[0];
      for (const r of results) rows.push([r.name, fixed(r.rps), r.p50, r.p99, ratio(r.rps, base.rps), r.non2xx + r.errors]);
      const guard = results.find((r) => r.name.endsWith(':scopeguard'));
      targets.push({ name: `reused/${platform}: ScopeguardGuard ≥ 0.95 × no guard`, value: guard.rps / base.rps, min: 0.95 });
      failed ||= results.some((r) => r.non2xx + r.errors > 0);
    } finally {
      await Promise.all(contenders.map((c) => c.stop()));
    }
  }
  return { text: table('2. Reused token, NestJS (req/s median; latency ms)', ['contender', 'req/s', 'p50', 'p99', '× no guard', 'failed'], rows), targets, failed };
};
