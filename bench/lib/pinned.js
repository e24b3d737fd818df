'use strict';
/**
 * CPU per request on pinned cores, shared by `npm run bench` (scenario `pinned`) and
 * `bench/compare/pinned.js`. Each contender server runs in its own process pinned to one core
 * (`taskset`), the load generator (`wrk`, a C program, from Debian) on another, contenders alternating
 * over rounds. The figure that holds on a noisy machine is the server's own CPU time per request
 * (the scheduler's per-thread nanoseconds, see {@link cpuMicros}), reported beside req/s and p50/p99 with the spread over rounds.
 */
const { execFileSync, spawn } = require('node:child_process');
const { readFileSync, readdirSync, writeFileSync, mkdtempSync, rmSync } = require('node:fs');
const { cpus, tmpdir } = require('node:os');
const { createInterface } = require('node:readline');
const { join } = require('node:path');
const { median } = require('./harness');

const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
// Server on the last core, load generator on the first; one core: no pinning (and the report says so).
const PINNED = cpus().length >= 2;
const SERVER_CORE = String(cpus().length - 1);
const LOAD_CORE = '0';

/** Whether wrk can be run, installing it from Debian when missing and `install` (needs root). */
function ensureWrk({ install = true } = {}) {
  const works = () => {
    try {
      execFileSync('wrk', ['--version'], { stdio: 'ignore' });
      return true;
    } catch (error) {
      return error.code !== 'ENOENT'; // wrk --version exits 1 after printing its version
    }
  };
  if (works()) return true;
  if (!install) return false;
  try {
    console.error('installing wrk from Debian …');
    execFileSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'inherit' });
  } catch {
    return false;
  }
  return works();
}

const onCore = (core, command, args) => (PINNED ? ['taskset', ['-c', core, command, ...args]] : [command, args]);

/**
 * A contender server from bench/lib/servers.js of the checkout at `root`, on the server core;
 * `nodeArgs` go to node before the script (`--cpu-prof`, say).
 */
function startServer(root, name, issuer, env = {}, nodeArgs = []) {
  const [command, args] = onCore(SERVER_CORE, process.execPath, [...nodeArgs, join(root, 'bench/lib/servers.js'), name]);
  const child = spawn(command, args, {
    env: { ...process.env, ISSUER: issuer.issuer, AUDIENCE: issuer.audience, JWKS_URI: issuer.jwksUri, ...env },
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

/** Whether this kernel keeps the scheduler's per-thread accounting (CONFIG_SCHED_INFO), decided once for every reading. */
const SCHEDSTAT = (() => {
  try {
    return Number(readFileSync('/proc/self/schedstat', 'utf8').split(' ')[0]) > 0;
  } catch {
    return false;
  }
})();

/**
 * CPU time of a process so far, in µs: the time each of its threads ran, summed, from the
 * scheduler's nanosecond accounting (`/proc/<pid>/task/<tid>/schedstat`). utime + stime of
 * `/proc/<pid>/stat` is the same time cut to clock ticks (10 ms): on a 1-s run of Express (~6 000
 * requests) ±1.7 µs a request. The ticks are read only where the kernel has no schedstat. A thread
 * that exits between two readings takes its time with it; a server's threads (V8's, libuv's) do not.
 */
function cpuMicros(pid) {
  if (!SCHEDSTAT) {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_US; // utime, stime (fields 14, 15)
  }
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch (error) {
      if (error.code !== 'ENOENT' && error.code !== 'ESRCH') throw error; // that thread has just exited
    }
  }
  return ns / 1000;
}

/**
 * One wrk run. Asynchronous: the test issuer serving the key set lives in this process, and a server's
 * first JWKS fetch must not wait on a blocked event loop. `from`: where in the script's pool of
 * tokens the run starts (see {@link writeScript}).
 */
function wrk(url, script, duration, connections, from = 0) {
  const [command, args] = onCore(LOAD_CORE, 'wrk', ['-t1', `-c${connections}`, `-d${duration}s`, '--latency', '-s', script, url, '--', String(from)]);
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

let scripts = 0;

/**
 * A wrk script sending the token(s): one reused token, or a pool rotated per request. A pool may also
 * hold header sets (`{ authorization, dpop }`), sent as they are. The rotation starts at the pool's
 * index given after `--` (wrk's script arguments), so that a server's runs continue one rotation:
 * started over at the first token, each run of a slow contender (fewer requests than the verdict
 * cache's doorkeeper remembers) sent tokens that server had just seen, and they were cached.
 */
function writeScript(dir, tokens) {
  const file = join(dir, `requests-${++scripts}.lua`);
  const headers = (entry) => (typeof entry === 'string' ? { Authorization: `Bearer ${entry}` } : entry);
  const list = tokens.map((entry) => `{ ${Object.entries(headers(entry)).map(([name, value]) => `["${name}"] = "${value}"`).join(', ')} }`).join(',\n');
  writeFileSync(file, `local sets = {\n${list}\n}\nlocal i = 0\ninit = function(args)\n  i = (tonumber(args[1]) or 0) % #sets\nend\nrequest = function()\n  i = i % #sets + 1\n  return wrk.format("GET", nil, sets[i])\nend\n`);
  return file;
}

/**
 * Rounds and seconds per run, read as medians of per-round differences (see {@link against}): many
 * short rounds, so that the two runs of each difference are seconds apart and the host's drift (a
 * contender's own runs range over 2× on this machine kind's busy days) mostly cancels. In one run
 * each on 2026-12-08, an A/A of two builds with the same path (this build minus the other, per round)
 * read −0.2 µs (IQR −1.0…0.7) with 24 × 1 s against −2.4 (−10.8…13.1) with 8 × 3 s on a reused token
 * (Fastify), and +0.7 (−1.3…2.3) against +2.2 (−3.0…18.3) on unique tokens: the same seconds.
 */
const DEFAULT_ROUNDS = 24;
const DEFAULT_DURATION = 1;

/** One timed wrk run against a started contender: its CPU µs per request from the kernel. */
async function timedRun(c, requests, duration, connections) {
  const before = cpuMicros(c.pid);
  const run = await wrk(c.url, requests, duration, connections, c.sent);
  run.cpuPerRequest = (cpuMicros(c.pid) - before) / run.requests;
  c.sent += run.requests + connections; // and what was in flight when it stopped
  return run;
}

/**
 * Sets each row's `offsets` (per round, its offset from its family's root: the differences of the
 * steps up its chain of bases summed, their ratios multiplied) and `origin` (the root's name).
 * `baseOfRow` gives a row's base row (undefined for a root); each row's `steps` hold, per round, its
 * `added` CPU and req/s `ratio` against its base, measured at the same time.
 */
function chainOffsets(rows, baseOfRow, rounds) {
  for (const row of rows) {
    row.offsets = Array.from({ length: rounds }, () => ({ added: 0, ratio: 1 }));
    const seen = new Set([row]);
    let at = row;
    for (let base = baseOfRow(at); base !== undefined; at = base, base = baseOfRow(at)) {
      if (seen.has(base)) throw new Error(`the bases of ${row.name} form a circle`);
      seen.add(base);
      at.steps.forEach((step, i) => {
        row.offsets[i].added += step.added;
        row.offsets[i].ratio *= step.ratio;
      });
    }
    row.origin = at.name;
  }
}

/**
 * Measures `contenders` ([{ name, root }]) with `tokens` (one: reused; many: rotated per request).
 * `tokens` may be a function giving a fresh pool for each run (DPoP proofs are used once).
 *
 * By default contenders alternate, one at a time on the server core. With `baseOf` (a contender's
 * name → its base's name, or undefined for a family's root), each round runs every contender at the
 * same time as its base instead: two servers on the server core, two wrk on the load core, half the
 * connections each. Both then share one state of the machine, so their difference barely moves
 * (2026-12-07: one server's CPU went from 97 to 209 µs a request between rounds; the difference of
 * two run at once stayed within 2–11 µs, one after the other −10…63; an A/A pair read −0.4, IQR
 * −1.8…2.1). But the two servers take turns on one core, and each turn leaves the caches cold for the
 * other: that costs code that touches much memory far more than OpenSSL's arithmetic (scopeguard's own
 * functions on unique tokens: 21.7 µs a request profiled alone, 117 beside another server; unique
 * RS256 on Fastify +36.5 µs over the bare verify at once, +15…22 alone). So pairs suit an A/B of
 * two builds of one contender, not a goal against a floor: goals are read one at a time. Each
 * contender's offset from its family's root (summed differences, multiplied ratios, per round) lets
 * {@link against} compare any two rows of a family.
 * Returns a row per contender with medians and per-round values.
 */
async function measure(issuer, contenders, tokens, { rounds = DEFAULT_ROUNDS, duration = DEFAULT_DURATION, connections = 32, env = {}, baseOf } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'scopeguard-pinned-'));
  const fixed = typeof tokens === 'function' ? undefined : writeScript(dir, tokens);
  const script = async () => fixed ?? writeScript(dir, await tokens());
  const running = [];
  try {
    for (const c of contenders) running.push({ ...c, ...(await startServer(c.root, c.server ?? c.name, issuer, env)), runs: [], steps: [], sent: 0 });
    const byName = new Map(running.map((c) => [c.name, c]));
    const baseOfRow = (c) => (baseOf ? byName.get(baseOf(c.name)) : undefined);
    // A root no contender is measured beside runs alone.
    const bases = new Set(running.map(baseOfRow));
    for (const c of running) c.sent += (await wrk(c.url, await script(), 1, connections)).requests + connections; // warm-up: JIT, key set, caches
    for (let round = 0; round < rounds; round++) {
      // Each round in its own order (shuffled, the same shuffles every run): a contender's place in the
      // round moved its reading. With one fixed order, two builds of Koa read +5.5 µs (IQR 3.3…10.4) apart
      // with this build right after `koa:noop2`, and −0.9 (−1.6…−0.4) with the other build there
      // (2026-12-07, 10 rounds each). Reversing every other round was tried: the first and last then
      // follow themselves at every other round's start, the others never do.
      for (const c of shuffled(running, round)) {
        const base = baseOfRow(c);
        if (base === undefined) {
          if (!bases.has(c)) c.runs.push(await timedRun(c, await script(), duration, connections));
          continue;
        }
        const half = Math.max(1, Math.round(connections / 2));
        const [own, theirs] = await Promise.all([timedRun(c, await script(), duration, half), timedRun(base, await script(), duration, half)]);
        c.runs.push(own);
        base.runs.push(theirs);
        c.steps.push({ added: own.cpuPerRequest - theirs.cpuPerRequest, ratio: own.rps / theirs.rps });
      }
    }
    chainOffsets(running, baseOfRow, rounds);
  } finally {
    for (const c of running) c.child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  return running.map((c) => ({
    name: c.name,
    cpu: median(c.runs.map((r) => r.cpuPerRequest)),
    cpus: c.runs.map((r) => r.cpuPerRequest),
    rps: median(c.runs.map((r) => r.rps)),
    rpss: c.runs.map((r) => r.rps),
    p50: median(c.runs.map((r) => r.p50)),
    p99: median(c.runs.map((r) => r.p99)),
    non2xx: c.runs.reduce((sum, r) => sum + r.non2xx, 0),
    ...(baseOf && { origin: c.origin, offsets: c.offsets }),
  }));
}

/** `items` in an order of its own for each `seed` (Fisher–Yates on mulberry32): the same for every run. */
function shuffled(items, seed) {
  let state = (seed + 1) * 0x9e3779b9;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const order = [...items];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

const spread = (values, digits = 0) => `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;

/** The value at fraction `q` of `values` (linear between neighbours). */
function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  return sorted[low] + (sorted[Math.min(low + 1, sorted.length - 1)] - sorted[low]) * (at - low);
}

/**
 * `row` against `base`: the median of per-round differences (CPU µs per request) and ratios (req/s),
 * with their interquartile range. Rows measured beside their bases at once (measure's `baseOf`) and
 * of one family are compared through their offsets from the family's root, round by round; others
 * round by round as they alternated, which drift between rounds cannot move much either.
 * Measured 2026-12-06: medians of each contender's rounds, subtracted, did not resolve a few µs in
 * 5 rounds of 4 s; medians of per-round differences did in 8 of 3 s on a quiet day, not on a noisy one.
 */
function against(row, base) {
  let added;
  let ratios;
  if (row.offsets && base.offsets && row.origin === base.origin) {
    added = row.offsets.map((offset, i) => offset.added - base.offsets[i].added);
    ratios = row.offsets.map((offset, i) => offset.ratio / base.offsets[i].ratio);
  } else {
    const rounds = Math.min(row.cpus.length, base.cpus.length);
    added = Array.from({ length: rounds }, (_, i) => row.cpus[i] - base.cpus[i]);
    ratios = Array.from({ length: rounds }, (_, i) => row.rpss[i] / base.rpss[i]);
  }
  return {
    added: quantile(added, 0.5),
    addedSpread: [quantile(added, 0.25), quantile(added, 0.75)],
    ratio: quantile(ratios, 0.5),
    ratioSpread: [quantile(ratios, 0.25), quantile(ratios, 0.75)],
  };
}

const range = ([low, high], digits) => `${low.toFixed(digits)}…${high.toFixed(digits)}`;

/**
 * Table rows: req/s, latency, CPU µs/req (spread), and against `base` (a row name, or a function of
 * the row giving one): added CPU µs and the req/s ratio, each the median of per-round values with
 * its interquartile range.
 */
function rowsAgainst(results, baseOf) {
  return results.map((r) => {
    const base = results.find((other) => other.name === baseOf(r));
    const diff = base && base !== r ? against(r, base) : undefined;
    return [
      r.name,
      `${Math.round(r.rps)} (${spread(r.rpss)})`,
      Math.round(r.p50),
      Math.round(r.p99),
      `${r.cpu.toFixed(1)} (${spread(r.cpus, 1)})`,
      diff ? `${diff.added >= 0 ? '+' : ''}${diff.added.toFixed(1)} (${range(diff.addedSpread, 1)})` : '',
      diff ? `${diff.ratio.toFixed(2)} (${range(diff.ratioSpread, 2)})` : '',
      r.non2xx,
    ];
  });
}

const HEADER = ['contender', 'req/s (range)', 'p50 µs', 'p99 µs', 'CPU µs/req (range)', 'added µs (IQR)', '× base req/s (IQR)', 'non-2xx'];

/**
 * A target of `row` against `base` (rows of one measure() run): added CPU (`max`) or the req/s ratio
 * (`min`), as the bench's targets list prints them, with the interquartile range of the rounds.
 */
function goalAgainst(name, row, base, bound) {
  if (row === undefined || base === undefined) return undefined;
  const diff = against(row, base);
  return 'max' in bound
    ? { name, value: diff.added, spread: diff.addedSpread, unit: 'µs', ...bound }
    : { name, value: diff.ratio, spread: diff.ratioSpread, unit: '×', ...bound };
}

/** How the run was laid out, for a table's title; `paired`: each contender beside its base at once. */
const layout = (rounds, duration, connections, paired = false) =>
  `${PINNED ? `server${paired ? 's' : ''} on core ${SERVER_CORE}, wrk on core ${LOAD_CORE}` : 'one core: not pinned'}; ${rounds} rounds × ${duration} s, ${connections} connections${paired ? ', each contender at once beside its base (half the connections each)' : ''}; against the base: medians of per-round differences (IQR)`;

module.exports = { startServer, wrk, cpuMicros, writeScript, chainOffsets, DEFAULT_ROUNDS, DEFAULT_DURATION, ensureWrk, measure, rowsAgainst, against, range, goalAgainst, HEADER, layout, PINNED };
