'use strict';
/**
 * Instructions per request over real HTTP, counted by callgrind: each contender server (bench/lib/servers.js)
 * runs under valgrind with `node --single-threaded`, is warmed up with instrumentation off, then counts
 * a window of requests sent one at a time on one keep-alive connection. What timings cannot resolve on a
 * noisy machine (a few µs in ±40 %), this repeats to within ~1 % between runs of one build: the reused-token
 * path through each adapter, its floor beside it, the whole server stack included (the parser, the
 * framework, the adapter, the engine), which the in-process counts (instructions.js) leave out.
 *   node bench/compare/http-instructions.js [reused|unique] <contender …>
 * A contender named `before:<name>` runs from the checkout OTHER=<path> (built, with node_modules).
 * The warm-up is long (WARM, 20 000 requests) because V8 tiers functions up by the bytecode they have run:
 * with 1 500 requests, optimizing compilations still ran on the main thread in the window and made two runs
 * differ by 30 %. Environment: WARM (20 000), COUNT (3 000), ALG (RS256).
 * Unique tokens: every request of the warm-up and the window carries a token never sent before.
 */
const { execFileSync, spawn } = require('node:child_process');
const { mkdtempSync, readdirSync, rmSync } = require('node:fs');
const http = require('node:http');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { createInterface } = require('node:readline');
const { startIssuer, table } = require('../lib/harness');

const MODE = process.argv[2] === 'unique' ? 'unique' : 'reused';
const NAMES = process.argv.slice(process.argv[2] === 'unique' || process.argv[2] === 'reused' ? 3 : 2);
const WARM = Number(process.env.WARM || 20_000);
const COUNT = Number(process.env.COUNT || 3_000);
const ALG = process.env.ALG || 'RS256';
const HERE = resolve(__dirname, '../..');

function start(root, server, issuer, out) {
  const args = ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${out}`, '--smc-check=all-non-file', process.execPath, '--single-threaded', join(root, 'bench/lib/servers.js'), server];
  const child = spawn('valgrind', args, { env: { ...process.env, ISSUER: issuer.issuer, AUDIENCE: issuer.audience, JWKS_URI: issuer.jwksUri, ALG }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (chunk) => (err += chunk));
  return new Promise((done, fail) => {
    createInterface({ input: child.stdout }).once('line', (line) => done({ child, port: JSON.parse(line).port }));
    child.once('exit', (code) => fail(new Error(`${server} (${root}) exited with ${code}: ${err.slice(-1500)}`)));
  });
}

/** One request; resolves with its status. */
function get(agent, port, token) {
  return new Promise((done, fail) => {
    http
      .get({ host: '127.0.0.1', port, path: '/orders', agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        res.once('end', () => done(res.statusCode));
      })
      .once('error', fail);
  });
}

/** Sends `count` requests one after the other; every one must succeed, once the first has (key sets load at start). */
async function send(agent, port, tokens, from, count, strict) {
  let ok = strict;
  for (let i = 0; i < count; i++) {
    const status = await get(agent, port, tokens[(from + i) % tokens.length]);
    if (status === 200) ok = true;
    else if (ok) throw new Error(`status ${status}`);
    else await new Promise((wait) => setTimeout(wait, 10));
  }
  if (!ok) throw new Error('no request succeeded');
}

/** Instructions per request of one contender in the window after the warm-up. */
async function perRequest(root, server, issuer, tokens, dir) {
  const out = join(dir, `${server.replace(/\W/g, '-')}.%p`);
  const { child, port } = await start(root, server, issuer, out);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const control = (...args) => execFileSync('callgrind_control', [...args, String(child.pid)], { stdio: 'ignore' });
  try {
    await send(agent, port, tokens, 0, WARM, false);
    control('-i', 'on');
    await send(agent, port, tokens, WARM, COUNT, true);
    control('-d'); // dumps the window alone (instrumentation was off before it)
    control('-i', 'off');
  } finally {
    agent.destroy();
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGINT');
    await exited;
  }
  const prefix = `${server.replace(/\W/g, '-')}.${child.pid}.`;
  const dump = readdirSync(dir).find((name) => name.startsWith(prefix));
  const totals = execFileSync('callgrind_annotate', ['--threshold=100', join(dir, dump)], { encoding: 'utf8' });
  const total = /([\d,]+) \([\s\d.]+%\)\s+PROGRAM TOTALS/.exec(totals);
  return Number(total[1].replace(/,/g, '')) / COUNT;
}

(async () => {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('valgrind is missing (apt-get install valgrind)');
  }
  if (NAMES.length === 0) throw new Error('name the contenders, e.g. reused koa:noop2 koa:scopeguard');
  const other = process.env.OTHER && resolve(process.env.OTHER);
  const issuer = await startIssuer();
  const dir = mkdtempSync(join(tmpdir(), 'scopeguard-http-instructions-'));
  try {
    const count = MODE === 'unique' ? WARM + COUNT : 1;
    const tokens = [];
    for (let i = 0; i < count; i++) tokens.push(await issuer.mint({ alg: ALG, clientId: 'orders-worker', scope: 'orders.read orders.write', expiresIn: 3600, claims: { n: i } }));
    const rows = [];
    for (const name of NAMES) {
      const before = name.startsWith('before:');
      if (before && !other) throw new Error(`${name}: set OTHER=<checkout>`);
      const value = await perRequest(before ? other : HERE, before ? name.slice(7) : name, issuer, tokens, dir);
      rows.push([name, (value / 1000).toFixed(2)]);
    }
    const title = `${MODE === 'unique' ? `unique ${ALG} tokens` : `a reused ${ALG} token`}: instructions per request over HTTP (callgrind, ${COUNT} requests after ${WARM})`;
    console.log(table(title, ['contender', 'k instructions / request'], rows));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await issuer.close?.();
  }
  process.exit(0);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
