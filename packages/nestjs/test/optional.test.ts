/** @OptionalAuth() on Nest (issue 16), on both platforms. */
import 'reflect-metadata';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { OptionalAuth, Principal, RequireScopes, ScopeguardModule, type ScopeguardPrincipal } from '@scopeguard/nestjs';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { send } from '../../../test/support/http';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});
afterAll(() => issuer.close());

@Controller('catalog')
class CatalogController {
  @OptionalAuth()
  @Get()
  list(@Principal() principal: ScopeguardPrincipal | undefined) {
    return { caller: principal?.clientId ?? null };
  }

  @Get('private')
  mine(@Principal() principal: ScopeguardPrincipal) {
    return { caller: principal.clientId };
  }
}

@Controller('bad')
class ContradictoryController {
  @OptionalAuth()
  @RequireScopes('orders.read')
  @Get()
  both() {
    return {};
  }
}

async function boot(controllers: unknown[], platform: 'express' | 'fastify' = 'express', defaultPolicy?: 'deny') {
  const moduleRef = await Test.createTestingModule({
    imports: [ScopeguardModule.forRoot({ ...issuer.options(), permissions: 'token', global: true, warmStart: false, ...(defaultPolicy && { defaultPolicy }) })],
    controllers: controllers as never[],
  }).compile();
  const app: INestApplication = platform === 'fastify' ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false }) : moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, base: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

describe.each(['express', 'fastify'] as const)('@OptionalAuth() on %s', (platform) => {
  let app: INestApplication;
  let base: string;
  beforeAll(async () => {
    // Under defaultPolicy 'deny' too: an optional route is a decision, not a forgotten decorator.
    ({ app, base } = await boot([CatalogController], platform, 'deny'));
  });
  afterAll(() => app.close());

  it('serves anonymous callers with no principal, and the caller when a valid token is sent', async () => {
    expect((await send(`${base}/catalog`)).body).toEqual({ caller: null });
    expect((await send(`${base}/catalog`, { headers: { authorization: `Bearer ${await issuer.mint({ clientId: 'orders-worker' })}` } })).body).toEqual({ caller: 'orders-worker' });
  });

  it('refuses an invalid token instead of ignoring it; other routes still need one', async () => {
    const expired = await send(`${base}/catalog`, { headers: { authorization: `Bearer ${await issuer.mint({ expiresIn: -3600 })}` } });
    expect(expired.status).toBe(401);
    expect(String(expired.headers['www-authenticate'])).toContain('invalid_token');
    expect((await send(`${base}/catalog/private`)).status).toBe(401);
  });
});

it('refuses to start with a route that is both @OptionalAuth() and scoped', async () => {
  await expect(boot([ContradictoryController])).rejects.toThrow(/ContradictoryController\.both is @OptionalAuth\(\) and requires scopes/);
});
