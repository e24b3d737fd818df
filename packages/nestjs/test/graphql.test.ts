import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Field, GraphQLModule, ObjectType, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { Test } from '@nestjs/testing';
import { OptionalAuth, Principal, Public, RequireScopes, ScopeguardModule, type ScopeguardPrincipal } from '@scopeguard/nestjs';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { send } from '../../../test/support/http';

@ObjectType()
class Order {
  @Field()
  id!: string;

  @Field()
  client!: string;
}

@Resolver(() => Order)
class OrdersResolver {
  @RequireScopes('orders.read')
  @Query(() => [Order])
  orders(@Principal() principal: ScopeguardPrincipal): Order[] {
    return [{ id: '1', client: principal.clientId ?? '' }];
  }

  @Public()
  @Query(() => String)
  version(): string {
    return '1';
  }
}

let issuer: TestIssuer;
let app: INestApplication;
let url: string;

beforeAll(async () => {
  issuer = await createTestIssuer();
  const moduleRef = await Test.createTestingModule({
    imports: [
      GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true, context: ({ req, res }: { req: unknown; res: unknown }) => ({ req, res }) }),
      ScopeguardModule.forRoot({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, realm: 'orders', global: true }),
    ],
    providers: [OrdersResolver],
  }).compile();
  app = moduleRef.createNestApplication();
  app.useLogger(false);
  await app.listen(0, '127.0.0.1');
  url = `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/graphql`;
});
afterAll(async () => {
  await app?.close();
  await issuer?.close();
});

const query = (q: string, headers: Record<string, string> = {}) =>
  send(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: q }) });

describe('GraphQL resolvers', () => {
  it('lets a token with the scope through and gives the principal to the resolver', async () => {
    const token = await issuer.mint({ clientId: 'worker', scope: 'orders.read' });
    const res = await query('{ orders { id client } }', { authorization: `Bearer ${token}` });
    expect(res.body.data).toEqual({ orders: [{ id: '1', client: 'worker' }] });
  });

  it('refuses a missing token and a missing scope, with the challenge in the error', async () => {
    const missing = await query('{ orders { id } }');
    expect(missing.body.data).toBeNull();
    expect(missing.body.errors[0].message).toBe('no bearer token in the request');
    expect(missing.body.errors[0].extensions.scopeguard.challenge).toBe('Bearer realm="orders"');
    const token = await issuer.mint({ clientId: 'worker', scope: 'other' });
    const forbidden = await query('{ orders { id } }', { authorization: `Bearer ${token}` });
    expect(forbidden.body.data).toBeNull();
    expect(forbidden.body.errors[0].extensions.scopeguard.challenge).toContain('scope="orders.read"');
  });

  it('refusals are GraphQL errors with UNAUTHENTICATED / FORBIDDEN, the OAuth code and status, no stack, and no challenge header on a 200', async () => {
    const missing = await query('{ orders { id } }');
    expect(missing.status).toBe(200); // GraphQL over HTTP: execution errors come in a 200
    expect(missing.headers['www-authenticate']).toBeUndefined();
    const [unauthenticated] = missing.body.errors;
    expect(unauthenticated.extensions).toMatchObject({ code: 'UNAUTHENTICATED', status: 401, scopeguard: { code: 'ERR_BEARER_MISSING' } });
    expect(JSON.stringify(missing.body)).not.toMatch(/\.(ts|js):\d+/);
    const token = await issuer.mint({ clientId: 'worker', scope: 'other' });
    const forbidden = await query('{ orders { id } }', { authorization: `Bearer ${token}` });
    expect(forbidden.headers['www-authenticate']).toBeUndefined();
    expect(forbidden.body.errors[0].extensions).toMatchObject({ code: 'FORBIDDEN', status: 403, scopeguard: { code: 'ERR_INSUFFICIENT_SCOPE', error: 'insufficient_scope' } });
    expect(JSON.stringify(forbidden.body)).not.toMatch(/\.(ts|js):\d+/);
  });

  it('public queries need no token', async () => {
    expect((await query('{ version }')).body.data).toEqual({ version: '1' });
  });
});

describe('@RequireScopes on a @ResolveField', () => {
  @ObjectType()
  class Invoice {
    @Field()
    id!: string;

    @Field()
    amount!: string;
  }

  @Resolver(() => Invoice)
  class InvoicesResolver {
    @RequireScopes('invoices.read')
    @Query(() => [Invoice])
    invoices(): Invoice[] {
      return [{ id: '1', amount: '' }];
    }

    @RequireScopes('invoices.amounts')
    @ResolveField(() => String)
    amount(): string {
      return '42.00';
    }
  }

  const build = (enhancers?: ('guards' | 'interceptors' | 'filters')[]) =>
    Test.createTestingModule({
      imports: [
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          autoSchemaFile: true,
          context: ({ req, res }: { req: unknown; res: unknown }) => ({ req, res }),
          ...(enhancers && { fieldResolverEnhancers: enhancers }),
        }),
        ScopeguardModule.forRoot({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, global: true }),
      ],
      providers: [InvoicesResolver],
    }).compile();

  it("refuses to start when Nest would not run guards on field resolvers, and says how to fix it", async () => {
    const app = (await build()).createNestApplication();
    app.useLogger(false);
    await expect(app.init()).rejects.toThrow(/InvoicesResolver\.amount.*fieldResolverEnhancers: \['guards'\]/);
    await app.close().catch(() => undefined);
  });

  it("with fieldResolverEnhancers: ['guards'], the field's requirement is enforced", async () => {
    const app = (await build(['guards'])).createNestApplication();
    app.useLogger(false);
    await app.listen(0, '127.0.0.1');
    try {
      const endpoint = `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/graphql`;
      const ask = async (scope: string) =>
        (await send(endpoint, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await issuer.mint({ clientId: 'w', scope })}` }, body: JSON.stringify({ query: '{ invoices { id amount } }' }) })).body;
      expect((await ask('invoices.read invoices.amounts')).data).toEqual({ invoices: [{ id: '1', amount: '42.00' }] });
      const partial = await ask('invoices.read');
      expect(partial.errors[0].extensions.code).toBe('FORBIDDEN');
    } finally {
      await app.close();
    }
  });
});

@OptionalAuth()
@Resolver()
class SecretsResolver {
  @RequireScopes('admin.write')
  @Query(() => String)
  secret(): string {
    return 'secret';
  }
}

describe('@OptionalAuth() with scopes on a resolver', () => {
  it('refuses to start: resolvers are providers, and they are scanned too', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true, context: ({ req, res }: { req: unknown; res: unknown }) => ({ req, res }) }),
        ScopeguardModule.forRoot({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, permissions: 'token', global: true, warmStart: false }),
      ],
      providers: [SecretsResolver],
    }).compile();
    const secrets = moduleRef.createNestApplication({ logger: false });
    await expect(secrets.init()).rejects.toThrow(/SecretsResolver\.secret is @OptionalAuth\(\) and requires scopes/);
    await secrets.close();
  });
});

