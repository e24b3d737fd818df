/**
 * The same Hono app guarded by @scopeguard/hono (app/app.mjs), served by Node, Deno, Bun and workerd
 * (Cloudflare Workers' runtime), all from their npm packages, each in its own process on 127.0.0.1.
 * Tokens come from @scopeguard/testing (RS256 and ES256), the key set from a Node test issuer. Every
 * runtime must answer exactly as Node does: status, challenge and body, for 200, 401, 403 and 503.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';

const ROOT = join(__dirname, '..', '..');
const APP = join(__dirname, 'app');
const RUNTIMES = ['node', 'deno', 'bun', 'workerd'] as const;
type Runtime = (typeof RUNTIMES)[number];

/** The binaries inside the registry packages (no download at install or run time). */
function binary(runtime: Exclude<Runtime, 'node'>): string {
  if (runtime === 'workerd') return (require('workerd') as { default: string }).default;
  if (runtime === 'deno') return [join(ROOT, 'node_modules/deno/deno'), join(ROOT, 'node_modules/@deno/linux-x64-glibc/deno')].find(existsSync)!;
  // Bun's postinstall moves its binary into bun/bin/bun.exe; without it, the platform package has it.
  const moved = join(ROOT, 'node_modules/bun/bin/bun.exe');
  return existsSync(moved) && statSync(moved).size > 1e6 ? moved : join(ROOT, 'node_modules/@oven/bun-linux-x64/bin/bun');
}

/** workerd resolves no packages: the worker is bundled with esbuild, picking the package's `workerd` entry. */
async function bundleWorker(dir: string): Promise<void> {
  const esbuild = require('esbuild') as typeof import('esbuild');
  await esbuild.build({
    entryPoints: [join(APP, 'worker.mjs')],
    outfile: join(dir, 'worker.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    logLevel: 'error',
  });
  writeFileSync(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # The key set is served on 127.0.0.1: workerd's default network allows public addresses only.
    (name = "internet", network = (allow = ["public", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "worker.mjs", esModule = embed "worker.mjs") ],
  compatibilityDate = "2026-11-01",
  bindings = [
    (name = "ISSUER", fromEnvironment = "ISSUER"),
    (name = "AUDIENCE", fromEnvironment = "AUDIENCE"),
    (name = "JWKS_URI", fromEnvironment = "JWKS_URI"),
    (name = "DOWN_JWKS_URI", fromEnvironment = "DOWN_JWKS_URI"),
  ],
  globalOutbound = "internet",
);
`,
  );
}

interface Running {
  base: string;
  child: ChildProcess;
}

/** Starts `runtime` serving the app; resolves once it listens (each prints its port, workerd on fd 3). */
async function start(runtime: Runtime, env: Record<string, string>, dir: string): Promise<Running> {
  const environment = { ...process.env, ...env, DENO_NO_UPDATE_CHECK: '1', DENO_DIR: join(dir, 'deno') };
  let child: ChildProcess;
  let lines: Readable;
  if (runtime === 'workerd') {
    child = spawn(binary('workerd'), ['serve', join(dir, 'config.capnp'), '--control-fd=3'], { cwd: dir, env: environment, stdio: ['ignore', 'inherit', 'inherit', 'pipe'] });
    lines = child.stdio[3] as Readable;
  } else {
    const args: Record<Runtime, [string, string[]]> = {
      node: [process.execPath, [join(APP, 'node.mjs')]],
      // Offline and confined: packages from node_modules only, network to 127.0.0.1 only.
      deno: [binary('deno'), ['run', '--no-remote', '--no-lock', '--allow-net=127.0.0.1', `--allow-read=${ROOT}`, '--allow-env', join(APP, 'deno.mjs')]],
      // --no-install: Bun would otherwise fetch a missing package from the registry by itself.
      bun: [binary('bun'), ['run', '--no-install', join(APP, 'bun.mjs')]],
      workerd: ['', []],
    };
    const [command, argv] = args[runtime];
    child = spawn(command, argv, { cwd: ROOT, env: environment, stdio: ['ignore', 'pipe', 'inherit'] });
    lines = child.stdout!;
  }
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${runtime} did not listen within 30 s`)), 30_000);
    child.once('exit', (code) => reject(new Error(`${runtime} exited with ${code}`)));
    createInterface({ input: lines }).on('line', (line) => {
      const message = JSON.parse(line) as { port?: number; event?: string };
      if (message.port !== undefined) {
        clearTimeout(timer);
        resolve(message.port);
      }
    });
  });
  return { base: `http://127.0.0.1:${port}`, child };
}

async function stop({ child }: Running): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

/** A port nothing listens on: fetching a key set there fails at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Answer {
  status: number;
  challenge: string | null;
  retryAfter: boolean;
  body: unknown;
}

async function ask(base: string, path: string, token?: string, method = 'GET'): Promise<Answer> {
  const response = await fetch(`${base}${path}`, { method, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  return { status: response.status, challenge: response.headers.get('www-authenticate'), retryAfter: response.headers.has('retry-after'), body: await response.json() };
}

let issuer: TestIssuer;
let dir: string;
const servers = new Map<Runtime, Running>();

beforeAll(async () => {
  issuer = await createTestIssuer({ algorithms: ['RS256', 'ES256'], audience: 'https://orders.example.com' });
  dir = mkdtempSync(join(tmpdir(), 'scopeguard-runtimes-'));
  await bundleWorker(dir);
  const env = { ISSUER: issuer.issuer, AUDIENCE: issuer.audience, JWKS_URI: issuer.jwksUri, DOWN_JWKS_URI: `http://127.0.0.1:${await closedPort()}/jwks` };
  const started = await Promise.allSettled(RUNTIMES.map(async (runtime) => servers.set(runtime, await start(runtime, env, dir))));
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
}, 90_000);

afterAll(async () => {
  await Promise.all([...servers.values()].map(stop));
  await issuer?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every case, with what it must answer (checked on Node, then compared across runtimes). */
const CASES: Record<string, { path: string; method?: string; token?: () => Promise<string>; status: number }> = {
  'RS256 token with the scope': { path: '/orders/list', token: () => issuer.mint({ alg: 'RS256', clientId: 'orders-worker', scope: 'orders.read' }), status: 200 },
  'ES256 token with the scope': { path: '/orders/list', token: () => issuer.mint({ alg: 'ES256', clientId: 'orders-worker', scope: 'orders.read' }), status: 200 },
  'no token': { path: '/orders/list', status: 401 },
  'tampered signature': { path: '/orders/list', token: async () => `${(await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read' })).slice(0, -6)}AAAAAA`, status: 401 },
  'expired token': { path: '/orders/list', token: () => issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', expiresIn: -3600 }), status: 401 },
  'token without the scope': { path: '/orders/list', token: () => issuer.mint({ alg: 'ES256', clientId: 'orders-worker', scope: 'orders.write' }), status: 403 },
  'scope the service user does not hold': { path: '/orders/list', token: () => issuer.mint({ clientId: 'stranger', scope: 'orders.read' }), status: 403 },
  'write route with read scope only': { path: '/orders/new', method: 'POST', token: () => issuer.mint({ clientId: 'orders-worker', scope: 'orders.read' }), status: 403 },
  'key set unreachable': { path: '/down/orders', token: () => issuer.mint({ clientId: 'orders-worker', scope: 'orders.read' }), status: 503 },
};

describe.each(RUNTIMES)('a Hono app guarded by scopeguard on %s', (runtime) => {
  it('verifies with the crypto of its entry: WebCrypto on workerd, node:crypto on Node, Bun and Deno', async () => {
    const { body } = await ask(servers.get(runtime)!.base, '/platform');
    expect(body).toEqual({ crypto: runtime === 'workerd' ? 'web' : 'node' });
  });

  it.each(Object.keys(CASES))('%s: answered as on Node', async (name) => {
    const { path, method, token, status } = CASES[name]!;
    const sent = token && (await token());
    const here = await ask(servers.get(runtime)!.base, path, sent, method);
    const onNode = await ask(servers.get('node')!.base, path, sent, method);
    expect(here.status).toBe(status);
    expect(here).toEqual(onNode);
    if (status === 503) expect(here.retryAfter).toBe(true);
    if (status === 401 || status === 403) expect(here.challenge).toMatch(/^Bearer realm="/);
  });
});
