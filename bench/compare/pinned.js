'use strict';
/**
 * CPU per request on pinned cores: each contender server runs in its own process pinned to one core
 * (`taskset`), the load generator (`wrk`, a C program: installed from Debian when missing) on another,
 * contenders alternating over BENCH_ROUNDS rounds of BENCH_DURATION seconds. The figure that holds on a
 * noisy machine is the server's own CPU time per request (utime + stime from /proc/<pid>/stat), reported
 * beside req/s and p50/p99, with the spread over rounds.
 *   node bench/compare/pinned.js [reused|unique] [contender …]
 * Contenders are names of bench/lib/servers.js (express:none, express:noop2, express:props2,
 * express:scopeguard, express:auth0, express:passport, express:verify, nest-express:…, nest-fastify:…).
 * `unique`: every request carries a new RS256 token (a pool rotated by a wrk Lua script).
 * Another checkout's build: OTHER=/path/to/checkout adds its contenders as `before:<name>`.
 */
const { execFileSync, spawn } = require('node:child_process');
const { readFileSync, writeFileSync, mkdtempSync } = require('node:fs');
const { cpus, tmpdir } = require('node:os');
const { createInterface } = require('node:readline');
const { join, resolve } = require('node:path');
const { median, startIssuer } = require('../lib/harness');

const MODE = process.argv[2] === 'unique' ? 'unique' : 'reused';
const NAMES = process.argv.slice(process.argv[2] === 'unique' || process.argv[2] === 'reused' ? 3 : 2);
const DEFAULT = ['express:none', 'express:noop2', 'express:props2', 'express:scopeguard', 'express:auth0', 'express:passport', 'nest-fastify:none', 'nest-fastify:scopeguard'];
const ROUNDS = Number(process.env.BENCH_ROUNDS || 7);
const DURATION = Number(process.env.BENCH_DURATION || 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 32);
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
// Server on the last core, load generator on the first; one core: no pinning (and the report says so).
const pinned = cpus().length >= 2;
const SERVER_CORE = String(cpus().length - 1);
const LOAD_CORE = '0';

function ensureWrk() {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (error) {
    if (error.code !== 'ENOENT') return; // wrk --version exits 1 after printing its version
    console.error('installing wrk from Debian …');
    execFileSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'inherit' });
  }
}

const onCore = (core, command, args) => (pinned ? ['taskset', ['-c', core, command, ...args]] : [command, args]);

function startServer(root, name, issuer) {
  const [command, args] = onCore(SERVER_CORE, process.execPath, [join(root, 'bench/lib/servers.js'), name]);
  const child = spawn(command, args, {
    env: { ...process.env, ISSUER: issuer.issuer, AUDIENCE: issuer.audience, JWKS_URI: issuer.jwksUri },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((done, fail) => {
    createInterface({ input: child.stdout }).once('line', (line) => {
      const { port, pid } = JSON.parse(line);
      done({ url: `http://127.0.0.1:${port}/orders`, child, pid });
    });
    child.once('exit', (code) => fail(new Error(`${name} (${root}) exited with ${code}`)));
  });
}

/** CPU time of a process so far, in µs (user + system, from the kernel's accounting). */
function cpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US; // utime, stime (fields 14, 15)
}

/**
 * One wrk run. Asynchronous: the test issuer serving the key set lives in this process, and a server's
 * first JWKS fetch must not wait on a blocked event loop.
 */
function wrk(url, script, duration) {
  const [command, args] = onCore(LOAD_CORE, 'wrk', ['-t1', `-c${CONNECTIONS}`, `-d${duration}s`, '--latency', '-s', script, url]);
  return new Promise((done, fail) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.once('error', fail);
    child.once('exit', (code) => {
      if (code !== 0) return fail(new Error(`wrk exited with ${code}`));
      const number = (pattern) => Number(pattern.exec(out)?.[1] ?? NaN);
      const micros = (pattern) => {
        const match = pattern.exec(out);
        return match ? Number(match[1]) * { us: 1, ms: 1000, s: 1e6 }[match[2]] : NaN;
      };
      done({
        requests: number(/(\d+) requests in/),
        rps: number(/Requests\/sec:\s+([\d.]+)/),
        p50: micros(/50%\s+([\d.]+)(us|ms|s)/),
        p99: micros(/99%\s+([\d.]+)(us|ms|s)/),
        non2xx: number(/Non-2xx or 3xx responses: (\d+)/) || 0,
      });
    });
  });
}

/** A wrk script sending the token(s): one reused token, or a pool rotated per request. */
function writeScript(dir, tokens) {
  const file = join(dir, `tokens-${tokens.length}.lua`);
  const list = tokens.map((token) => `"${token}"`).join(',\n');
  writeFileSync(
    file,
    `local tokens = {\n${list}\n}\nlocal i = 0\nrequest = function()\n  i = i % #tokens + 1\n  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. tokens[i] })\nend\n`,
  );
  return file;
}

const spread = (values) => `${Math.round(Math.min(...values))}–${Math.round(Math.max(...values))}`;

(async () => {
  ensureWrk();
  const issuer = await startIssuer();
  const dir = mkdtempSync(join(tmpdir(), 'scopeguard-pinned-'));
  // Unique: enough tokens that none repeats within a run at these rates (the verdict cache admits a
  // token on its second sight, so a repeat would be a cache hit).
  const count = MODE === 'unique' ? Number(process.env.BENCH_TOKENS || 200_000) : 1;
  const tokens = [];
  // An hour's validity: minting a large pool and the rounds take minutes.
  for (let i = 0; i < count; i++) tokens.push(await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read orders.write', expiresIn: 3600, claims: { n: i } }));
  const script = writeScript(dir, tokens);
  const builds = [['', resolve(__dirname, '../..')], ...(process.env.OTHER ? [['before:', resolve(process.env.OTHER)]] : [])];
  const names = NAMES.length > 0 ? NAMES : MODE === 'unique' ? ['express:none', 'express:verify', 'express:scopeguard', 'express:auth0'] : DEFAULT;
  const contenders = [];
  try {
    for (const [prefix, root] of builds) for (const name of names) contenders.push({ name: `${prefix}${name}`, ...(await startServer(root, name, issuer)), runs: [] });
    for (const c of contenders) await wrk(c.url, script, 1); // warm-up: JIT, key set, caches
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of contenders) {
        const before = cpuMicros(c.pid);
        const run = await wrk(c.url, script, DURATION);
        run.cpuPerRequest = (cpuMicros(c.pid) - before) / run.requests;
        c.runs.push(run);
      }
    }
    console.log(`\n${MODE} token${MODE === 'unique' ? 's (a new RS256 token per request)' : ' (RS256)'}; ${pinned ? `server on core ${SERVER_CORE}, wrk on core ${LOAD_CORE}` : 'one core: not pinned'}; ${ROUNDS} rounds × ${DURATION} s, ${CONNECTIONS} connections; medians (spread over rounds)`);
    const header = ['contender', 'req/s', 'p50 µs', 'p99 µs', 'CPU µs/req', 'added µs', '× none', 'non-2xx'];
    const rows = contenders.map((c) => {
      const family = c.name.replace(/:[^:]+$/, '');
      const none = contenders.find((other) => other.name === `${family}:none`);
      const cpu = median(c.runs.map((r) => r.cpuPerRequest));
      const noneCpu = none ? median(none.runs.map((r) => r.cpuPerRequest)) : NaN;
      const rps = median(c.runs.map((r) => r.rps));
      return [
        c.name,
        `${Math.round(rps)} (${spread(c.runs.map((r) => r.rps))})`,
        Math.round(median(c.runs.map((r) => r.p50))),
        Math.round(median(c.runs.map((r) => r.p99))),
        `${cpu.toFixed(1)} (${c.runs.map((r) => r.cpuPerRequest.toFixed(1)).sort((a, b) => a - b)[0]}–${c.runs.map((r) => r.cpuPerRequest.toFixed(1)).sort((a, b) => b - a)[0]})`,
        none && none !== c ? `${(cpu - noneCpu).toFixed(1)}` : '',
        none && none !== c ? (rps / median(none.runs.map((r) => r.rps))).toFixed(2) : '',
        c.runs.reduce((sum, r) => sum + r.non2xx, 0),
      ];
    });
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
    const line = (cells) => cells.map((cell, i) => String(cell).padEnd(widths[i])).join('  ');
    console.log([line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
  } finally {
    for (const c of contenders) c.child.kill();
    await issuer.close();
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
