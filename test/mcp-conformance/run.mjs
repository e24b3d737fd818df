#!/usr/bin/env node
/**
 * `npm run test:mcp-conformance`: the official MCP conformance suite (`@modelcontextprotocol/conformance`)
 * against the example's orders MCP server (examples/orders-api/dist/mcp.js) behind @scopeguard/mcp.
 *
 * - The suite needs Node 22; this machine has Node 20. npm's `node` package carries Node binaries. Both
 *   come pinned from runner/package-lock.json (Node 22.23.3, the suite's two releases as npm aliases and
 *   everything they depend on), installed with `npm ci` into runner/node_modules: a release elsewhere
 *   cannot change what runs here. `npm run test:drift` is where newer releases are tried.
 * - The suite's server scenarios send no `Authorization` header and it has no server-authorization
 *   scenario (its `auth/*` scenarios test clients). So each scenario runs twice over: once straight at
 *   the guarded server, where every scenario must fail on the 401 the guard answers (nothing gets past
 *   it without a token), and once through a forwarding proxy started here that adds a worker's token from
 *   the embedded authorization server (client credentials, resource = the MCP server), where the guard
 *   must let the protocol through untouched.
 * - Expected results are listed below with the reason for each scenario that fails through the proxy;
 *   the run fails on any other outcome.
 * Needs the npm registry (for npm ci). Builds first.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer, request } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const RUNNER = join(ROOT, 'test/mcp-conformance/runner');
const NODE22 = join(RUNNER, 'node_modules/node/bin/node');
/** The suite's entry point in the pinned runner (an npm alias per release: conformance-0.1, conformance-0.2). */
const suiteBin = (alias) => join(RUNNER, 'node_modules', alias, 'dist/index.js');

/**
 * The suites and the scenarios that apply to an orders server (the others need the suite's own
 * "everything" tools, prompts and resources). `through` is the expected outcome through the proxy.
 */
const RUNS = [
  {
    suite: 'conformance-0.1', // @modelcontextprotocol/conformance@0.1.16
    scenarios: {
      'server-initialize': { through: 'pass' },
      ping: { through: 'pass' },
      'tools-list': { through: 'pass' },
      'dns-rebinding-protection': { through: 'pass' },
    },
  },
  {
    suite: 'conformance-0.2', // @modelcontextprotocol/conformance@0.2.0-alpha.12
    scenarios: {
      'http-header-validation': { through: 'fail', why: 'SEP-2243 needs revision 2026-07-28, which SDK 1.x answers 400 "Unsupported protocol version" before any header case runs; see the guard alone below' },
    },
  },
  {
    // The guard alone: mcpGuard in front of a bare JSON-RPC answerer that speaks 2026-07-28 and never
    // refuses anything, so every refusal the scenario sees is the guard's, and every acceptance shows
    // the guard lets conforming traffic through.
    suite: 'conformance-0.2',
    target: 'guard-alone',
    scenarios: {
      'http-header-validation': { through: 'pass' },
    },
  },
];

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', ...options });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/** Starts dist/mcp.js with its embedded authorization server; resolves with its printed URLs. */
async function startMcp() {
  const child = spawn(process.execPath, [join(ROOT, 'examples/orders-api/dist/mcp.js')], {
    env: { ...process.env, PORT: '0', AS_PORT: '0', MCP_PORT: '0', LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const printed = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => line.startsWith('{') && resolve(JSON.parse(line)));
    child.once('exit', (code) => reject(new Error(`the MCP example exited with ${code}`)));
  });
  return { child, ...printed };
}

/** A worker's token for the MCP server, by the client credentials grant (RFC 6749 §4.4, RFC 8707). */
async function workerToken(issuer, resource) {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('orders-worker:worker-secret').toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'orders.read orders.write', resource }),
  });
  if (!res.ok) throw new Error(`token endpoint: ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
}

/**
 * A forwarding proxy to `target` that adds `Authorization: Bearer <token>` to every request, and keeps
 * the client's Host (as reverse proxies that preserve it do), so the example's Host check sees it.
 */
async function tokenProxy(target, token) {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const forwarded = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, authorization: `Bearer ${token}` } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => res.destroy());
    req.pipe(forwarded);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}${upstream.pathname}` };
}

/** Runs a command without blocking this process, which serves the proxy meanwhile. */
function runAsync(command, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

/** Runs one scenario; its checks from the suite's results directory (checks.json per scenario). */
async function scenario(suite, name, url) {
  const out = mkdtempSync(join(tmpdir(), 'mcp-conformance-'));
  try {
    const { status, output } = await runAsync(NODE22, [suiteBin(suite), 'server', '--url', url, '--scenario', name, '-o', out], 180_000);
    const checks = [];
    const walk = (dir) => {
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry);
        if (statSync(path).isDirectory()) walk(path);
        else if (entry === 'checks.json') checks.push(...JSON.parse(readFileSync(path, 'utf8')));
      }
    };
    walk(out);
    if (checks.length === 0) throw new Error(`${name}: no results from the suite (exit ${status})\n${output}`);
    return checks;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const counts = (checks) => {
  const by = (status) => checks.filter((check) => check.status === status).length;
  return `${by('SUCCESS')} passed, ${by('FAILURE')} failed, ${by('WARNING')} warnings, ${checks.length} checks`;
};

/**
 * mcpGuard (the built package) in front of a bare JSON-RPC answerer of revision 2026-07-28: one tool,
 * `echo`; results shaped as the schema asks. Tokens from the test kit's issuer.
 */
async function guardAlone() {
  const require = createRequire(import.meta.url);
  const express = require('express');
  const { mcpGuard } = require(join(ROOT, 'packages/mcp'));
  const { createTestIssuer } = require(join(ROOT, 'packages/testing'));
  const issuer = await createTestIssuer();
  const guard = mcpGuard({ ...issuer.options(), permissions: 'token', tools: { echo: ['echo.call'] }, logger: false });
  const app = express();
  app.post('/mcp', express.json(), guard, (req, res) => {
    const { id, method } = req.body;
    if (id === undefined) return res.status(202).end();
    const result =
      method === 'tools/list'
        ? { tools: [{ name: 'echo', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } }], ttlMs: 0, cacheScope: 'private' }
        : method === 'tools/call'
          ? { content: [{ type: 'text', text: 'echo' }] }
          : {};
    res.json({ jsonrpc: '2.0', id, result: { ...result, resultType: 'complete' } });
  });
  const server = createServer(app);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/mcp`;
  return { url, token: await issuer.mint({ scope: 'echo.call' }), close: async () => (server.close(), await issuer.close()) };
}

if (run(npm, ['run', 'build']).status !== 0) throw new Error('build failed');
const installed = run(npm, ['ci', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: RUNNER });
if (installed.status !== 0) throw new Error(`npm ci in ${RUNNER} failed\n${installed.output}`);
const { child, mcp, issuer } = await startMcp();
const targets = { example: { url: mcp, proxy: await tokenProxy(mcp, await workerToken(issuer, mcp)) } };
const alone = await guardAlone();
targets['guard-alone'] = { url: alone.url, proxy: await tokenProxy(alone.url, alone.token) };
const problems = [];
try {
  for (const { suite, scenarios, target = 'example' } of RUNS) {
    const { url, proxy } = targets[target];
    const { name: suiteName, version } = JSON.parse(readFileSync(join(RUNNER, 'node_modules', suite, 'package.json'), 'utf8'));
    console.log(`\n${suiteName}@${version}${target === 'example' ? '' : ` (${target})`}`);
    for (const [name, expected] of Object.entries(scenarios)) {
      // Without a token the guard answers 401 to the suite's first request: every scenario fails.
      const direct = await scenario(suite, name, url);
      const directPassed = direct.filter((check) => check.status === 'SUCCESS').length;
      // (A rebinding attempt is refused before the token is looked at: that check passes without one.)
      if (directPassed > (name === 'dns-rebinding-protection' ? 1 : 0)) problems.push(`${name}: ${directPassed} checks passed without a token`);
      const through = await scenario(suite, name, proxy.url);
      const failed = through.filter((check) => check.status === 'FAILURE');
      console.log(`  ${name}\n    no token:       ${counts(direct)}\n    worker token:   ${counts(through)}${expected.why ? `\n    expected:       ${expected.through} (${expected.why})` : ''}`);
      for (const check of failed) console.log(`      FAILURE ${check.name}: ${check.errorMessage ?? ''}`.slice(0, 400));
      if (expected.through === 'pass' && failed.length > 0) problems.push(`${name}: ${failed.length} checks failed with a token`);
      if (expected.through === 'fail' && failed.length === 0) problems.push(`${name}: expected to fail, passed (update the expectation)`);
    }
  }
} finally {
  for (const { proxy } of Object.values(targets)) proxy.server.close();
  await alone.close();
  child.kill('SIGTERM');
}
if (problems.length > 0) {
  console.error(`\nMCP conformance: ${problems.length} unexpected results\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log('\nMCP conformance: every result as expected');
