/**
 * Issue 18: two instances of the example API behind one public origin, sharing one real redis-server
 * (started here on a free port): A is the Nest app with the embedded authorization server, B the
 * Express app trusting A's issuer. Each is its own process with its own memory; only Redis is shared.
 * Run by `npm run test:redis` (which builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createDpopKey } from '@scopeguard/testing';
import { send, type TestResponse } from '../support/http';
import { startRedis, type TestRedis } from '../support/redis-server';
import { within } from '../support/within';

const MAIN = join(__dirname, '../../examples/orders-api/dist/main.js');
const PUBLIC = 'https://orders.example.com';

interface Instance {
  readonly child: ChildProcess;
  readonly api: string;
  readonly output: string[];
}

/** Starts the example (`--express` for B); resolves with its address once it listens. */
async function startInstance(args: string[], env: Record<string, string>): Promise<Instance & { issuer?: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, PORT: '0', AS_PORT: '0', CLOCK_TOLERANCE: '0', PUBLIC_BASE_URL: PUBLIC, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const lines = (stream: NodeJS.ReadableStream) => createInterface({ input: stream }).on('line', (line) => output.push(line));
  lines(child.stderr!);
  return new Promise((resolve, reject) => {
    let api: string | undefined;
    let issuer: string | undefined;
    lines(child.stdout!).on('line', (line) => {
      api ??= /listening on (http:\/\/\S+)/.exec(line)?.[1];
      issuer ??= /authorization server \(oidc-provider\) on (\S+)/.exec(line)?.[1];
      if (/^audience /.test(line) && api !== undefined) resolve({ child, api, output, ...(issuer && { issuer }) });
    });
    child.once('exit', (code) => reject(new Error(`the example exited with ${code}:\n${output.join('\n')}`)));
  });
}

async function stop(instance: Instance | undefined): Promise<void> {
  if (instance === undefined || instance.child.exitCode !== null) return;
  await new Promise((resolve) => {
    instance.child.once('exit', resolve);
    instance.child.kill('SIGTERM');
  });
}

let redis: TestRedis;
let a: Instance;
let b: Instance;
let issuer: string;

beforeAll(async () => {
  redis = await startRedis();
  const started = await startInstance([], { REDIS_URL: redis.url });
  a = started;
  issuer = started.issuer!;
  b = await startInstance(['--express'], { REDIS_URL: redis.url, ISSUER: issuer });
}, 60_000);
afterAll(async () => {
  await Promise.all([stop(b), stop(a)]);
  await redis.stop();
});

const CREDENTIALS: Record<string, string> = { 'orders-worker': 'worker-secret', 'orders-reporter': 'reporter-secret', 'orders-admin': 'admin-secret' };

/** A token from A's authorization server (client credentials), DPoP-bound when `dpop` is given. */
async function token(clientId: string, scope: string, dpop?: string): Promise<string> {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(dpop && { dpop }) },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: CREDENTIALS[clientId]!, scope }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`token endpoint: ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { jti: string; exp: number };
const bearer = (value: string) => ({ authorization: `Bearer ${value}` });
const orders = (instance: Instance, headers: Record<string, string>): Promise<TestResponse> => send(`${instance.api}/orders`, { headers });


describe('two instances (Nest A, Express B) sharing one Redis', () => {
  it('DPoP: a nonce B issued works on A; a proof used on A is refused on B', async () => {
    const key = await createDpopKey('ES256');
    const access = await token('orders-worker', 'orders.read', await key.proof({ method: 'POST', url: `${issuer}/token` }));
    const proof = (nonce?: string) => key.proof({ method: 'GET', url: `${PUBLIC}/orders`, accessToken: access, ...(nonce !== undefined && { nonce }) });

    const challenged = await orders(b, { authorization: `DPoP ${access}`, dpop: await proof() });
    expect(challenged.status).toBe(401);
    expect(challenged.headers['www-authenticate']).toContain('error="use_dpop_nonce"');
    const nonce = challenged.headers['dpop-nonce'] as string;
    expect(nonce).toBeTruthy();

    const used = await proof(nonce);
    expect((await orders(a, { authorization: `DPoP ${access}`, dpop: used })).status).toBe(200);
    const replayed = await orders(b, { authorization: `DPoP ${access}`, dpop: used });
    expect(replayed.status).toBe(401);
    expect(replayed.headers['www-authenticate']).toContain('error="invalid_dpop_proof"');
    expect((await orders(b, { authorization: `DPoP ${access}`, dpop: await proof(nonce) })).status).toBe(200); // a fresh proof is fine
  });

  it('a token revoked through A is refused by B within a second, though B had it cached as valid', async () => {
    const worker = await token('orders-worker', 'orders.read');
    expect((await orders(b, bearer(worker))).status).toBe(200);
    expect((await orders(a, bearer(worker))).status).toBe(200);
    const { jti, exp } = claimsOf(worker);
    const admin = await token('orders-admin', 'orders.admin');
    const revoked = await send(`${a.api}/admin/revocations`, { method: 'POST', headers: { ...bearer(admin), 'content-type': 'application/json' }, body: JSON.stringify({ jti, exp }) });
    expect(revoked.status).toBe(204);
    const took = await within(1000, async () => (await orders(b, bearer(worker))).status === 401);
    const refused = await orders(b, bearer(worker));
    expect(refused.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(refused.body).toMatchObject({ error: 'invalid_token' });
    expect((await orders(a, bearer(worker))).status).toBe(401);
    expect(took).toBeLessThan(1000);
  });

  it('a client deactivated through B is refused by A within a second, and admitted again once activated', async () => {
    const reporter = await token('orders-reporter', 'orders.read');
    expect((await orders(a, bearer(reporter))).status).toBe(200);
    const admin = await token('orders-admin', 'orders.admin');
    expect((await send(`${b.api}/admin/inactive-clients/orders-reporter`, { method: 'PUT', headers: bearer(admin) })).status).toBe(204);
    await within(1000, async () => (await orders(a, bearer(reporter))).status === 401);
    expect((await send(`${a.api}/admin/inactive-clients/orders-reporter`, { method: 'DELETE', headers: bearer(admin) })).status).toBe(204);
    await within(1000, async () => (await orders(b, bearer(reporter))).status === 200);
    expect((await orders(a, bearer(reporter))).status).toBe(200);
  });

  it('the admin routes need orders.admin, and an admin cannot deactivate its own client', async () => {
    const worker = await token('orders-worker', 'orders.read orders.write');
    const res = await send(`${a.api}/admin/inactive-clients/orders-reporter`, { method: 'PUT', headers: bearer(worker) });
    expect(res.status).toBe(403);
    const admin = await token('orders-admin', 'orders.admin');
    for (const instance of [a, b]) {
      const itself = await send(`${instance.api}/admin/inactive-clients/orders-admin`, { method: 'PUT', headers: bearer(admin) });
      expect(itself.status).toBe(400);
    }
    const late = await send(`${b.api}/admin/revocations`, { method: 'POST', headers: { ...bearer(admin), 'content-type': 'application/json' }, body: JSON.stringify({ jti: 'j', exp: 1e17 }) });
    expect(late.status).toBe(400);
  });

  it('Redis killed under load: 503 with Retry-After, no 500, no crash, no hang; both recover when it is back', async () => {
    const worker = await token('orders-worker', 'orders.read');
    const statuses = new Map<number | string, number>();
    let running = true;
    const load = async (instance: Instance) => {
      while (running) {
        const res = await orders(instance, bearer(worker)).catch((error: Error) => ({ status: `error ${error.message}`, headers: {} }) as unknown as TestResponse);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 503) expect(res.headers['retry-after']).toMatch(/^\d+$/);
      }
    };
    const loops = [...Array(4)].flatMap(() => [load(a), load(b)]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await redis.kill();
    // Both instances heard the subscription go, dropped their cached answers, and refuse with 503.
    await within(3000, async () => (await orders(a, bearer(worker))).status === 503 && (await orders(b, bearer(worker))).status === 503);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await redis.start();
    await within(10_000, async () => (await orders(a, bearer(worker))).status === 200 && (await orders(b, bearer(worker))).status === 200);
    running = false;
    await Promise.all(loops);

    expect([...statuses.keys()].sort()).toEqual([200, 503]); // nothing else: no 500, no connection error
    expect(a.child.exitCode).toBeNull();
    expect(b.child.exitCode).toBeNull();
    // And changes reach the other instance again.
    const admin = await token('orders-admin', 'orders.admin');
    const { jti, exp } = claimsOf(worker);
    expect((await send(`${b.api}/admin/revocations`, { method: 'POST', headers: { ...bearer(admin), 'content-type': 'application/json' }, body: JSON.stringify({ jti, exp }) })).status).toBe(204);
    await within(1000, async () => (await orders(a, bearer(worker))).status === 401);
  }, 60_000);
});
