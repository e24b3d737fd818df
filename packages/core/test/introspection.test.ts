import { Scopeguard, scopeRequirement, type ScopeguardOptions } from '@scopeguard/core';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';

let issuer: TestIssuer;
beforeEach(async () => {
  issuer = await createTestIssuer({ introspection: { clientId: 'orders-api', clientSecret: 's3cret' } });
});
afterEach(() => issuer.close());

function guard(extra: Partial<ScopeguardOptions> = {}, method: 'client_secret_basic' | 'client_secret_post' = 'client_secret_basic'): Scopeguard {
  return new Scopeguard({
    issuer: issuer.issuer,
    audience: issuer.audience,
    jwksUri: issuer.jwksUri,
    introspection: { endpoint: issuer.introspectionEndpoint!, clientId: 'orders-api', clientSecret: 's3cret', authMethod: method },
    ...extra,
  } as ScopeguardOptions);
}

async function outcome(engine: Scopeguard, token: string): Promise<string> {
  try {
    const principal = await engine.verify(token);
    return `ok ${principal.clientId} ${principal.permissions.join(',')}`;
  } catch (error) {
    return `${(error as { status: number }).status} ${(error as { code: string }).code}`;
  }
}

describe('opaque tokens through introspection (RFC 7662)', () => {
  it.each(['client_secret_basic', 'client_secret_post'] as const)('an active token yields the same principal (%s)', async (method) => {
    const token = issuer.mintOpaque({ clientId: 'worker', scope: 'orders.read orders.write' });
    expect(await outcome(guard({}, method), token)).toBe('ok worker orders.read,orders.write');
  });

  it('applies the intersection like for JWTs', async () => {
    const engine = guard({ permissions: { worker: ['orders.read'] } });
    const request = { authorization: `Bearer ${issuer.mintOpaque({ clientId: 'worker', scope: 'orders.read orders.write' })}` };
    const principal = await engine.admit(request);
    expect(principal.permissions).toEqual(['orders.read']);
    expect(() => engine.admit(request, [scopeRequirement('all', ['orders.write'])])).toThrow(/more scopes/);
  });

  it('inactive, unknown and revoked tokens get 401; the wrong audience too', async () => {
    const live = guard();
    expect(await outcome(live, 'not-a-known-token')).toBe('401 ERR_TOKEN_INACTIVE');
    const revoked = issuer.mintOpaque();
    issuer.revoke(revoked);
    expect(await outcome(live, revoked)).toBe('401 ERR_TOKEN_INACTIVE');
    expect(await outcome(live, issuer.mintOpaque({ expiresIn: -10 }))).toBe('401 ERR_TOKEN_INACTIVE');
    expect(await outcome(live, issuer.mintOpaque({ audience: 'https://other.example' }))).toBe('401 ERR_TOKEN_CLAIM');
    expect(await outcome(live, issuer.mintOpaque({ issuer: 'https://evil.example' }))).toBe('401 ERR_TOKEN_CLAIM');
  });

  it('caches active answers (by hash) and asks once for concurrent requests', async () => {
    const engine = guard();
    const token = issuer.mintOpaque({ clientId: 'worker', scope: 'a' });
    await Promise.all([engine.verify(token), engine.verify(token), engine.verify(token)]);
    const first = await engine.verify(token);
    expect(engine.admit({ authorization: `Bearer ${token}` })).toBe(first); // synchronously, from the cache
    expect(issuer.requests.introspection).toBe(1);
    expect(engine.stats().introspections).toBe(1);
  });

  it('an endpoint that fails is a 503, never cached, never an allow', async () => {
    const token = issuer.mintOpaque({ clientId: 'worker' });
    const wrongSecret = new Scopeguard({
      issuer: issuer.issuer,
      audience: issuer.audience,
      introspection: { endpoint: issuer.introspectionEndpoint!, clientId: 'orders-api', clientSecret: 'wrong' },
    });
    expect(await outcome(wrongSecret, token)).toBe('503 ERR_INTROSPECTION_UNAVAILABLE');
    issuer.outage({ scope: 'all' });
    const engine = guard();
    expect(await outcome(engine, token)).toBe('503 ERR_INTROSPECTION_UNAVAILABLE');
    issuer.recover();
    expect(await outcome(engine, token)).toBe('ok worker ');
  });

  it('JWTs of the same issuer are still verified locally', async () => {
    const engine = guard();
    expect(await outcome(engine, await issuer.mint({ clientId: 'jwt-client' }))).toBe('ok jwt-client ');
    expect(issuer.requests.introspection).toBe(0);
  });
});
