import 'reflect-metadata';
import { Controller, Get, Injectable, Module, type INestApplication } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { Public, RequireScopes, Scopeguard, ScopeguardGuard, ScopeguardModule, type ScopeguardModuleOptions } from '@scopeguard/nestjs';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { send } from '../../../test/support/http';
import { ExplicitController, HealthController, MeController, OrdersController, RequestShapeController } from './fixtures';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});
afterAll(() => issuer.close());

const permissions = {
  worker: ['orders.read', 'orders.write'],
  reporter: ['orders.read'],
  admin: ['orders.read', 'orders.write', 'orders.admin'],
};

function options(extra: Partial<ScopeguardModuleOptions> = {}): ScopeguardModuleOptions {
  return { issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, realm: 'orders', permissions, ...extra };
}

/** Listens on 127.0.0.1:0 with a compiled testing module. */
async function serve(moduleRef: TestingModule, platform: 'express' | 'fastify' = 'express') {
  const app: INestApplication = platform === 'fastify' ? moduleRef.createNestApplication(new FastifyAdapter()) : moduleRef.createNestApplication();
  app.useLogger(false);
  await app.listen(0, '127.0.0.1');
  return { app, base: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

async function start(platform: 'express' | 'fastify', imports: unknown[], controllers: unknown[] = [OrdersController, HealthController, MeController, ExplicitController]) {
  return serve(await Test.createTestingModule({ imports: imports as never[], controllers: controllers as never[] }).compile(), platform);
}

const bearer = async (clientId: string, scope: string) => ({ authorization: `Bearer ${await issuer.mint({ clientId, scope })}` });

describe('what the guard leaves on the request', () => {
  it.each(['express', 'fastify'] as const)('%s: req.auth is the principal; on Express nothing is added to req (each property there costs µs)', async (platform) => {
    const { app, base } = await start(platform, [ScopeguardModule.forRoot({ ...options(), global: true })], [RequestShapeController]);
    try {
      const res = await send(`${base}/shape`, { headers: await bearer('reporter', 'orders.read') });
      expect(res.status).toBe(200);
      expect(res.body.client).toBe('reporter');
      if (platform === 'express') expect(res.body).toMatchObject({ ownAuth: false, ownSymbols: [] });
    } finally {
      await app.close();
    }
  });
});

describe.each(['express', 'fastify'] as const)('Nest guard on the %s platform', (platform) => {
  let app: INestApplication;
  let base: string;
  beforeAll(async () => {
    ({ app, base } = await start(platform, [ScopeguardModule.forRoot({ ...options(), global: true })]));
  });
  afterAll(() => app.close());

  it('class requirement applies to every method', async () => {
    const res = await send(`${base}/orders`, { headers: await bearer('reporter', 'orders.read') });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ client: 'reporter', permissions: ['orders.read'] });
    const none = await send(`${base}/orders`, { headers: await bearer('worker', 'orders.write') });
    expect(none.status).toBe(403);
    expect(none.headers['www-authenticate']).toContain('scope="orders.read"');
  });

  it('class AND method requirements both apply', async () => {
    const writeOnly = await send(`${base}/orders`, { method: 'POST', headers: await bearer('worker', 'orders.write') });
    expect(writeOnly.status).toBe(403);
    expect(writeOnly.headers['www-authenticate']).toContain('scope="orders.read"');
    const both = await send(`${base}/orders`, { method: 'POST', headers: await bearer('worker', 'orders.read orders.write') });
    expect(both.status).toBe(201);
  });

  it('the intersection: a granted scope the service user lacks gives 403', async () => {
    const res = await send(`${base}/orders`, { method: 'POST', headers: await bearer('reporter', 'orders.read orders.write') });
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="orders", error="insufficient_scope", error_description="the request requires more scopes than the client is granted", scope="orders.write"',
    );
    expect(res.body).toEqual({ error: 'insufficient_scope', error_description: 'the request requires more scopes than the client is granted' });
  });

  it('any-of on a method', async () => {
    expect((await send(`${base}/orders/7`, { method: 'DELETE', headers: await bearer('admin', 'orders.read orders.admin') })).status).toBe(200);
    const res = await send(`${base}/orders/7`, { method: 'DELETE', headers: await bearer('worker', 'orders.read orders.write') });
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toContain('scope="orders.admin orders.owner"');
  });

  it('@Public() on a method and a class; @Public(false) on a method wins over the class', async () => {
    expect((await send(`${base}/orders/catalog`)).status).toBe(200);
    expect((await send(`${base}/health`)).status).toBe(200);
    const details = await send(`${base}/health/details`);
    expect(details.status).toBe(401);
    expect(details.headers['www-authenticate']).toBe('Bearer realm="orders"');
    expect((await send(`${base}/health/details`, { headers: await bearer('worker', 'x') })).body).toEqual({ client: 'worker' });
  });

  it('undecorated routes need a valid token under the default policy; @Principal and @AccessToken', async () => {
    expect((await send(`${base}/me`)).status).toBe(401);
    const headers = await bearer('worker', 'nothing');
    const res = await send(`${base}/me`, { headers });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ client: 'worker', tokenLength: headers.authorization.length - 7 });
  });

  it('same statuses, challenges and bodies as the Express adapter', async () => {
    const malformed = await send(`${base}/me`, { headers: { authorization: 'Bearer a"b' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toBe('invalid_request');
    expect(malformed.headers['www-authenticate']).toMatch(/^Bearer realm="orders", error="invalid_request"/);
    const expired = await send(`${base}/me`, { headers: { authorization: `Bearer ${await issuer.mint({ clientId: 'worker', expiresIn: -60 })}` } });
    expect(expired.status).toBe(401);
    expect(expired.headers['www-authenticate']).toBe('Bearer realm="orders", error="invalid_token", error_description="the token has expired"');
    expect(expired.body).toEqual({ error: 'invalid_token', error_description: 'the token has expired' });
    const unknown = await send(`${base}/me`, { headers: await bearer('stranger', 'orders.read') });
    expect(unknown.status).toBe(403);
    expect(unknown.body.error).toBe('insufficient_scope');
  });
});

describe('module configuration', () => {
  it("defaultPolicy 'deny' refuses undecorated routes, still 401 without a token", async () => {
    const { app, base } = await start('express', [ScopeguardModule.forRoot({ ...options({ defaultPolicy: 'deny' }), global: true })]);
    try {
      expect((await send(`${base}/me`)).status).toBe(401);
      const res = await send(`${base}/me`, { headers: await bearer('worker', 'orders.read') });
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('insufficient_scope');
      expect((await send(`${base}/orders`, { headers: await bearer('worker', 'orders.read') })).status).toBe(200);
      expect((await send(`${base}/health`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('without global: only @UseGuards(ScopeguardGuard) routes are guarded', async () => {
    const { app, base } = await start('express', [ScopeguardModule.forRoot(options())]);
    try {
      expect((await send(`${base}/explicit`)).status).toBe(401);
      expect((await send(`${base}/explicit`, { headers: await bearer('worker', 'orders.read') })).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('forRootAsync with useFactory and inject (options from a config service)', async () => {
    @Injectable()
    class Config {
      get = (key: string) => ({ ISSUER: issuer.issuer, AUDIENCE: issuer.audience, JWKS: issuer.jwksUri })[key]!;
    }
    @Module({ providers: [Config], exports: [Config] })
    class ConfigModule {}
    const { app, base } = await start('express', [
      ScopeguardModule.forRootAsync({
        imports: [ConfigModule],
        inject: [Config],
        useFactory: (config: Config) => ({ issuer: config.get('ISSUER'), audience: config.get('AUDIENCE'), jwksUri: config.get('JWKS'), permissions }),
        global: true,
      }),
    ]);
    try {
      expect((await send(`${base}/orders`, { headers: await bearer('reporter', 'orders.read') })).status).toBe(200);
      expect((await send(`${base}/orders`)).status).toBe(401);
    } finally {
      await app.close();
    }
  });

  it('forRootAsync with useClass', async () => {
    @Injectable()
    class OptionsFactory {
      createScopeguardOptions(): ScopeguardModuleOptions {
        return options();
      }
    }
    const { app, base } = await start('express', [ScopeguardModule.forRootAsync({ useClass: OptionsFactory, global: true })]);
    try {
      expect((await send(`${base}/orders`, { headers: await bearer('reporter', 'orders.read') })).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('global: true returned by useFactory is not read there: start-up fails saying where it goes', async () => {
    await expect(
      Test.createTestingModule({
        imports: [ScopeguardModule.forRootAsync({ useFactory: () => ({ ...options(), global: true }) as unknown as ScopeguardModuleOptions })],
      }).compile(),
    ).rejects.toThrow('scopeguard: option "global" is not an engine option: on Nest, pass global: true to ScopeguardModule.forRoot() or forRootAsync() itself');
  });

  it('a wrong option fails at start-up with its name', async () => {
    await expect(
      Test.createTestingModule({ imports: [ScopeguardModule.forRoot({ ...options(), algorithms: ['HS256' as never], global: true })] }).compile(),
    ).rejects.toThrow(/algorithms/);
  });

  // A replaced guard stands in for authentication; @Principal() still only yields principals an
  // engine built, so the stand-in hands the route one (a foreign object would reach the route as undefined).
  const fakeGuard = (principal: unknown) => ({
    canActivate: (context: { switchToHttp: () => { getRequest: () => { auth: unknown } } }) => {
      context.switchToHttp().getRequest().auth = principal;
      return true;
    },
  });

  it('overrideProvider(ScopeguardGuard) replaces the global guard (APP_GUARD useExisting, nest #5821)', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ScopeguardModule.forRoot({ ...options(), global: true })],
      controllers: [OrdersController],
    })
      .overrideProvider(ScopeguardGuard)
      .useValue(fakeGuard(await new Scopeguard(options({ permissions: { overridden: ['orders.read'] } })).verify(await issuer.mint({ clientId: 'overridden', scope: 'orders.read' }))))
      .compile();
    const { app, base } = await serve(moduleRef);
    try {
      const res = await send(`${base}/orders`);
      expect(res.status).toBe(200);
      expect(res.body.client).toBe('overridden');
    } finally {
      await app.close();
    }
  });

  it('overrideGuard(ScopeguardGuard) replaces it where it is bound with @UseGuards', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ScopeguardModule.forRoot(options())], controllers: [ExplicitController] })
      .overrideGuard(ScopeguardGuard)
      .useValue(fakeGuard(undefined))
      .compile();
    const { app, base } = await serve(moduleRef);
    try {
      const res = await send(`${base}/explicit`);
      expect(res.status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('auditLog beside an async onDecision that rejects: both run, the rejection is ignored, nothing is dropped', async () => {
    const seen: string[] = [];
    const onDecision = async (event: { outcome: string }) => {
      seen.push(event.outcome);
      throw new Error('audit sink down');
    };
    const { app, base } = await start('express', [ScopeguardModule.forRoot({ ...options({ onDecision }), auditLog: true, global: true })]);
    try {
      expect((await send(`${base}/orders`)).status).toBe(401);
      expect((await send(`${base}/orders`, { headers: await bearer('reporter', 'orders.read') })).status).toBe(200);
      await new Promise((resolve) => setImmediate(resolve));
      expect(seen).toEqual(['refused', 'authenticated', 'allowed']);
    } finally {
      await app.close();
    }
  });

  it('a route that requires scopes is never public: @RequireScopes on a method of a @Public() controller requires the token', async () => {
    @Public()
    @Controller('mixed')
    class MixedController {
      @Get('open')
      open() {
        return { open: true };
      }

      @RequireScopes('orders.read')
      @Get('scoped')
      scoped() {
        return { scoped: true };
      }
    }
    const { app, base } = await start('express', [ScopeguardModule.forRoot({ ...options(), global: true })], [MixedController]);
    try {
      expect((await send(`${base}/mixed/open`)).status).toBe(200);
      expect((await send(`${base}/mixed/scoped`)).status).toBe(401);
      expect((await send(`${base}/mixed/scoped`, { headers: await bearer('reporter', 'orders.read') })).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('refuses rpc and ws contexts explicitly, never allows them', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ScopeguardModule.forRoot(options())] }).compile();
    const guard = moduleRef.get(ScopeguardGuard);
    class Handlers {
      handle() {
        return undefined;
      }
    }
    for (const type of ['rpc', 'ws']) {
      const context = new ExecutionContextHost([{ data: 1 }, {}], Handlers, Handlers.prototype.handle);
      context.setType(type);
      // Refused at once (a synchronous throw, which Nest turns into the transport's error).
      expect(() => guard.canActivate(context)).toThrow(new RegExp(`${type} handlers are refused`));
    }
  });
});

describe('the intersection, announced', () => {
  it('forRootAsync without permissions warns once through Nest’s Logger (context Scopeguard); a choice does not', async () => {
    const { Logger } = await import('@nestjs/common');
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const { permissions: _left, ...withoutPermissions } = options() as ScopeguardModuleOptions & { permissions?: unknown };
      const moduleRef = await Test.createTestingModule({
        imports: [ScopeguardModule.forRootAsync({ useFactory: () => withoutPermissions, global: true })],
      }).compile();
      moduleRef.get(Scopeguard);
      const notices = warn.mock.calls.map(([message]) => String(message)).filter((message) => message.includes('"permissions"'));
      expect(notices).toHaveLength(1);
      expect(notices[0]).toMatch(/token's scopes as they are/);
      warn.mockClear();
      await Test.createTestingModule({ imports: [ScopeguardModule.forRoot({ ...options(), permissions: 'token' })] }).compile();
      expect(warn.mock.calls.filter(([message]) => String(message).includes('"permissions"'))).toHaveLength(0);
    } finally {
      warn.mockRestore();
    }
  });
});
