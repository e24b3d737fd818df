'use strict';
/**
 * Where a contender server's CPU goes under HTTP load: each server runs pinned to the server core
 * under `--cpu-prof` while wrk drives it (a reused token, or a new token per request), and the
 * profile's self time is printed per function in µs per request, ours (packages/) apart.
 *   node bench/compare/profile.js [reused|unique] <contender> [more contenders…]
 * With two or more contenders, each function's µs per request is printed side by side (the first is
 * the base), largest differences first: what one adds over another. The profiler's sampling (50 µs)
 * inflates every figure alike; read them as shares, the pinned bench for µs.
 * Environment: ALG (RS256), BENCH_DURATION (10 s), BENCH_TOKENS (20 000), KEEP=1 keeps the .cpuprofile
 * files, PAIRED=1 profiles the contenders at the same time (see bench/lib/pinned.js).
 */
const { mkdtempSync, readdirSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { startIssuer, table } = require('../lib/harness');
const { ensureWrk, startServer, wrk, writeScript, cpuMicros } = require('../lib/pinned');

const MODE = process.argv[2] === 'unique' ? 'unique' : 'reused';
const NAMES = process.argv.slice(process.argv[2] === 'unique' || process.argv[2] === 'reused' ? 3 : 2);
const ALG = process.env.ALG || 'RS256';
const DURATION = Number(process.env.BENCH_DURATION || 10);
const ROOT = resolve(__dirname, '../..');

/** Runs `name` under the profiler with wrk for DURATION s; its requests, CPU µs per request and profile. */
async function profile(name, issuer, script, dir, connections) {
  const { url, child, pid } = await startServer(ROOT, name, issuer, { ALG }, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval', '50']);
  const exited = new Promise((done) => child.once('exit', done));
  const warm = await wrk(url, script, 2, connections); // warm-up: JIT, key set, caches
  const before = cpuMicros(pid);
  const run = await wrk(url, script, DURATION, connections, warm.requests + connections); // the rotation goes on: no token twice
  const cpu = (cpuMicros(pid) - before) / run.requests;
  child.kill('SIGINT'); // the server exits on SIGINT, and node writes the profile as it exits
  await exited;
  const file = readdirSync(dir).find((entry) => entry.endsWith('.cpuprofile'));
  return { requests: run.requests + warm.requests, cpu, profile: JSON.parse(readFileSync(join(dir, file), 'utf8')) };
}

/** Self time per function (µs per request over the whole profile, warm-up included). */
function selfTimes({ profile: { nodes, samples, timeDeltas }, requests }) {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const self = new Map();
  samples.forEach((id, i) => {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const where = url.replace(/^.*\/(packages|node_modules)\//, '$1/').replace(/^file:\/\/.*\/bench\//, 'bench/');
    const key = `${functionName || '(anonymous)'} ${where}${where ? `:${lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + (timeDeltas[i] ?? 0) / requests);
  });
  return self;
}

(async () => {
  if (NAMES.length === 0) throw new Error('name a contender of bench/lib/servers.js, e.g. express:scopeguard');
  if (!ensureWrk()) throw new Error('wrk is missing and could not be installed (apt-get install wrk)');
  const issuer = await startIssuer();
  const dir = mkdtempSync(join(tmpdir(), 'scopeguard-profile-'));
  try {
    const count = MODE === 'unique' ? Number(process.env.BENCH_TOKENS || 20_000) : 1;
    const tokens = [];
    for (let i = 0; i < count; i++) tokens.push(await issuer.mint({ alg: ALG, clientId: 'orders-worker', scope: 'orders.read orders.write', expiresIn: 3600, claims: { n: i } }));
    const script = writeScript(dir, tokens);
    // One after the other, each alone on the server core; PAIRED=1: all at once, each with its share
    // of the connections, so that the machine's state moves them alike, but taking turns on one core
    // costs cache-heavy code far more (bench/lib/pinned.js): read differences only between like builds.
    const paired = process.env.PAIRED === '1';
    const one = async (name, connections) => {
      const own = mkdtempSync(join(dir, 'run-'));
      const result = await profile(name, issuer, script, own, connections);
      if (process.env.KEEP) console.error(`${name}: ${join(own, readdirSync(own)[0])}`);
      return { name, ...result, self: selfTimes(result) };
    };
    const results = [];
    if (paired) results.push(...(await Promise.all(NAMES.map((name) => one(name, Math.max(1, Math.round(32 / NAMES.length)))))));
    else for (const name of NAMES) results.push(await one(name, 32));
    const keys = [...new Set(results.flatMap((r) => [...r.self.keys()]))];
    const value = (r, key) => r.self.get(key) ?? 0;
    const rows = keys
      .map((key) => ({ key, values: results.map((r) => value(r, key)) }))
      .sort((a, b) => (results.length > 1 ? Math.abs(b.values.at(-1) - b.values[0]) - Math.abs(a.values.at(-1) - a.values[0]) : b.values[0] - a.values[0]))
      .slice(0, Number(process.env.TOP || 40));
    const ours = (r) => [...r.self].filter(([key]) => key.includes(' packages/')).reduce((sum, [, us]) => sum + us, 0);
    console.log(`${MODE} token${MODE === 'unique' ? 's' : ''} (${ALG}), ${DURATION} s of wrk each; server CPU µs/request (kernel): ${results.map((r) => `${r.name} ${r.cpu.toFixed(1)}`).join(', ')}; self time in packages/: ${results.map((r) => ours(r).toFixed(1)).join(', ')} µs/request (profiled)`);
    console.log(table('Self time, µs per request (profiled)', ['function', ...results.map((r) => r.name), ...(results.length > 1 ? ['difference'] : [])], rows.map(({ key, values }) => [key, ...values.map((v) => v.toFixed(2)), ...(results.length > 1 ? [`${values.at(-1) >= values[0] ? '+' : ''}${(values.at(-1) - values[0]).toFixed(2)}`] : [])])));
  } finally {
    if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
    await issuer.close();
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
