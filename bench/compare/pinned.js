'use strict';
/**
 * CPU per request on pinned cores, for chosen contenders (bench/lib/pinned.js has the method).
 *   node bench/compare/pinned.js [reused|unique] [contender …]
 * Contenders are names of bench/lib/servers.js (express:none, express:noop2, express:props2,
 * express:scopeguard, express:auth0, express:passport, express:verify, nest-express:…, nest-fastify:…).
 * `unique`: every request carries a new token (a pool rotated by a wrk Lua script); ALG=ES256 for ES256.
 * Another checkout's build: OTHER=/path/to/checkout runs the contenders named `before:<name>` from it
 * (when none is named so, every contender runs from both).
 * BASE=<kind> is the kind each family's rows are compared with (default: verify for unique tokens; the
 * family's no-op floor, noop2 or noop, else none, for reused ones).
 * PAIRED=1: each row at the same time as its base, on one core (tight, but biased: see bench/lib/pinned.js).
 * Environment: BENCH_ROUNDS (24), BENCH_DURATION (1 s), BENCH_CONNECTIONS (32), BENCH_TOKENS (20 000).
 */
const { resolve } = require('node:path');
const { startIssuer } = require('../lib/harness');
const { DEFAULT_ROUNDS, DEFAULT_DURATION, against, ensureWrk, measure, range, rowsAgainst, HEADER, layout } = require('../lib/pinned');
const { table } = require('../lib/harness');

const MODE = process.argv[2] === 'unique' ? 'unique' : 'reused';
const NAMES = process.argv.slice(process.argv[2] === 'unique' || process.argv[2] === 'reused' ? 3 : 2);
const ALG = process.env.ALG || 'RS256';
const PAIRED = process.env.PAIRED === '1';
const options = {
  rounds: Number(process.env.BENCH_ROUNDS || DEFAULT_ROUNDS),
  duration: Number(process.env.BENCH_DURATION || DEFAULT_DURATION),
  connections: Number(process.env.BENCH_CONNECTIONS || 32),
  env: { ALG },
};

(async () => {
  if (!ensureWrk()) throw new Error('wrk is missing and could not be installed (apt-get install wrk)');
  const issuer = await startIssuer();
  try {
    // Unique: a pool larger than the verdict cache's doorkeeper (4 096 first sights), so no token is
    // ever seen twice within its memory, and so never cached.
    const count = MODE === 'unique' ? Number(process.env.BENCH_TOKENS || 20_000) : 1;
    const tokens = [];
    // An hour's validity: minting a pool and the rounds take minutes.
    for (let i = 0; i < count; i++) tokens.push(await issuer.mint({ alg: ALG, clientId: 'orders-worker', scope: 'orders.read orders.write', expiresIn: 3600, claims: { n: i } }));
    const names = NAMES.length > 0 ? NAMES : MODE === 'unique' ? ['express:verify', 'express:scopeguard', 'express:auth0'] : ['express:none', 'express:noop2', 'express:scopeguard', 'express:auth0'];
    const here = resolve(__dirname, '../..');
    const other = process.env.OTHER && resolve(process.env.OTHER);
    const both = other && !names.some((name) => name.startsWith('before:'));
    const chosen = both ? [...names, ...names.map((name) => `before:${name}`)] : names;
    const contenders = chosen.map((name) => (name.startsWith('before:') ? { name, server: name.slice(7), root: other } : { name, server: name, root: here }));
    // The base of each row: BASE, else the first kind of these measured after the row's own (the bare
    // verify for unique tokens; the no-op floor of scopeguard's shape, then no auth, for reused ones).
    // PAIRED=1 runs each row at the same time as its base (bench/lib/pinned.js says what that costs).
    const kinds = process.env.BASE ? [process.env.BASE] : MODE === 'unique' ? ['verify'] : ['noop2', 'noop', 'none'];
    const baseOf = (name) => {
      const family = name.replace(/:[^:]+$/, '');
      const after = kinds.slice(kinds.indexOf(name.slice(family.length + 1)) + 1);
      return after.map((kind) => `${family}:${kind}`).find((base) => chosen.includes(base));
    };
    const results = await measure(issuer, contenders, tokens, { ...options, ...(PAIRED && { baseOf }) });
    const title = `${MODE === 'unique' ? `unique tokens (a new ${ALG} token per request)` : 'reused token (RS256)'}; ${layout(options.rounds, options.duration, options.connections, PAIRED)}; base: ${kinds.join(' or ')}`;
    console.log(table(title, HEADER, rowsAgainst(results, (r) => baseOf(r.name))));
    // With OTHER: each contender against its other build, round by round (this build minus OTHER's).
    const builds = results
      .filter((r) => r.name.startsWith('before:') && results.some((after) => after.name === r.name.slice(7)))
      .map((before) => {
        const after = results.find((r) => r.name === before.name.slice(7));
        const { added, addedSpread, ratio, ratioSpread } = against(after, before);
        return [after.name, `${added >= 0 ? '+' : ''}${added.toFixed(1)} (${range(addedSpread, 1)})`, `${ratio.toFixed(3)} (${range(ratioSpread, 3)})`];
      });
    if (builds.length > 0) console.log(table('this build against OTHER, per round (medians, IQR)', ['contender', 'CPU µs/req, this − other', 'req/s, this ÷ other'], builds));
  } finally {
    await issuer.close();
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
