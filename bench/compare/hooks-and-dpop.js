'use strict';
/**
 * In-process cost of two paths that hooks and DPoP take, for one checkout (default: this one):
 *   hookPathUs  a reused token with a permission resolver and `isRevoked`, their answers cached
 *   dpopUs      a DPoP-bound token with a fresh ES256 proof per request (5 000 proofs, after 1 000 to warm up)
 *   node bench/compare/hooks-and-dpop.js [checkout]
 * Run it for two checkouts, alternating, to compare a change on these paths.
 */
const { join, resolve } = require('node:path');
const root = resolve(process.argv[2] ?? join(__dirname, '../..'));
const { Scopeguard } = require(join(root, 'packages/core/dist'));
const { createTestIssuer, createDpopKey } = require(join(root, 'packages/testing/dist'));
(async () => {
  const issuer = await createTestIssuer();
  const hooks = new Scopeguard({ ...issuer.options(), permissions: async () => ['orders.read'], isRevoked: async () => false });
  const token = await issuer.mint({ clientId: 'w', scope: 'orders.read', claims: { jti: 'j1' } });
  await hooks.admit({ authorization: `Bearer ${token}` });
  const run = (n) => { const t = process.hrtime.bigint(); for (let i = 0; i < n; i++) hooks.admit({ authorization: `Bearer ${token}` }); return Number(process.hrtime.bigint() - t) / n / 1000; };
  run(100000);
  const hook = Array.from({ length: 7 }, () => run(200000)).sort((a, b) => a - b)[3];
  const dpop = new Scopeguard({ ...issuer.options(), permissions: 'token', dpop: { publicBaseUrl: 'https://x.example' } });
  const key = await createDpopKey('ES256');
  const bound = await issuer.mint({ scope: 'orders.read', claims: { cnf: { jkt: key.jkt } } });
  const N = 6000;
  const proofs = await Promise.all(Array.from({ length: N }, () => key.proof({ method: 'GET', url: 'https://x.example/orders', accessToken: bound })));
  const req = (p) => ({ authorization: `DPoP ${bound}`, dpopRequest: () => ({ proofs: [p], method: 'GET', target: '/orders', host: 'x', secure: true }) });
  for (let i = 0; i < 1000; i++) await dpop.admit(req(proofs[i]));
  const t = performance.now();
  for (let i = 1000; i < N; i++) await dpop.admit(req(proofs[i]));
  const d = ((performance.now() - t) / (N - 1000)) * 1000;
  console.log(JSON.stringify({ root, hookPathUs: +hook.toFixed(3), dpopUs: +d.toFixed(1) }));
  await issuer.close();
})();
