'use strict';
/**
 * Before/after over HTTP for a change on the request path: the same contenders (bench/lib/servers.js)
 * from another checkout (built) and from this one, alternating, with medians and ratios.
 *   node bench/compare/http-ab.js /path/to/other-checkout [nest-fastify]
 * The second argument is a platform of servers.js (express, nest-express, nest-fastify); its `none`
 * and `scopeguard` contenders run. BENCH_ROUNDS (default 7) and BENCH_DURATION (s, default 4) apply.
 */
const { spawn } = require('node:child_process');
const { createInterface } = require('node:readline');
const { join, resolve } = require('node:path');
const { load, median, startIssuer } = require('../lib/harness');

const [otherRoot, platform = 'nest-fastify'] = process.argv.slice(2);
if (!otherRoot) {
  console.error('usage: node bench/compare/http-ab.js <other checkout> [express|nest-express|nest-fastify]');
  process.exit(2);
}
const builds = { before: resolve(otherRoot), after: resolve(__dirname, '../..') };
const ROUNDS = Number(process.env.BENCH_ROUNDS || 7);

function start(root, name, issuer) {
  const child = spawn(process.execPath, [join(root, 'bench/lib/servers.js'), name], {
    env: { ...process.env, ISSUER: issuer.issuer, AUDIENCE: issuer.audience, JWKS_URI: issuer.jwksUri },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((done, fail) => {
    createInterface({ input: child.stdout }).once('line', (line) => done({ url: `http://127.0.0.1:${JSON.parse(line).port}`, child }));
    child.once('exit', (code) => fail(new Error(`${name} (${root}) exited with ${code}`)));
  });
}

(async () => {
  const issuer = await startIssuer();
  const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read orders.write' });
  const headers = { authorization: `Bearer ${token}` };
  const contenders = [];
  try {
    for (const [build, root] of Object.entries(builds)) {
      for (const kind of ['none', 'scopeguard']) contenders.push({ build, kind, ...(await start(root, `${platform}:${kind}`, issuer)), rps: [] });
    }
    for (const c of contenders) await load(`${c.url}/orders`, { headers, duration: 1 });
    for (let round = 0; round < ROUNDS; round++) for (const c of contenders) c.rps.push((await load(`${c.url}/orders`, { headers })).rps);
    for (const c of contenders) console.log(`${c.build.padEnd(7)} ${`${platform}:${c.kind}`.padEnd(24)} ${Math.round(median(c.rps))} req/s (runs ${c.rps.map(Math.round).join(' ')})`);
    for (const build of Object.keys(builds)) {
      const [none, guard] = ['none', 'scopeguard'].map((kind) => median(contenders.find((c) => c.build === build && c.kind === kind).rps));
      console.log(`${build}: scopeguard × none = ${(guard / none).toFixed(3)}`);
    }
  } finally {
    for (const c of contenders) c.child.kill();
    await issuer.close();
  }
})();
