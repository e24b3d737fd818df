/**
 * Several issuers, issuers not known at start-up (patterns confirmed by isTrusted), pinned keys, and
 * the intersection as a visible choice.
 */
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Scopeguard, ScopeguardConfigError, type ScopeguardOptions } from '@scopeguard/core';
import { resolveOptions } from '@scopeguard/core/adapter';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { codeOf } from '../../../test/support/outcome';

/** An EC key pair with a JWK for the published set; signs ES256 tokens with node:crypto. */
function ecKey(kid: string = randomUUID()) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, privateKey, publicKey, jwk: { ...(publicKey.export({ format: 'jwk' }) as object), kid, alg: 'ES256', use: 'sig' } };
}

function es256(privateKey: KeyObject, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ alg: 'ES256', typ: 'at+jwt', ...header })}.${encode(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

const now = () => Math.floor(Date.now() / 1000);

function claimsFor(iss: string, extra: Record<string, unknown> = {}) {
  return { iss, aud: 'https://api.example.com', sub: 'worker', client_id: 'worker', scope: 'orders.read', iat: now(), exp: now() + 300, jti: randomUUID(), ...extra };
}

function optionAtFault(options: unknown): string | undefined {
  try {
    new Scopeguard(options as ScopeguardOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(ScopeguardConfigError);
    return (error as ScopeguardConfigError).option;
  }
  return undefined;
}

/**
 * A multi-tenant authorization server: `/tenants/<t>` is an issuer with its own key, serving OpenID
 * discovery (and 404 at the RFC 8414 path) and its JWKS. Counts every request it gets.
 */
class Tenants {
  requests = 0;
  readonly keys = new Map<string, ReturnType<typeof ecKey>>();
  origin = '';
  readonly #server: Server;

  constructor() {
    this.#server = createServer((req, res) => {
      this.requests++;
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const match = /^\/tenants\/([^/]+)\/(\.well-known\/openid-configuration|jwks)$/.exec(path);
      if (match === null) return void res.writeHead(404).end();
      const issuer = this.issuer(match[1]!);
      const body = match[2] === 'jwks' ? { keys: [this.key(match[1]!).jwk] } : { issuer, jwks_uri: `${issuer}/jwks` };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  issuer(tenant: string): string {
    return `${this.origin}/tenants/${tenant}`;
  }

  key(tenant: string) {
    if (!this.keys.has(tenant)) this.keys.set(tenant, ecKey());
    return this.keys.get(tenant)!;
  }

  token(tenant: string, extra: Record<string, unknown> = {}, kid?: string): string {
    const key = this.key(tenant);
    return es256(key.privateKey, { kid: kid ?? key.kid }, claimsFor(this.issuer(tenant), extra));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

describe('several issuers', () => {
  let a: TestIssuer;
  let b: TestIssuer;
  beforeEach(async () => {
    [a, b] = await Promise.all([createTestIssuer({ path: 'a' }), createTestIssuer({ path: 'b' })]);
  });
  afterEach(() => Promise.all([a.close(), b.close()]));

  it('resolve to the shared settings once and every issuer entry', () => {
    const resolved = resolveOptions({
      issuers: [
        { issuer: a.issuer, audience: 'https://api.a', permissions: 'token' },
        { issuer: b.issuer, audience: 'https://api.b', preset: 'okta', permissions: { worker: ['orders.read'] } },
      ],
      maxTokenLength: 4096,
    });
    expect(resolved.issuers.map((entry) => entry.issuers)).toEqual([[a.issuer], [b.issuer]]);
    expect(resolved.issuers.map((entry) => entry.audiences)).toEqual([['https://api.a'], ['https://api.b']]);
    expect(resolved.issuers[1]!.profile.clientIdClaims).toEqual(['cid', 'client_id']);
    expect(resolved.maxTokenLength).toBe(4096);
    expect(resolved.realm).toBe('https://api.a');
  });

  it('refreshKeys() fetches every issuer’s key set, not the first one’s only', async () => {
    const engine = new Scopeguard({
      issuers: [
        { issuer: a.issuer, audience: a.audience, permissions: 'token' },
        { issuer: b.issuer, audience: b.audience, permissions: 'token' },
      ],
    });
    await engine.refreshKeys();
    expect([a.requests.jwks, b.requests.jwks]).toEqual([1, 1]);
    expect(await codeOf(engine.verify(await b.mint()))).toBe('OK');
    b.outage();
    await expect(engine.refreshKeys()).rejects.toThrow(/1 of 2 key sets/);
    // The set that failed keeps its keys.
    expect(await codeOf(engine.verify(await b.mint()))).toBe('OK');
  });

  it('each issuer’s introspection is refused unless it is the only one (an opaque token does not say whose it is)', () => {
    const introspection = { endpoint: 'https://as.example/introspect', clientId: 'api', clientSecret: 's' };
    expect(
      optionAtFault({
        issuers: [
          { issuer: 'https://a.example', audience: 'api', introspection },
          { issuer: 'https://b.example', audience: 'api', introspection },
        ],
      }),
    ).toBe('issuers[1].introspection');
  });

  it.each([
    [{ issuer: 'https://a.example', audience: 'api', jwksUri: 'https://a.example/jwks', keys: 'pem' }, 'keys'],
    [{ issuer: 'https://a.example', issuerPattern: 'https://{t}.example', audience: 'api' }, 'issuerPattern'],
    [{ issuerPattern: 'https://{tenant}.example/', audience: 'api' }, 'isTrusted'],
    [{ issuerPattern: 'https://example/{t}', audience: 'api', jwksUri: 'https://example/jwks', introspection: { endpoint: 'https://example/i', clientId: 'a', clientSecret: 'b' } }, 'introspection'],
    [{ issuerPattern: 'https://example:{port}/', audience: 'api', jwksUri: 'https://example/jwks' }, 'issuerPattern'],
    [{ issuerPattern: 'https://{user}@login.example.com/', audience: 'api', jwksUri: 'https://example/jwks' }, 'issuerPattern'],
    [{ issuerPattern: 'https://login.example.com/?tenant={t}', audience: 'api', jwksUri: 'https://example/jwks' }, 'issuerPattern'],
    [{ issuerPattern: 'https:login.example.com/{t}', audience: 'api', jwksUri: 'https://example/jwks' }, 'issuerPattern'],
    [{ issuers: [{ issuerPattern: 'https://{t}.example/', audience: 'api', jwksUri: 'https://x.example/jwks' }, { issuerPattern: 'https://{t}.example/', audience: 'b', jwksUri: 'https://x.example/jwks' }] }, 'issuers[1].issuerPattern'],
    [{ issuer: 'https://a.example', audience: 'api', keys: { keys: [{ ...ecKey().jwk }] } }, 'keys'], // an ES256 key, RS256 allowed
    [{ issuerPattern: 'https://example/{t}/{t}', audience: 'api', jwksUri: 'https://example/jwks' }, 'issuerPattern'],
    [{ issuerPattern: 'https://example/fixed', audience: 'api', jwksUri: 'https://example/jwks' }, 'issuerPattern'],
    [{ issuer: 'https://a.example', audience: 'api', isTrusted: () => true }, 'isTrusted'],
    [{ issuer: 'https://a.example', audience: 'api', permissions: 'token', permissionLookup: { ttl: 5 } }, 'permissionLookup'],
    [{ issuer: 'https://a.example', audience: 'api', permissions: 'tokens' }, 'permissions'],
    [{ issuer: 'https://a.example', audience: 'api', preset: 'cognito' }, 'clientIds'],
    [{ issuer: 'https://a.example', audience: 'api', preset: 'cognito', clientIds: ['c'], strict: true }, 'strict'],
    [{ issuer: 'https://a.example', audience: 'api', scopeClaims: ['resource_access.__proto__.roles'] }, 'scopeClaims[0]'],
    [{ issuer: 'https://a.example', audience: 'api', scopeClaims: [['realm_access', 'constructor']] }, 'scopeClaims[0]'],
    [{ issuer: 'https://a.example', audience: 'api', scopeClaims: ['a..b'] }, 'scopeClaims[0]'],
    [{ issuerPattern: 'https://{t}.example/', audience: 'api', jwksUri: 'https://x.example/jwks', resourceMetadata: { resource: 'https://api.example' } }, 'resourceMetadata.authorizationServers'],
    [{ issuers: [{ issuer: 'https://a.example', audience: 'api' }, { issuer: 'https://b.example', audience: 'api', maxTokenAge: -1 }] }, 'issuers[1].maxTokenAge'],
  ])('refuses a contradiction at construction (%#)', (options, option) => {
    expect(optionAtFault(options)).toBe(option);
  });
});

describe('the intersection, on purpose', () => {
  it('leaving permissions out is announced once at construction; a map, a resolver or "token" is not', () => {
    const base = { issuer: 'https://as.example.com/', audience: 'https://api.example.com' };
    const [notice, ...rest] = new Scopeguard(base).notices;
    expect(rest).toEqual([]);
    expect(notice).toMatch(/no "permissions" for https:\/\/as\.example\.com\/.*token's scopes as they are.*permissions: 'token'/);
    expect(new Scopeguard({ ...base, permissions: 'token' }).notices).toEqual([]);
    expect(new Scopeguard({ ...base, permissions: { worker: ['orders.read'] } }).notices).toEqual([]);
    expect(new Scopeguard({ ...base, permissions: () => [] }).notices).toEqual([]);
  });

  it('permissions: "token" admits any client of the issuer with its token’s scopes', async () => {
    const issuer = await createTestIssuer();
    try {
      const engine = new Scopeguard({ issuer: issuer.issuer, audience: issuer.audience, permissions: 'token' });
      const principal = await engine.verify(await issuer.mint({ clientId: 'anyone', scope: 'orders.read orders.write' }));
      expect(principal.permissions).toEqual(['orders.read', 'orders.write']);
    } finally {
      await issuer.close();
    }
  });
});

describe('pinned keys: no network at all', () => {
  const key = ecKey('pinned-1');
  const issuer = 'https://as.example.com/';
  const token = (kid: string | undefined, extra: Record<string, unknown> = {}) => es256(key.privateKey, kid === undefined ? {} : { kid }, claimsFor(issuer, extra));
  let fetchSpy: jest.SpyInstance;
  beforeEach(() => {
    fetchSpy = jest.spyOn(globalThis, 'fetch');
  });
  afterEach(() => {
    expect(fetchSpy).not.toHaveBeenCalled();
    fetchSpy.mockRestore();
  });

  it.each([
    ['a JWK Set', { keys: [key.jwk] }, 'pinned-1'],
    ['a PEM public key (any kid)', key.publicKey.export({ type: 'spki', format: 'pem' }) as string, 'whatever'],
    ['a public KeyObject (no kid)', key.publicKey, undefined],
    ['a list of PEMs and KeyObjects', [ecKey().publicKey, key.publicKey], 'x'],
  ])('%s verifies tokens', async (_, keys, kid) => {
    const engine = new Scopeguard({ issuer, audience: 'https://api.example.com', algorithms: ['ES256'], keys, permissions: 'token' });
    expect(await codeOf(engine.verify(token(kid)))).toBe('OK');
    expect(engine.stats().jwksFetches).toBe(0);
    await engine.refreshKeys();
  });

  it('an unknown kid in a pinned JWK Set is a 401, a token signed by another key too', async () => {
    const engine = new Scopeguard({ issuer, audience: 'https://api.example.com', algorithms: ['ES256'], keys: { keys: [key.jwk] }, permissions: 'token' });
    expect(await codeOf(engine.verify(token('other')))).toBe('ERR_TOKEN_KEY_NOT_FOUND');
    const stranger = ecKey('pinned-1');
    expect(await codeOf(engine.verify(es256(stranger.privateKey, { kid: 'pinned-1' }, claimsFor(issuer))))).toBe('ERR_TOKEN_SIGNATURE');
  });

  it.each([
    ['a private key PEM', key.privateKey.export({ type: 'pkcs8', format: 'pem' })],
    ['a private KeyObject', key.privateKey],
    ['an RSA key under 2048 bits', generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey],
    ['a JWK with private material', { keys: [{ ...key.jwk, d: 'AAAA' }] }],
    ['an empty set', { keys: [] }],
    ['five keys without kid (at most four are tried for a token)', Array.from({ length: 5 }, () => ecKey().publicKey)],
    ['not a key', 42],
  ])('refuses %s at construction', (_, keys) => {
    expect(optionAtFault({ issuer, audience: 'api', keys })).toBe('keys');
  });
});

describe('issuer patterns: tenants not known at start-up', () => {
  let tenants: Tenants;
  beforeEach(async () => {
    tenants = await new Tenants().start();
  });
  afterEach(() => tenants.close());

  function engineFor(isTrusted: (issuer: string, values: Readonly<Record<string, string>>) => boolean | Promise<boolean>, extra: Record<string, unknown> = {}) {
    return new Scopeguard({
      issuerPattern: `${tenants.origin}/tenants/{tenant}`,
      isTrusted,
      audience: 'https://api.example.com',
      algorithms: ['ES256'],
      permissions: 'token',
      ...extra,
    } as ScopeguardOptions);
  }

  it('admits a trusted tenant, refuses an untrusted one without a fetch, and one of another shape without asking', async () => {
    const asked: string[] = [];
    const engine = engineFor(async (issuer, { tenant }) => {
      asked.push(tenant!);
      return tenant === 'contoso';
    });
    const principal = await engine.verify(tenants.token('contoso'));
    expect(principal.issuer).toBe(tenants.issuer('contoso'));
    const afterTrusted = tenants.requests;
    expect(await codeOf(engine.verify(tenants.token('mallory')))).toBe('ERR_TOKEN_CLAIM');
    expect(await codeOf(engine.verify(tenants.token('mallory')))).toBe('ERR_TOKEN_CLAIM');
    const foreign = es256(tenants.key('x').privateKey, { kid: tenants.key('x').kid }, claimsFor('https://evil.example/tenants/contoso'));
    expect(await codeOf(engine.verify(foreign))).toBe('ERR_TOKEN_CLAIM');
    const dotted = es256(tenants.key('x').privateKey, {}, claimsFor(`${tenants.origin}/tenants/..`));
    expect(await codeOf(engine.verify(dotted))).toBe('ERR_TOKEN_CLAIM');
    expect(tenants.requests).toBe(afterTrusted);
    expect(asked).toEqual(['contoso', 'mallory']); // the refusal is remembered
  });

  it('asks isTrusted only about tokens that pass every check that needs no key: junk never reaches the app', async () => {
    let asked = 0;
    const engine = engineFor(() => (asked++, true));
    const random = () => tenants.issuer(`t${randomUUID().slice(0, 8)}`);
    const junk = [
      `${Buffer.from('{"alg":"ES256"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: random() })).toString('base64url')}.AAAA`,
      es256(tenants.key('x').privateKey, {}, claimsFor(random(), { exp: now() - 3600 })),
      es256(tenants.key('x').privateKey, {}, claimsFor(random(), { aud: 'https://another.example' })),
      es256(tenants.key('x').privateKey, { alg: 'ES256', typ: 'dpop+jwt' }, claimsFor(random())),
      `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claimsFor(random()))).toString('base64url')}.AAAA`,
    ];
    const codes = await Promise.all(junk.map((token) => codeOf(engine.verify(token))));
    expect(codes).toEqual(['ERR_TOKEN_CLAIM', 'ERR_TOKEN_EXPIRED', 'ERR_TOKEN_CLAIM', 'ERR_TOKEN_TYPE', 'ERR_TOKEN_ALG_NOT_ALLOWED']);
    expect(asked).toBe(0);
    expect(tenants.requests).toBe(0);
  });

  it('a trusted tenant whose answer is older than the ttl keeps being served while isTrusted is asked again', async () => {
    let time = Date.now();
    let slow = false;
    const engine = engineFor(
      async (_issuer, { tenant }) => {
        if (slow) await new Promise((resolve) => setTimeout(resolve, 200));
        return tenant === 'acme';
      },
      { clock: () => time, trustLookup: { ttl: 60, maxEntries: 3, timeoutMs: 1000 }, tokenCache: false },
    );
    expect(await codeOf(engine.verify(tenants.token('acme')))).toBe('OK');
    time += 61_000;
    slow = true;
    // Strangers' first tokens fill the lookups in flight; the known tenant does not wait on one.
    const strangers = ['x1', 'x2', 'x3'].map((tenant) => codeOf(engine.verify(tenants.token(tenant))));
    expect(await codeOf(engine.verify(tenants.token('acme')))).toBe('OK');
    expect(await Promise.all(strangers)).toEqual(['ERR_TOKEN_CLAIM', 'ERR_TOKEN_CLAIM', 'ERR_TOKEN_CLAIM']);
  });

  it('host placeholders are lower case: a case variant of a tenant is not of the shape, and costs nothing', async () => {
    let asked = 0;
    const shared = ecKey();
    const engine = new Scopeguard({
      issuerPattern: 'https://{tenant}.auth.example.com/',
      isTrusted: () => (asked++, true),
      keys: { keys: [shared.jwk] },
      audience: 'https://api.example.com',
      algorithms: ['ES256'],
      permissions: 'token',
    });
    const token = (host: string) => es256(shared.privateKey, { kid: shared.kid }, claimsFor(`https://${host}.auth.example.com/`));
    expect(await codeOf(engine.verify(token('acme')))).toBe('OK');
    for (const variant of ['Acme', 'ACME', 'acmE']) expect(await codeOf(engine.verify(token(variant)))).toBe('ERR_TOKEN_CLAIM');
    expect(asked).toBe(1);
    expect(engine.stats().patternIssuers).toBe(1);
  });

  it('an exact issuer entry decides for its issuer even when a pattern listed first has its shape', async () => {
    const shared = ecKey();
    const engine = new Scopeguard({
      issuers: [
        { issuerPattern: `${tenants.origin}/tenants/{tenant}`, keys: { keys: [shared.jwk] }, audience: 'https://api.example.com', algorithms: ['ES256'], permissions: { worker: ['orders.read'] } },
        { issuer: tenants.issuer('special'), keys: { keys: [shared.jwk] }, audience: 'https://api.example.com', algorithms: ['ES256'], permissions: { worker: ['orders.read', 'orders.write'] } },
      ],
    });
    const token = (tenant: string) => es256(shared.privateKey, { kid: shared.kid }, claimsFor(tenants.issuer(tenant), { scope: 'orders.read orders.write' }));
    expect((await engine.verify(token('special'))).permissions).toEqual(['orders.read', 'orders.write']);
    expect((await engine.verify(token('other'))).permissions).toEqual(['orders.read']);
  });

  it('a tenant’s key set never verifies another tenant’s token', async () => {
    const engine = engineFor(() => true, { isTrusted: async () => true });
    const forged = es256(tenants.key('mallory').privateKey, { kid: tenants.key('contoso').kid }, claimsFor(tenants.issuer('contoso')));
    expect(await codeOf(engine.verify(forged))).toBe('ERR_TOKEN_SIGNATURE');
  });

  it.each([
    ['throws', () => {
      throw new Error('db down');
    }],
    ['rejects', () => Promise.reject(new Error('db down'))],
    ['never answers', () => new Promise<boolean>(() => undefined)],
    ['answers a string', () => 'yes' as unknown as boolean],
  ])('isTrusted that %s is a 503, and is asked again next time', async (_, isTrusted) => {
    const engine = engineFor(isTrusted, { trustLookup: { timeoutMs: 50 } });
    const error = (await engine.verify(tenants.token('contoso')).catch((e: unknown) => e)) as { code: string; status: number };
    expect([error.code, error.status]).toEqual(['ERR_ISSUER_LOOKUP_UNAVAILABLE', 503]);
    expect(tenants.requests).toBe(0);
  });

  it('a tenant whose trust is withdrawn loses its cached verdicts once the answer is older than the ttl', async () => {
    let time = Date.now();
    let trusted = true;
    const engine = engineFor(() => trusted, { clock: () => time, trustLookup: { ttl: 60 } });
    const token = tenants.token('contoso');
    for (let i = 0; i < 3; i++) expect(await codeOf(engine.verify(token))).toBe('OK');
    trusted = false;
    time += 61_000;
    // The cache hit asks again in the background and still answers from the last answer…
    await codeOf(engine.verify(token));
    await new Promise((resolve) => setTimeout(resolve, 10));
    // …and once the answer is no, the verdict is gone and the issuer refused.
    expect(await codeOf(engine.verify(token))).toBe('ERR_TOKEN_CLAIM');
    expect(engine.stats().patternIssuers).toBe(0);
  });

  it('a flood of random issuers and random kids causes no fetch beyond the bound and no growth beyond the LRU bounds', async () => {
    const trustedTenants = ['t1', 't2', 't3'];
    let asked = 0;
    const engine = engineFor(
      async (_issuer, { tenant }) => {
        asked++;
        return trustedTenants.includes(tenant!);
      },
      { maxIssuers: 3, trustLookup: { maxEntries: 500 }, jwks: { cooldownMs: 60_000 } },
    );
    const flood: Promise<string>[] = [];
    const codes: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const tenant = trustedTenants[i % 3]!;
      const kind = i % 4;
      const token =
        kind === 0 ? tenants.token(`random-${randomUUID()}`) // a random tenant of the pattern's shape
        : kind === 1 ? es256(tenants.key('t1').privateKey, {}, claimsFor(`https://random-${i}.example/tenants/x`)) // another shape
        : kind === 2 ? tenants.token(tenant, {}, randomUUID()) // a trusted tenant, a random kid
        : tenants.token(tenant);
      flood.push(codeOf(engine.verify(token)));
      if (i % 100 === 99) codes.push(...(await Promise.all(flood.splice(0))));
    }
    expect(new Set(codes)).toEqual(new Set(['ERR_TOKEN_CLAIM', 'ERR_TOKEN_KEY_NOT_FOUND', 'OK']));
    // Each trusted tenant: discovery (RFC 8414 path, then OpenID) and a JWKS once, then refetches for
    // unknown kids 1, 2, 4, 8… s apart (the flood lasts a few seconds): at most 5 more each.
    const bound = trustedTenants.length * (3 + 5);
    expect(tenants.requests).toBeLessThanOrEqual(bound);
    const stats = engine.stats();
    if (process.env.SHOW_FLOOD) console.log({ requests: tenants.requests, asked, stats, codes: codes.reduce<Record<string, number>>((n, c) => ((n[c] = (n[c] ?? 0) + 1), n), {}) });
    expect(stats.patternIssuers).toBeLessThanOrEqual(3);
    expect(stats.keySets).toBeLessThanOrEqual(3);
    expect(stats.refusedIssuers).toBeLessThanOrEqual(500);
    // Untrusted issuers are asked about once each (750), trusted ones once; the LRU bound caps what is remembered.
    expect(asked).toBeLessThanOrEqual(750 + 3);
  });

  it('a pattern with fixed keys (one JWKS for all tenants, as Entra’s) needs no isTrusted and creates one key set', async () => {
    const shared = ecKey();
    const server = createServer((req, res) => {
      tenants.requests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [shared.jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const engine = new Scopeguard({
        issuerPattern: 'https://login.example.com/{tenant}/v2.0',
        jwksUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/keys`,
        audience: 'https://api.example.com',
        algorithms: ['ES256'],
        permissions: 'token',
        maxIssuers: 10,
      });
      const codes = await Promise.all(
        Array.from({ length: 500 }, () => codeOf(engine.verify(es256(shared.privateKey, { kid: shared.kid }, claimsFor(`https://login.example.com/${randomUUID()}/v2.0`))))),
      );
      expect(new Set(codes)).toEqual(new Set(['OK']));
      expect(tenants.requests).toBe(1);
      expect(engine.stats()).toMatchObject({ keySets: 1, patternIssuers: 10 });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
