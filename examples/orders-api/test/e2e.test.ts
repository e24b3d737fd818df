/**
 * End to end through the real token endpoint of the embedded oidc-provider: the example is started
 * as `npm start` starts it (PORT=0, so ports are ephemeral), once as NestJS and once as Express.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ClientCredentialsClient, TokenRequestError } from '../src/client';
import { send } from '../../../test/support/http';
import { createDpopKey } from '@scopeguard/testing';

interface Running {
  api: string;
  as: string;
  child: ChildProcess;
  /** Everything the example printed (stdout and stderr), line by line. */
  output: string[];
}

const main = join(__dirname, '..', 'dist', 'main.js');

function start(args: string[], env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, [main, ...args], { env: { ...process.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));
  return new Promise((resolve, reject) => {
    let api: string | undefined;
    let as: string | undefined;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      api ??= /listening on (\S+)/.exec(line)?.[1];
      as ??= /authorization server \(oidc-provider\) on (\S+)/.exec(line)?.[1];
      if (api && as) resolve({ api, as, child, output });
    });
    child.once('exit', (code) => reject(new Error(`example exited with ${code}`)));
  });
}

async function token(as: string, clientId: string, secret: string, scope: string, method: 'client_secret_basic' | 'client_secret_post', resource?: string): Promise<string> {
  return new ClientCredentialsClient({ tokenEndpoint: `${as}/token`, clientId, clientSecret: secret, authMethod: method, scope, ...(resource && { resource }) }).accessToken();
}

const worker = (as: string, scope = 'orders.read orders.write') => token(as, 'orders-worker', 'worker-secret', scope, 'client_secret_basic');
const reporter = (as: string, scope = 'orders.read orders.write') => token(as, 'orders-reporter', 'reporter-secret', scope, 'client_secret_basic');
const admin = (as: string) => token(as, 'orders-admin', 'admin-secret', 'orders.read orders.write orders.admin', 'client_secret_post');
const bearer = (value: string) => ({ authorization: `Bearer ${value}` });
const json = (value: string) => ({ 'content-type': 'application/json', authorization: `Bearer ${value}` });

let untrusted: Running;
beforeAll(async () => {
  // A second, independent authorization server (its own keys and issuer), with 3-second tokens.
  untrusted = await start(['--express'], { ACCESS_TOKEN_TTL: '3', CLOCK_TOLERANCE: '0' });
}, 30_000);
afterAll(() => untrusted?.child.kill('SIGTERM'));

describe.each([
  ['NestJS', []],
  ['Express', ['--express']],
])('orders API (%s) with the embedded authorization server', (_name, args) => {
  let app: Running;
  beforeAll(async () => {
    app = await start(args as string[]);
  }, 30_000);
  afterAll(() => app?.child.kill('SIGTERM'));

  it('the worker can write and read', async () => {
    const value = await worker(app.as);
    const created = await send(`${app.api}/orders`, { method: 'POST', headers: json(value), body: JSON.stringify({ item: 'widget', quantity: 2 }) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ item: 'widget', quantity: 2, status: 'pending', createdBy: 'orders-worker' });
    const listed = await send(`${app.api}/orders`, { headers: bearer(value) });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual(expect.arrayContaining([expect.objectContaining({ id: created.body.id })]));
    const patched = await send(`${app.api}/orders/${created.body.id}`, { method: 'PATCH', headers: json(value), body: JSON.stringify({ status: 'shipped' }) });
    expect(patched.body.status).toBe('shipped');
  });

  it('the reporter, whose token carries orders.write, gets 403 with scope="orders.write"', async () => {
    const value = await reporter(app.as);
    const claims = JSON.parse(Buffer.from(value.split('.')[1]!, 'base64url').toString());
    expect(claims.scope).toBe('orders.read orders.write');
    expect((await send(`${app.api}/orders`, { headers: bearer(value) })).status).toBe(200);
    const res = await send(`${app.api}/orders`, { method: 'POST', headers: json(value), body: JSON.stringify({ item: 'x', quantity: 1 }) });
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toContain('error="insufficient_scope"');
    expect(res.headers['www-authenticate']).toContain('scope="orders.write"');
  });

  it('the admin can delete; the worker cannot', async () => {
    const created = await send(`${app.api}/orders`, { method: 'POST', headers: json(await worker(app.as)), body: JSON.stringify({ item: 'gone', quantity: 1 }) });
    const denied = await send(`${app.api}/orders/${created.body.id}`, { method: 'DELETE', headers: bearer(await worker(app.as)) });
    expect(denied.status).toBe(403);
    expect(denied.headers['www-authenticate']).toContain('scope="orders.admin"');
    expect((await send(`${app.api}/orders/${created.body.id}`, { method: 'DELETE', headers: bearer(await admin(app.as)) })).status).toBe(204);
    expect((await send(`${app.api}/orders/${created.body.id}`, { headers: bearer(await admin(app.as)) })).status).toBe(404);
  });

  it('RS tokens are RFC 9068 JWTs for this API', async () => {
    const [header, payload] = (await worker(app.as)).split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part!, 'base64url').toString()));
    expect(header).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
    expect(payload).toMatchObject({ iss: app.as, aud: 'https://orders.example.com', client_id: 'orders-worker', sub: 'orders-worker' });
  });

  it('wrong audience, tampered and untrusted-issuer tokens get 401', async () => {
    const billing = await token(app.as, 'orders-worker', 'worker-secret', '', 'client_secret_basic', 'https://billing.example.com');
    const wrongAudience = await send(`${app.api}/orders`, { headers: bearer(billing) });
    expect(wrongAudience.status).toBe(401);
    expect(wrongAudience.headers['www-authenticate']).toContain('error="invalid_token"');

    const [h, p, s] = (await worker(app.as, 'orders.read')).split('.');
    const widened = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), scope: 'orders.read orders.admin' })).toString('base64url');
    const tampered = await send(`${app.api}/orders`, { headers: bearer(`${h}.${widened}.${s}`) });
    expect(tampered.status).toBe(401);

    const foreign = await send(`${app.api}/orders`, { headers: bearer(await worker(untrusted.as)) });
    expect(foreign.status).toBe(401);
  });

  it('DPoP: a token bound at the real token endpoint works with proofs, never as a bearer token', async () => {
    const key = await createDpopKey('ES256');
    const tokenEndpoint = `${app.as}/token`;
    const issued = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: {
        dpop: await key.proof({ method: 'POST', url: tokenEndpoint }),
        authorization: `Basic ${Buffer.from('orders-worker:worker-secret').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=orders.read',
    });
    const { access_token: token, token_type: type } = (await issued.json()) as { access_token: string; token_type: string };
    expect(type).toBe('DPoP');
    const url = `${app.api}/orders`;
    const proof = () => key.proof({ method: 'GET', url, accessToken: token });
    expect((await send(url, { headers: { authorization: `DPoP ${token}`, dpop: await proof() } })).status).toBe(200);
    const replay = await proof();
    await send(url, { headers: { authorization: `DPoP ${token}`, dpop: replay } });
    const replayed = await send(url, { headers: { authorization: `DPoP ${token}`, dpop: replay } });
    expect(replayed.status).toBe(401);
    expect(replayed.body.error).toBe('invalid_dpop_proof');
    const asBearer = await send(url, { headers: bearer(token) });
    expect(asBearer.status).toBe(401);
    expect(asBearer.headers['www-authenticate']).toContain('DPoP algs=');
  });

  it('logs one line per decision: method, route, client, status and code, never the token', async () => {
    const value = await reporter(app.as);
    const before = app.output.length;
    await send(`${app.api}/orders`, { headers: bearer(value) });
    await send(`${app.api}/orders/1`, { method: 'PATCH', headers: json(value), body: '{"status":"shipped"}' });
    await send(`${app.api}/orders`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const lines = app.output.slice(before);
    expect(lines).toEqual([
      expect.stringMatching(/GET \/orders client=orders-reporter allowed orders\.read\b/),
      expect.stringMatching(/PATCH \/orders\/:id client=orders-reporter 403 ERR_INSUFFICIENT_SCOPE needs orders\.write: /),
      expect.stringMatching(/GET \/orders 401 ERR_BEARER_MISSING: /),
    ]);
    expect(app.output.join('\n')).not.toContain(value.split('.')[2]);
  });

  it('bad input gets a clear 400, never a 500', async () => {
    const value = await worker(app.as);
    const badJson = await send(`${app.api}/orders`, { method: 'POST', headers: json(value), body: '{"item":' });
    // Both front doors answer alike.
    expect([badJson.status, badJson.body]).toEqual([400, { error: 'bad_request', message: 'the body is not valid JSON' }]);
    const missing = await send(`${app.api}/orders`, { method: 'POST', headers: json(value), body: JSON.stringify({ item: 'x' }) });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toMatch(/quantity/);
    expect((await send(`${app.api}/health`)).body).toEqual({ status: 'ok' });
    expect((await send(`${app.api}/orders`)).headers['www-authenticate']).toBe('Bearer realm="orders-api", DPoP algs="ES256 EdDSA RS256 PS256"');
  });
});

describe('the printed curl lines', () => {
  let app: Running;
  beforeAll(async () => {
    app = await start([]);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the lines are printed after the URLs
  }, 30_000);
  afterAll(() => app?.child.kill('SIGTERM'));

  /** The command lines printed under "Try it", sections 1 to 4, as one bash script. */
  const script = () => {
    const from = app.output.findIndex((line) => line.startsWith('Try it'));
    const lines = app.output.slice(from + 1);
    const end = lines.findIndex((line) => line.includes('# 5.'));
    return lines.slice(0, end).filter((line) => line.trim() !== '' && !line.trim().startsWith('#')).join('\n');
  };
  const run = (text: string) => {
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    try {
      return { out: execFileSync('bash', ['-c', text], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }), err: '' };
    } catch (error) {
      return { out: String((error as { stdout?: string }).stdout ?? ''), err: String((error as { stderr?: string }).stderr ?? '') };
    }
  };
  const statuses = (out: string) => [...out.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => Number(match[1]));

  it('work, and work again when pasted a second time (the order they change is the one they created)', () => {
    for (let paste = 0; paste < 2; paste++) {
      const { out } = run(script());
      expect(out).toMatch(/created order \S+/);
      // list 200; reporter: list 200, PATCH 403; admin DELETE 204; no token 401, bad token 401, health 200
      expect(statuses(out)).toEqual([200, 200, 403, 204, 401, 401, 200]);
      expect(out).toMatch(/scope="orders.write"/);
    }
  });

  it('npm run worker follows PORT and AS_PORT, and a failed token request says so', () => {
    const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
    const worker = join(__dirname, '..', 'dist', 'worker.js');
    const env = { ...process.env, PORT: new URL(app.api).port, AS_PORT: new URL(app.as).port };
    const ok = spawnSync(process.execPath, [worker], { env, encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/POST \/orders → 201/);
    expect(ok.stdout).toMatch(/token requests: 1 /);
    const refused = spawnSync(process.execPath, [worker], { env: { ...env, CLIENT_SECRET: 'wrong' }, encoding: 'utf8' });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/token endpoint answered 401 invalid_client/);
  });

  it('a failed token request stops the line that would send its token, saying so', () => {
    const { out, err } = run(script().split('\n')[0]!.replace('worker-secret', 'wrong-secret') + '\ncurl -s -o /dev/null -w "%{http_code}" ' + app.api + '/orders -H "Authorization: Bearer ${TOKEN:?the token request failed}"');
    expect(err).toMatch(/TOKEN: the token request failed/);
    expect(out).toBe('');
  });
});

describe('opaque tokens introspected at the real authorization server (OPAQUE_TOKENS=1)', () => {
  let app: Running;
  beforeAll(async () => {
    app = await start([], { OPAQUE_TOKENS: '1' });
  }, 30_000);
  afterAll(() => app?.child.kill('SIGTERM'));

  it('an opaque token is introspected, and the intersection still applies', async () => {
    const token = await reporter(app.as);
    expect(token.split('.')).toHaveLength(1);
    expect((await send(`${app.api}/orders`, { headers: bearer(token) })).status).toBe(200);
    const res = await send(`${app.api}/orders`, { method: 'POST', headers: json(token), body: JSON.stringify({ item: 'x', quantity: 1 }) });
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toContain('scope="orders.write"');
    expect((await send(`${app.api}/orders`, { headers: bearer('not-a-token-the-server-issued') })).status).toBe(401);
  });
});

describe('tokens and the worker client', () => {
  it('an expired token gets 401 invalid_token', async () => {
    const value = await worker(untrusted.as);
    expect((await send(`${untrusted.api}/orders`, { headers: bearer(value) })).status).toBe(200);
    // exp is at most 3 s after minting (whole seconds): 3.2 s later it has passed.
    await new Promise((resolve) => setTimeout(resolve, 3200));
    const res = await send(`${untrusted.api}/orders`, { headers: bearer(value) });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toContain('error_description="the token has expired"');
  });

  it('the worker client gets one token and reuses it', async () => {
    const app = await start([]);
    try {
      const client = new ClientCredentialsClient({ tokenEndpoint: `${app.as}/token`, clientId: 'orders-worker', clientSecret: 'worker-secret', scope: 'orders.read' });
      for (let i = 0; i < 5; i++) expect((await client.call(`${app.api}/orders`)).status).toBe(200);
      await Promise.all([client.call(`${app.api}/orders`), client.call(`${app.api}/orders`)]);
      expect(client.tokenRequests).toBe(1);
      const wrong = new ClientCredentialsClient({ tokenEndpoint: `${app.as}/token`, clientId: 'orders-worker', clientSecret: 'nope' });
      await expect(wrong.accessToken()).rejects.toThrow(TokenRequestError);
    } finally {
      app.child.kill('SIGTERM');
    }
  });

  it('renews a token shortly before it expires', async () => {
    const client = new ClientCredentialsClient({ tokenEndpoint: `${untrusted.as}/token`, clientId: 'orders-worker', clientSecret: 'worker-secret', scope: 'orders.read' });
    await client.accessToken();
    await client.accessToken();
    expect(client.tokenRequests).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1600)); // 3 s token: renewed after half its life
    await client.accessToken();
    expect(client.tokenRequests).toBe(2);
  });
});
