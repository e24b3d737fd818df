'use strict';
/**
 * 0. CPU per request on pinned cores (bench/lib/pinned.js): the server's own CPU µs per request and
 * req/s, for Express 5, Nest on Express and Nest on Fastify, each beside its floor and its peers.
 *   a. Reused token (RS256): no auth (the base), the floor (two no-op layers on Express, a no-op
 *      guard on Nest), scopeguard, express-oauth2-jwt-bearer, passport-jwt + jwks-rsa.
 *   b. Unique tokens (RS256, then ES256): a bare `crypto.verify` of each token (the base: the
 *      physical limit), scopeguard and the peers.
 * Fastify, Hono (on Node) and Koa follow, each beside its usual choice (@fastify/jwt with get-jwks;
 * Hono's jwk middleware, with keys fetched once and with a jwks_uri as its docs show).
 * Goals (issue 27), each the median of per-round differences against its base in this run:
 *   reused: ≤ +5 µs of CPU over the framework's no-op floor on Express and Nest on Express, ≤ +3 µs on
 *     Fastify, Hono, Koa and Nest on Fastify; Express req/s ≥ 0.96 × no auth;
 *   unique: ≤ +15 µs over a bare crypto.verify on Express, Fastify and Hono; req/s ≥ 1.25 ×
 *     express-oauth2-jwt-bearer's, ≥ 1.5 × @fastify/jwt's and Hono's jwk's.
 * Needs `wrk` (installed from Debian when missing, where that is allowed); without it the scenario
 * says so and the autocannon scenarios (1–3) stand in.
 */
const { resolve } = require('node:path');
const { QUICK, table } = require('../lib/harness');
const { DEFAULT_ROUNDS, DEFAULT_DURATION, ensureWrk, measure, rowsAgainst, goalAgainst, HEADER, layout } = require('../lib/pinned');

const ROUNDS = Number(process.env.BENCH_ROUNDS || (QUICK ? 1 : DEFAULT_ROUNDS));
const DURATION = Number(process.env.BENCH_DURATION || (QUICK ? 1 : DEFAULT_DURATION));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 32);
// More than the verdict cache's doorkeeper remembers (4 096 first sights): no token is ever cached.
const TOKENS = Number(process.env.BENCH_TOKENS || (QUICK ? 200 : 20_000));
const ROOT = resolve(__dirname, '../..');

// Quick mode (the smoke test) checks the script with a few contenders; its numbers mean nothing.
const REUSED = QUICK ? ['express:none', 'express:noop2', 'express:scopeguard', 'hono:noop2', 'hono:scopeguard'] : [
  'express:none', 'express:noop2', 'express:scopeguard', 'express:auth0', 'express:passport',
  'nest-express:none', 'nest-express:noop', 'nest-express:scopeguard', 'nest-express:passport',
  'nest-fastify:none', 'nest-fastify:noop', 'nest-fastify:scopeguard', 'nest-fastify:passport',
  // Each framework's usual choice beside it: @fastify/jwt (+ get-jwks), Hono's jwk middleware.
  'fastify:none', 'fastify:noop', 'fastify:scopeguard', 'fastify:jwt',
  'hono:none', 'hono:noop', 'hono:noop2', 'hono:scopeguard', 'hono:jwk-keys', 'hono:jwk',
  'koa:none', 'koa:noop2', 'koa:scopeguard',
];
const UNIQUE = QUICK ? { RS256: ['express:verify', 'express:scopeguard', 'express:auth0', 'hono:verify', 'hono:scopeguard', 'hono:jwk-keys'], ES256: ['express:verify', 'express:scopeguard'] } : {
  RS256: [
    // verify-pool: the same bare verify on libuv's thread pool (crypto.verify's callback form).
    'express:verify', 'express:verify-pool', 'express:scopeguard', 'express:auth0', 'express:passport',
    'nest-express:verify', 'nest-express:scopeguard', 'nest-express:passport',
    'nest-fastify:verify', 'nest-fastify:scopeguard', 'nest-fastify:passport',
    'fastify:verify', 'fastify:scopeguard', 'fastify:jwt',
    'hono:verify', 'hono:scopeguard', 'hono:jwk-keys',
    'koa:verify', 'koa:scopeguard',
  ],
  // express-oauth2-jwt-bearer takes one algorithm (RS256 here).
  ES256: ['express:verify', 'express:scopeguard', 'express:passport', 'nest-fastify:verify', 'nest-fastify:scopeguard', 'fastify:verify', 'fastify:scopeguard', 'fastify:jwt', 'hono:verify', 'hono:scopeguard', 'hono:jwk-keys'],
};

const familyOf = (name) => name.replace(/:[^:]+$/, '');
const FLOORS = { express: 'noop2', 'nest-express': 'noop', fastify: 'noop', hono: 'noop2', koa: 'noop2', 'nest-fastify': 'noop' };
const find = (results, name) => results.find((r) => r.name === name);

async function mint(issuer, alg, count) {
  const tokens = [];
  // An hour's validity: minting a pool and the rounds take minutes.
  for (let i = 0; i < count; i++) tokens.push(await issuer.mint({ alg, clientId: 'orders-worker', scope: 'orders.read orders.write', expiresIn: 3600, claims: { n: i } }));
  return tokens;
}

module.exports = async function pinned(issuer) {
  // The smoke test does not install anything; `npm run bench` and .ci/run do.
  if (!ensureWrk({ install: !QUICK })) {
    return { text: '\n0. Pinned cores: skipped (wrk is missing and could not be installed: apt-get install wrk)', targets: [], failed: false };
  }
  const options = { rounds: ROUNDS, duration: DURATION, connections: CONNECTIONS };
  const contenders = (names) => names.map((name) => ({ name, root: ROOT }));
  const texts = [];
  const targets = [];
  let failed = false;

  const reused = await measure(issuer, contenders(REUSED), await mint(issuer, 'RS256', 1), options);
  texts.push(table(`0a. Reused token (RS256), CPU per request; ${layout(ROUNDS, DURATION, CONNECTIONS)}; base: each family's no-auth app`, HEADER, rowsAgainst(reused, (r) => `${familyOf(r.name)}:none`)));
  // Against the framework's no-op floor: the same number of layers doing nothing.
  for (const [family, max] of [['express', 5], ['nest-express', 5], ['fastify', 3], ['hono', 3], ['koa', 3], ['nest-fastify', 3]]) {
    const floor = FLOORS[family];
    targets.push(goalAgainst(`pinned/reused/${family}: scopeguard added CPU over ${floor} ≤ ${max} µs`, find(reused, `${family}:scopeguard`), find(reused, `${family}:${floor}`), { max }));
  }
  targets.push(goalAgainst('pinned/reused/express: scopeguard req/s ≥ 0.96 × no auth', find(reused, 'express:scopeguard'), find(reused, 'express:none'), { min: 0.96 }));
  failed ||= reused.some((r) => r.non2xx > 0);

  for (const [alg, names] of Object.entries(UNIQUE)) {
    const results = await measure(issuer, contenders(names), await mint(issuer, alg, TOKENS), { ...options, env: { ALG: alg } });
    texts.push(table(`0b. Unique tokens (a new ${alg} token per request), CPU per request; base: each family's bare crypto.verify`, HEADER, rowsAgainst(results, (r) => `${familyOf(r.name)}:verify`)));
    for (const family of ['express', 'fastify', 'hono']) {
      targets.push(goalAgainst(`pinned/unique/${alg}/${family}: scopeguard added CPU over crypto.verify ≤ 15 µs`, find(results, `${family}:scopeguard`), find(results, `${family}:verify`), { max: 15 }));
    }
    // Against each framework's usual choice, in req/s.
    for (const [peer, label, min] of [['express:auth0', 'express-oauth2-jwt-bearer', 1.25], ['fastify:jwt', '@fastify/jwt', 1.5], ['hono:jwk-keys', "Hono's jwk", 1.5]]) {
      targets.push(goalAgainst(`pinned/unique/${alg}/${familyOf(peer)}: scopeguard ≥ ${min} × ${label} req/s`, find(results, `${familyOf(peer)}:scopeguard`), find(results, peer), { min }));
    }
    failed ||= results.some((r) => r.non2xx > 0);
  }
  // A goal whose contenders this run left out (quick mode, BENCH_ONLY-style trims) is not reported.
  return { text: texts.join('\n'), targets: targets.filter(Boolean), failed };
};
