/**
 * The README's e2e recipe on an app's real AppModule, in `nest new`'s layout (supertest on
 * app.getHttpServer(), app.init()): the module's options are overridden with the test issuer's, the
 * app's own permissions and policy kept, and the production issuer is never contacted.
 */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SCOPEGUARD_OPTIONS } from '@scopeguard/nestjs';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import request from 'supertest';
import { AppModule, ConfiguredAppModule } from './app/app.module';
import { scopeguardOptions } from './app/scopeguard.options';

let issuer: TestIssuer;
const fetched: string[] = [];
const realFetch = globalThis.fetch;
beforeAll(async () => {
  issuer = await createTestIssuer({ audience: scopeguardOptions.audience });
  // Any request to the production issuer would be a test reaching the network.
  globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    fetched.push(String(input instanceof Request ? input.url : input));
    return realFetch(input, init);
  }) as typeof fetch;
});
afterAll(async () => {
  globalThis.fetch = realFetch;
  await issuer?.close();
});

describe.each([
  ['forRoot', AppModule],
  ['forRootAsync with ConfigService', ConfiguredAppModule],
])('the real AppModule (%s), its options overridden with the test issuer', (_, module) => {
  let app: INestApplication;
  beforeEach(async () => {
    fetched.length = 0;
    const moduleFixture = await Test.createTestingModule({ imports: [module] })
      .overrideProvider(SCOPEGUARD_OPTIONS)
      .useValue({ ...scopeguardOptions, ...issuer.options() })
      .compile();
    app = moduleFixture.createNestApplication({ logger: false });
    await app.init();
  });
  afterEach(async () => {
    await app?.close();
  });

  it('/ (GET) is public, as the app declared', () => request(app.getHttpServer()).get('/').expect(200).expect('Hello World!'));

  it("admits a test issuer's token with the app's own permissions", async () => {
    const res = await request(app.getHttpServer())
      .get('/orders')
      .set('Authorization', await issuer.bearer({ clientId: 'orders-reporter', scope: 'orders.read orders.write' }))
      .expect(200);
    expect(res.body).toEqual({ caller: 'orders-reporter', may: ['orders.read'] });
  });

  it("keeps the app's global guard and policy: no token is 401, an undecorated route 403 (deny)", async () => {
    const anonymous = await request(app.getHttpServer()).get('/orders').expect(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer( |$)/);
    await request(app.getHttpServer())
      .get('/undecorated')
      .set('Authorization', await issuer.bearer({ clientId: 'orders-worker', scope: 'orders.read' }))
      .expect(403);
  });

  it('refuses a client the app does not know, and never contacts the production issuer', async () => {
    await request(app.getHttpServer())
      .get('/orders')
      .set('Authorization', await issuer.bearer({ clientId: 'stranger', scope: 'orders.read' }))
      .expect(403);
    expect(fetched.filter((url) => url.includes('auth.example.com'))).toEqual([]);
    expect(issuer.requests.jwks).toBe(0);
  });
});

it('without the override, the real module would fetch the production issuer (why the recipe overrides it)', async () => {
  fetched.length = 0;
  globalThis.fetch = (async (input: Parameters<typeof fetch>[0]) => {
    fetched.push(String(input instanceof Request ? input.url : input));
    throw new TypeError('fetch failed');
  }) as typeof fetch;
  const moduleFixture = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleFixture.createNestApplication({ logger: false });
  try {
    await app.init();
    expect(fetched.some((url) => url.startsWith('https://auth.example.com/'))).toBe(true);
  } finally {
    await app.close();
  }
});
