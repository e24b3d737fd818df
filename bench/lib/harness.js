'use strict';
/** Shared bench plumbing: a test issuer, contender processes, autocannon runs, medians and tables. */
const { spawn } = require('node:child_process');
const { createInterface } = require('node:readline');
const { join } = require('node:path');
const autocannon = require('autocannon');

const QUICK = process.env.BENCH_QUICK === '1';
/** Seconds per measurement and rounds per contender (alternating A B C, A B C, …). */
const DURATION = Number(process.env.BENCH_DURATION || (QUICK ? 1 : 4));
const ROUNDS = Number(process.env.BENCH_ROUNDS || (QUICK ? 1 : 3));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 50);

async function startIssuer() {
  const { createTestIssuer } = require('@scopeguard/testing');
  return createTestIssuer({ algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'], audience: 'https://orders.example.com' });
}

/** Starts a contender server in its own process; resolves with { url, stats(), stop() }. */
function startContender(name, issuer, env = {}) {
  const child = spawn(process.execPath, [join(__dirname, 'servers.js'), name], {
    env: { ...process.env, ISSUER: issuer.issuer, AUDIENCE: issuer.audience, JWKS_URI: issuer.jwksUri, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => {
      const { port } = JSON.parse(line);
      const url = `http://127.0.0.1:${port}`;
      resolve({
        name,
        url,
        stats: () => fetch(`${url}/__stats`).then((res) => res.json()),
        stop: () => new Promise((done) => {
          child.once('exit', done);
          child.kill('SIGTERM');
        }),
      });
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

/** One autocannon run. `options` passes through (headers, requests, amount, duration). */
function load(url, options) {
  return new Promise((resolve, reject) => {
    const settings = { url, connections: CONNECTIONS, duration: DURATION, ...options };
    // A fixed number of requests (`amount`) replaces the duration.
    if (settings.amount !== undefined || settings.duration === undefined) delete settings.duration;
    const started = performance.now();
    autocannon(settings, (error, result) => {
      if (error) return reject(error);
      // Total over elapsed time, measured here: autocannon's per-second samples mislead for short runs.
      const seconds = (performance.now() - started) / 1000;
      resolve({
        rps: result.requests.total / seconds,
        total: result.requests.total,
        p50: result.latency.p50,
        p99: result.latency.p99,
        non2xx: result.non2xx,
        errors: result.errors + result.timeouts,
        statusCodes: result.statusCodeStats,
      });
    });
  });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/**
 * Measures contenders side by side: ROUNDS rounds, each running every contender once, in turn, so
 * that drift (thermal, other load) hits all alike. Returns medians per contender.
 */
async function alternate(contenders, requestFor, { warmup = true } = {}) {
  const runs = new Map(contenders.map((c) => [c.name, []]));
  if (warmup) for (const c of contenders) await load(`${c.url}/orders`, { ...requestFor(c), duration: 1 });
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of contenders) runs.get(c.name).push(await load(`${c.url}/orders`, requestFor(c)));
  }
  return contenders.map((c) => {
    const all = runs.get(c.name);
    return {
      name: c.name,
      rps: median(all.map((r) => r.rps)),
      p50: median(all.map((r) => r.p50)),
      p99: median(all.map((r) => r.p99)),
      non2xx: all.reduce((sum, r) => sum + r.non2xx, 0),
      errors: all.reduce((sum, r) => sum + r.errors, 0),
    };
  });
}

/** A fixed-width table. */
function table(title, header, rows) {
  const widths = header.map((h, i) => Math.max(String(h).length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ');
  return [`\n${title}`, line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const ratio = (a, b) => (b ? (a / b).toFixed(2) : 'n/a');
const fixed = (n, digits = 0) => Number(n).toFixed(digits);

module.exports = { QUICK, DURATION, ROUNDS, startIssuer, startContender, load, alternate, table, ratio, fixed, median };
