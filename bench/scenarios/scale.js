'use strict';
/**
 * 6. Scale: the Express app with scopeguard on one process vs the Node `cluster` module with one
 * worker per core. Each worker has its own engine and caches; nothing is shared, so nothing
 * serialises. On a 2-core machine the load generator competes for the same cores: read the ratio
 * with that in mind.
 */
const { availableParallelism } = require('node:os');
const { alternate, startContender, table, ratio, fixed } = require('../lib/harness');

module.exports = async function scale(issuer) {
  const cores = availableParallelism();
  const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read' });
  const contenders = [];
  try {
    const single = await startContender('express:scopeguard', issuer);
    contenders.push({ ...single, name: 'scopeguard, 1 process' });
    const clustered = await startContender('express:scopeguard', issuer, { CLUSTER: String(cores) });
    contenders.push({ ...clustered, name: `scopeguard, cluster × ${cores}` });
    const results = await alternate(contenders, () => ({ headers: { authorization: `Bearer ${token}` }, workers: 2 }));
    const base = results[0];
    return {
      text: table(`6. Scale on ${cores} cores (load generator: 2 worker threads on the same machine)`, ['setup', 'req/s', 'p50', 'p99', '× 1 process'], results.map((r) => [r.name, fixed(r.rps), r.p50, r.p99, ratio(r.rps, base.rps)])),
      targets: [],
      failed: results.some((r) => r.non2xx + r.errors > 0),
    };
  } finally {
    await Promise.all(contenders.map((c) => c.stop()));
  }
};
