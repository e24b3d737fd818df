import 'reflect-metadata';
import { Controller, Get, Injectable, Req, UseGuards, type INestApplication } from '@nestjs/common';
import { AuthGuard, PassportModule } from '@nestjs/passport';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { Principal, RequireScopes, ScopeguardGuard, ScopeguardModule, type ScopeguardPrincipal } from '@scopeguard/nestjs';
import { ScopeguardStrategy } from '@scopeguard/nestjs/passport';
import { createTestIssuer, signCompact, type TestIssuer } from '@scopeguard/testing';
import { generateKeyPair } from 'jose';
import passportRegistry from 'passport';
import { send } from '../../../test/support/http';

@Controller()
class RoutesController {
  @UseGuards(AuthGuard('scopeguard'))
  @Get('passport')
  viaPassport(@Principal() principal: ScopeguardPrincipal) {
    return { client: principal.clientId };
  }

  @UseGuards(ScopeguardGuard)
  @Get('guard')
  viaGuard(@Principal() principal: ScopeguardPrincipal) {
    return { client: principal.clientId };
  }

  // Passport authenticates, the guard then only authorizes the principal Passport found.
  @UseGuards(AuthGuard('scopeguard'), ScopeguardGuard)
  @RequireScopes('orders.read')
  @Get('passport-scoped')
  scoped(@Principal() principal: ScopeguardPrincipal) {
    return { client: principal.clientId };
  }
}

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});
afterAll(() => issuer.close());

describe.each(['express', 'fastify'] as const)('Passport strategy on %s', (platform) => {
  let app: INestApplication;
  let base: string;
  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        PassportModule,
        ScopeguardModule.forRoot({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, realm: 'orders', permissions: { worker: ['orders.read'] } }),
      ],
      controllers: [RoutesController],
      providers: [ScopeguardStrategy],
    }).compile();
    app = platform === 'fastify' ? moduleRef.createNestApplication(new FastifyAdapter()) : moduleRef.createNestApplication();
    app.useLogger(false);
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(() => app.close());

  it('gives the same status, challenge and body as the guard for every kind of request', async () => {
    const attacker = await generateKeyPair('RS256');
    const now = Math.floor(Date.now() / 1000);
    const cases: Record<string, Record<string, string>> = {
      valid: { authorization: `Bearer ${await issuer.mint({ clientId: 'worker', scope: 'orders.read' })}` },
      missing: {},
      basic: { authorization: 'Basic dXNlcjpwYXNz' },
      malformed: { authorization: 'Bearer a"b' },
      empty: { authorization: 'Bearer ' },
      expired: { authorization: `Bearer ${await issuer.mint({ clientId: 'worker', expiresIn: -60 })}` },
      wrongAudience: { authorization: `Bearer ${await issuer.mint({ clientId: 'worker', audience: 'https://other' })}` },
      forged: { authorization: `Bearer ${await signCompact({ alg: 'RS256', kid: issuer.kids[0] }, { iss: issuer.issuer, aud: issuer.audience, exp: now + 60, client_id: 'worker' }, attacker.privateKey)}` },
      unknownClient: { authorization: `Bearer ${await issuer.mint({ clientId: 'stranger' })}` },
      alg_none: { authorization: `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(`{"exp":${now + 60}}`).toString('base64url')}.` },
    };
    for (const [name, headers] of Object.entries(cases)) {
      const viaGuard = await send(`${base}/guard`, { headers });
      const viaPassport = await send(`${base}/passport`, { headers });
      const pick = (res: typeof viaGuard) => ({ status: res.status, challenge: res.headers['www-authenticate'], body: res.body });
      expect({ name, ...pick(viaPassport) }).toEqual({ name, ...pick(viaGuard) });
    }
    expect((await send(`${base}/guard`, { headers: cases.valid })).body).toEqual({ client: 'worker' });
    expect((await send(`${base}/passport`, { headers: cases.missing })).headers['www-authenticate']).toBe('Bearer realm="orders"');
  });

  it('combines with ScopeguardGuard for scope requirements', async () => {
    const read = { authorization: `Bearer ${await issuer.mint({ clientId: 'worker', scope: 'orders.read' })}` };
    expect((await send(`${base}/passport-scoped`, { headers: read })).status).toBe(200);
    const none = { authorization: `Bearer ${await issuer.mint({ clientId: 'worker', scope: 'other' })}` };
    const res = await send(`${base}/passport-scoped`, { headers: none });
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toContain('scope="orders.read"');
  });
});

/** An app's strategy whose validate() knows only some clients. */
@Injectable()
class KnownClientsStrategy extends ScopeguardStrategy {
  override validate(principal: ScopeguardPrincipal): unknown {
    return principal.clientId === 'worker' ? { name: 'the worker' } : undefined;
  }
}

/** "Optional authentication": an AuthGuard that lets a request through without a user instead of throwing. */
@Injectable()
class OptionalAuthGuard extends AuthGuard('scopeguard') {
  override handleRequest<TUser>(_error: unknown, user: TUser): TUser {
    return user;
  }
}

@Controller()
class KnownClientsController {
  @UseGuards(AuthGuard('scopeguard'))
  @Get('me')
  me(@Req() req: { user?: unknown }) {
    return req.user;
  }

  // The guard after an optional Passport stage must not take a client validate() refused as admitted.
  @UseGuards(OptionalAuthGuard, ScopeguardGuard)
  @RequireScopes('orders.read')
  @Get('optional')
  optional(@Principal() principal: ScopeguardPrincipal | undefined) {
    return { client: principal?.clientId ?? null };
  }
}

describe.each(['express', 'fastify'] as const)('a validate() that returns no user, on %s', (platform) => {
  let app: INestApplication;
  let base: string;
  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [PassportModule, ScopeguardModule.forRoot({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, realm: 'orders' })],
      controllers: [KnownClientsController],
      providers: [KnownClientsStrategy],
    }).compile();
    app = platform === 'fastify' ? moduleRef.createNestApplication(new FastifyAdapter()) : moduleRef.createNestApplication();
    app.useLogger(false);
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    passportRegistry.use('scopeguard', app.get(KnownClientsStrategy) as never);
  });
  afterAll(() => app.close());

  it('maps the principal for a known client', async () => {
    const res = await send(`${base}/me`, { headers: { authorization: `Bearer ${await issuer.mint({ clientId: 'worker' })}` } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ name: 'the worker' });
  });

  it('a client validate() refused is not admitted by a guard after an optional Passport stage', async () => {
    const known = await send(`${base}/optional`, { headers: { authorization: `Bearer ${await issuer.mint({ clientId: 'worker', scope: 'orders.read' })}` } });
    expect(known.status).toBe(200);
    expect(known.body).toEqual({ client: 'worker' });
    const stranger = await send(`${base}/optional`, { headers: { authorization: `Bearer ${await issuer.mint({ clientId: 'stranger', scope: 'orders.read' })}` } });
    expect(stranger.status).not.toBe(200);
  });

  it('refuses an unknown client with a challenge, as the engine refuses an unknown service user', async () => {
    const res = await send(`${base}/me`, { headers: { authorization: `Bearer ${await issuer.mint({ clientId: 'stranger' })}` } });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('insufficient_scope');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="orders", error="insufficient_scope", error_description="[^"]+"$/);
  });
});
