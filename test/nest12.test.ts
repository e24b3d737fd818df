/**
 * @scopeguard/nestjs on Nest 12, which is ESM-only: a plain ESM app (test/nest12/app.mjs) with its
 * own Nest 12 install loads the built package. The monorepo itself runs Nest 11 (CommonJS).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { send } from './support/http';

const app = join(__dirname, 'nest12');
let issuer: TestIssuer;
let child: ChildProcess;
let base: string;
let nestVersion: string;

/** Links the packages into the app so that, with --preserve-symlinks, they resolve @nestjs/* from it. */
function linkPackages(): void {
  const scope = join(app, 'node_modules', '@scopeguard');
  mkdirSync(scope, { recursive: true });
  for (const name of ['core', 'nestjs']) {
    const link = join(scope, name);
    if (!existsSync(link)) symlinkSync(join('..', '..', '..', '..', 'packages', name), link, 'dir');
  }
}

beforeAll(async () => {
  if (!existsSync(join(app, 'node_modules', '@nestjs', 'core'))) throw new Error('test/nest12 is not installed: run npm install at the root');
  linkPackages();
  issuer = await createTestIssuer();
  child = spawn(process.execPath, ['--preserve-symlinks', 'app.mjs'], {
    cwd: app,
    env: { ...process.env, ISSUER: issuer.issuer, AUDIENCE: issuer.audience, JWKS_URI: issuer.jwksUri },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`nest12 app exited with ${code}`)));
  });
  ({ url: base, nestUsedByScopeguard: nestVersion } = JSON.parse(line));
});

afterAll(async () => {
  child?.kill('SIGTERM');
  await issuer?.close();
});

describe('Nest 12 (ESM app)', () => {
  it('our package runs on the app’s Nest 12', () => {
    expect(nestVersion).toMatch(/^12\./);
  });

  it('guards routes with the global guard, class-level @RequireScopes and @Public', async () => {
    expect((await send(`${base}/orders/health`)).status).toBe(200);
    const missing = await send(`${base}/orders`);
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="orders"');
    const ok = await send(`${base}/orders`, { headers: { authorization: `Bearer ${await issuer.mint({ clientId: 'reporter', scope: 'orders.read' })}` } });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ client: 'reporter', permissions: ['orders.read'] });
    const forbidden = await send(`${base}/orders`, { headers: { authorization: `Bearer ${await issuer.mint({ clientId: 'reporter', scope: 'x' })}` } });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers['www-authenticate']).toContain('scope="orders.read"');
  });
});
