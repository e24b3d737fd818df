import { Scopeguard, scopeRequirement, type Principal, type ScopeguardOptions } from '@scopeguard/core';
import { PRESETS, tokenFacts } from '@scopeguard/core/adapter';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});
afterAll(() => issuer.close());

function guard(options: Partial<ScopeguardOptions> = {}): Scopeguard {
  return new Scopeguard({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, ...options });
}

async function outcome(engine: Scopeguard, token: string, scopes?: string[]): Promise<string | Principal> {
  try {
    return await engine.admit({ authorization: `Bearer ${token}` }, scopes ? [scopeRequirement('all', scopes)] : []);
  } catch (error) {
    return `${(error as { status: number }).status} ${(error as { code: string }).code}`;
  }
}

describe('scope ∩ permission intersection', () => {
  const permissions = { 'orders-worker': ['orders.read', 'orders.write'], 'orders-reporter': ['orders.read'] };

  it('scope granted but permission missing → 403', async () => {
    const token = await issuer.mint({ clientId: 'orders-reporter', scope: 'orders.read orders.write' });
    expect(await outcome(guard({ permissions }), token, ['orders.write'])).toBe('403 ERR_INSUFFICIENT_SCOPE');
    const principal = (await outcome(guard({ permissions }), token)) as Principal;
    expect(principal.scopes).toEqual(['orders.read', 'orders.write']);
    expect(principal.permissions).toEqual(['orders.read']);
  });

  it('permission held but scope missing → 403', async () => {
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read' });
    expect(await outcome(guard({ permissions }), token, ['orders.write'])).toBe('403 ERR_INSUFFICIENT_SCOPE');
  });

  it('both → allowed', async () => {
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read orders.write' });
    expect(((await outcome(guard({ permissions }), token, ['orders.write'])) as Principal).clientId).toBe('orders-worker');
  });

  it('unknown service user, or a token without a client id → 403 even without a scope requirement', async () => {
    expect(await outcome(guard({ permissions }), await issuer.mint({ clientId: 'stranger', scope: 'orders.read' }))).toBe('403 ERR_UNKNOWN_CLIENT');
    expect(await outcome(guard({ permissions }), await issuer.mint({ claims: { client_id: undefined }, subject: 'x' }))).toBe('403 ERR_UNKNOWN_CLIENT');
    expect(await outcome(guard({ permissions }), await issuer.mint({ clientId: 'constructor' }))).toBe('403 ERR_UNKNOWN_CLIENT');
  });

  it('without permissions configured, effective = token scopes', async () => {
    const principal = (await outcome(guard(), await issuer.mint({ scope: 'a b' }))) as Principal;
    expect(principal.permissions).toEqual(['a', 'b']);
  });

  it('a scope can stand for a set of permissions (scopeMap)', async () => {
    const engine = guard({ permissions: { w: ['orders.read'] }, scopeMap: { 'orders.manage': ['orders.read', 'orders.write'] } });
    const principal = (await outcome(engine, await issuer.mint({ clientId: 'w', scope: 'orders.manage' }))) as Principal;
    expect(principal.permissions).toEqual(['orders.read']);
  });

  it('async resolver: used, cached for its ttl, asked again after', async () => {
    let calls = 0;
    let now = Date.now();
    const engine = guard({
      permissions: async (user) => {
        calls++;
        return user.clientId === 'w' ? ['a'] : undefined;
      },
      permissionLookup: { ttl: 30 },
      clock: () => now,
    });
    const token = await issuer.mint({ clientId: 'w', scope: 'a b' });
    await Promise.all([engine.verify(token), engine.verify(token), engine.verify(token)]);
    expect(((await outcome(engine, token)) as Principal).permissions).toEqual(['a']);
    expect(calls).toBe(1);
    now += 29_000;
    await engine.verify(token);
    expect(calls).toBe(1);
    now += 2_000;
    await engine.verify(token);
    expect(calls).toBe(2);
    expect(await outcome(engine, await issuer.mint({ clientId: 'x', scope: 'a' }))).toBe('403 ERR_UNKNOWN_CLIENT');
  });

  it('a resolver that throws or hangs fails closed with 503, and is asked again next time', async () => {
    let mode: 'throw' | 'hang' | 'ok' = 'throw';
    const engine = guard({
      permissions: () => {
        if (mode === 'throw') throw new Error('db down');
        if (mode === 'hang') return new Promise<string[]>(() => undefined);
        return ['a'];
      },
      permissionLookup: { timeoutMs: 100 },
    });
    const token = await issuer.mint({ clientId: 'w', scope: 'a' });
    expect(await outcome(engine, token)).toBe('503 ERR_PERMISSIONS_UNAVAILABLE');
    mode = 'hang';
    expect(await outcome(engine, token)).toBe('503 ERR_PERMISSIONS_UNAVAILABLE');
    mode = 'ok';
    expect(((await outcome(engine, token)) as Principal).permissions).toEqual(['a']);
  });
});

describe('verified-token cache', () => {
  it('caches a reused token from its second verification on, and returns the same frozen principal', async () => {
    const engine = guard();
    const token = await issuer.mint({ scope: 'a' });
    const request = { authorization: `Bearer ${token}` };
    expect(engine.admit(request)).toBeInstanceOf(Promise); // first sight: verified, not admitted to the cache yet
    const first = await engine.admit(request);
    expect(engine.admit(request)).toBe(first); // cached: answered synchronously, no promise
    const second = await engine.verify(token);
    expect(second).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.scopes)).toBe(true);
  });

  it('gives a new token deeply frozen claims and its own frozen audience, whatever the tokens before it named', async () => {
    // Two audiences of one API, in turns: the list of the last string audience is shared between tokens.
    const engine = guard({ audience: [issuer.audience, 'https://other.example.com'] });
    const audiences = [issuer.audience, issuer.audience, 'https://other.example.com', issuer.audience, ['https://other.example.com', 'https://x.example.com']];
    const principals: Principal[] = [];
    for (const aud of audiences) {
      const principal = await engine.verify(await issuer.mint({ claims: { aud, nested: { list: [{ deep: 1 }] } } }));
      principals.push(principal);
      expect(principal.audience).toEqual(typeof aud === 'string' ? [aud] : aud);
      expect(Object.isFrozen(principal.audience)).toBe(true);
      expect(Object.isFrozen(principal.claims)).toBe(true);
      const nested = principal.claims.nested as { list: Array<{ deep: number }> };
      expect([nested, nested.list, nested.list[0]].every((value) => Object.isFrozen(value))).toBe(true);
    }
    expect(principals.map((principal) => principal.audience)).toEqual(audiences.map((aud) => (typeof aud === 'string' ? [aud] : aud)));
  });

  it("reads facts of unvalidated claims (the CLI's) with a frozen audience of each one's own, never the last string's", () => {
    const read = (aud: unknown) => tokenFacts({ iss: 'https://as.example.com', aud, exp: 1 }, PRESETS.rfc9068, false).audience;
    expect(read('https://a.example.com')).toEqual(['https://a.example.com']);
    for (const aud of [5, null, { 0: 'https://a.example.com' }, '', ['https://a.example.com', 7]]) {
      const audience = read(aud);
      expect(audience).toEqual(typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : []);
      expect(Object.isFrozen(audience)).toBe(true);
    }
  });

  it('one-off tokens never fill the cache (doorkeeper admission)', async () => {
    const engine = guard();
    for (let i = 0; i < 50; i++) await engine.verify(await issuer.mint({ clientId: `once-${i}` }));
    expect(engine.stats().cachedTokens).toBe(0);
  });

  it('never serves a verdict past exp', async () => {
    let now = Date.now();
    const engine = guard({ clockTolerance: 0, clock: () => now });
    const token = await issuer.mint({ expiresIn: 60 });
    expect(await outcome(engine, token)).toHaveProperty('clientId');
    expect(await outcome(engine, token)).toHaveProperty('clientId'); // now cached
    now += 61_000;
    expect(await outcome(engine, token)).toBe('401 ERR_TOKEN_EXPIRED');
  });

  it("answers each request from its own cache lookup: a request refused after the lookup leaves nothing for the next", async () => {
    let now = Date.now();
    const engine = guard({ clockTolerance: 0, clock: () => now, tokenSources: ['header', 'query'] });
    const token = await issuer.mint({ expiresIn: 60 });
    expect(await outcome(engine, token)).toHaveProperty('clientId');
    expect(await outcome(engine, token)).toHaveProperty('clientId'); // now cached
    const refusal = async (request: object) => {
      try {
        await engine.admit(request);
      } catch (error) {
        return (error as { code: string }).code;
      }
      return 'admitted';
    };
    // Found in the cache by the header's lookup, then refused: a token in two places (RFC 6750 §2).
    expect(await refusal({ authorization: `Bearer ${token}`, query: { access_token: token } })).toBe('ERR_BEARER_MULTIPLE');
    now += 61_000;
    // The same token, read from the query (no lookup during extraction): judged now, past its exp.
    expect(await refusal({ query: { access_token: token } })).toBe('ERR_TOKEN_EXPIRED');
  });

  it('stays within its bound', async () => {
    const engine = guard({ tokenCache: { maxEntries: 5, maxBytes: 1024 * 1024 } });
    const twice = async (engine: Scopeguard, token: string) => {
      await engine.verify(token);
      await engine.verify(token);
    };
    for (let i = 0; i < 20; i++) await twice(engine, await issuer.mint({ clientId: `c${i}` }));
    expect(engine.stats().cachedTokens).toBe(5);
    const bytes = guard({ tokenCache: { maxEntries: 1000, maxBytes: 8 * 1024 } });
    for (let i = 0; i < 20; i++) await twice(bytes, await issuer.mint({ clientId: `c${i}` }));
    expect(bytes.stats().cachedBytes).toBeLessThanOrEqual(8 * 1024);
    expect(bytes.stats().cachedTokens).toBeLessThan(20);
    // An evicted token is simply verified again.
    expect(await outcome(engine, await issuer.mint({ clientId: 'c0' }))).toHaveProperty('clientId', 'c0');
  });

  it('finds entries by the signature tail but never answers for another token ending the same way', async () => {
    const engine = guard();
    const token = await issuer.mint({ scope: 'a' });
    await engine.verify(token);
    const cached = await engine.verify(token);
    expect(engine.admit({ authorization: `Bearer ${token}` })).toBe(cached); // held: answered synchronously
    const [header, , signature] = token.split('.') as [string, string, string];
    const tail = signature.slice(-16);
    // Another payload (more scopes) under a signature that ends like the cached one: verified, refused.
    const widened = await issuer.mint({ scope: 'a admin' });
    const forged = `${header}.${widened.split('.')[1]}.${signature.slice(0, -16)}${tail}`;
    expect(await outcome(engine, forged)).toBe('401 ERR_TOKEN_SIGNATURE');
    // Not a b64token, same tail: the syntax check still runs (only the exact cached string skips it).
    expect(await outcome(engine, `${header}.e30.%%%${tail}`)).toBe('400 ERR_BEARER_MALFORMED');
    // The refusals did not evict or replace the cached verdict.
    expect(engine.admit({ authorization: `Bearer ${token}` })).toBe(cached);
    expect(engine.stats().cachedTokens).toBe(1);
  });

  it('builds principals only itself: the constructor of a principal makes none for other code', async () => {
    const engine = guard();
    const principal = await engine.verify(await issuer.mint({ scope: 'a' }));
    const Forge = principal.constructor as new (...args: unknown[]) => Principal;
    expect(() => new Forge({ ...principal }, ['admin'], 'x', {})).toThrow(TypeError);
  });
});

describe('presets', () => {
  it('auth0: permissions claim, azp, gty', async () => {
    const engine = guard({ preset: 'auth0', requireClientCredentials: true });
    const token = await issuer.mint({ subject: 'abc@clients', claims: { client_id: undefined, azp: 'abc', gty: 'client-credentials', scope: 'read:a', permissions: ['read:b'] } });
    expect(await outcome(engine, token)).toMatchObject({ clientId: 'abc', scopes: ['read:a', 'read:b'] });
    const user = await issuer.mint({ subject: 'auth0|alice', claims: { client_id: undefined, azp: 'abc', scope: 'read:a' } });
    expect(await outcome(engine, user)).toBe('401 ERR_TOKEN_NOT_CLIENT');
  });

  it('entra: roles, azp, idtyp', async () => {
    const engine = guard({ preset: 'entra', requireClientCredentials: true });
    const app = await issuer.mint({ subject: 'oid-1', claims: { client_id: undefined, azp: 'app-1', oid: 'oid-1', idtyp: 'app', roles: ['Orders.Read'] } });
    expect(await outcome(engine, app)).toMatchObject({ clientId: 'app-1', scopes: ['Orders.Read'] });
    const user = await issuer.mint({ subject: 'u', claims: { client_id: undefined, azp: 'app-1', oid: 'o', idtyp: 'user', scp: 'Orders.Read' } });
    expect(await outcome(engine, user)).toBe('401 ERR_TOKEN_NOT_CLIENT');
  });

  it('okta: scp array and cid', async () => {
    const token = await issuer.mint({ subject: 'cid-1', claims: { client_id: undefined, cid: 'cid-1', scp: ['a', 'b'] } });
    expect(await outcome(guard({ preset: 'okta', requireClientCredentials: true }), token)).toMatchObject({ clientId: 'cid-1', scopes: ['a', 'b'] });
  });

  it('keycloak: service account tokens', async () => {
    const token = await issuer.mint({ subject: 'uuid-1', claims: { client_id: 'svc', azp: 'svc', preferred_username: 'service-account-svc', scope: 'a' } });
    expect(await outcome(guard({ preset: 'keycloak', requireClientCredentials: true }), token)).toMatchObject({ clientId: 'svc' });
    const user = await issuer.mint({ subject: 'uuid-2', claims: { client_id: undefined, azp: 'svc', preferred_username: 'alice', scope: 'a' } });
    expect(await outcome(guard({ preset: 'keycloak', requireClientCredentials: true }), user)).toBe('401 ERR_TOKEN_NOT_CLIENT');
  });

  it('scopeClaims can be configured', async () => {
    const token = await issuer.mint({ claims: { perms: ['x'] }, scope: 'y' });
    expect(await outcome(guard({ scopeClaims: ['perms'] }), token)).toMatchObject({ scopes: ['x'] });
  });
});
