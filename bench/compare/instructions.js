'use strict';
/**
 * Instructions per request, counted by callgrind (valgrind, from Debian): the measure that repeats on
 * a noisy machine, where timings move by ±40 %. For each checkout (default: this one):
 *   unique  scopeguard()'s middleware + requireScopes on a new RS256 token, minus
 *   bare    a bare crypto.verify of the same tokens (the physical limit);
 *   reused  the same on a cached token, minus
 *   none    making the fake Node request.
 * Each figure is (instructions of 6 000 requests − of 2 000) / 4 000, after the same warm-up, so start-up
 * and JIT compilation cancel; node runs with --single-threaded, since V8's background threads (concurrent
 * compilation and marking) made two runs of one build differ by 50 %.
 *   node bench/compare/instructions.js [checkout …]      (about 2 minutes per checkout)
 */
const { execFileSync, spawn } = require('node:child_process');
const { mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { startIssuer, table } = require('../lib/harness');

const RUNNER = join(__dirname, '../lib/instructions-run.js');
const SMALL = 2000;
const LARGE = 6000;
// ALG=ES256 for ES256 tokens (default RS256).
const ALG = process.env.ALG || 'RS256';

function instructions(root, file, kind, count) {
  return new Promise((done, fail) => {
    const child = spawn('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', '--smc-check=all-non-file', process.execPath, '--single-threaded', RUNNER, root, file, kind, String(count)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (chunk) => (err += chunk));
    child.once('error', fail);
    child.once('exit', (code) => {
      const collected = /Collected : (\d+)/.exec(err);
      if (code !== 0 || !collected) return fail(new Error(`${kind} (${root}) failed:\n${err.slice(-2000)}`));
      done(Number(collected[1]));
    });
  });
}

const perRequest = async (root, file, kind) => ((await instructions(root, file, kind, LARGE)) - (await instructions(root, file, kind, SMALL))) / (LARGE - SMALL);

(async () => {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('valgrind is missing (apt-get install valgrind)');
  }
  const roots = process.argv.length > 2 ? process.argv.slice(2).map((path) => resolve(path)) : [resolve(__dirname, '../..')];
  const issuer = await startIssuer();
  const dir = mkdtempSync(join(tmpdir(), 'scopeguard-instructions-'));
  try {
    const tokens = [];
    for (let i = 0; i < SMALL + LARGE; i++) tokens.push(await issuer.mint({ alg: ALG, clientId: 'orders-worker', scope: 'orders.read orders.write', expiresIn: 3600, claims: { n: i } }));
    const file = join(dir, 'tokens.json');
    writeFileSync(file, JSON.stringify({ issuer: issuer.issuer, audience: issuer.audience, jwks: { keys: issuer.jwks().keys.filter((key) => key.alg === ALG) }, alg: ALG, tokens }));
    const rows = [];
    for (const root of roots) {
      // Two at a time: callgrind runs one thread per process, the machine has two cores.
      const [bare, unique] = await Promise.all([perRequest(root, file, 'bare'), perRequest(root, file, 'unique')]);
      const [none, reused] = await Promise.all([perRequest(root, file, 'none'), perRequest(root, file, 'reused')]);
      const k = (n) => `${(n / 1000).toFixed(1)}k`;
      rows.push([root, k(bare), k(unique), k(unique - bare), k(none), k(reused), k(reused - none)]);
    }
    console.log(table(`Instructions per request (callgrind; ${ALG}; Express middleware + requireScopes on fake Node requests)`, ['checkout', 'bare verify', 'new token', 'added', 'no auth', 'cached token', 'added'], rows));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await issuer.close();
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
