/**
 * The WebCrypto platform (the `workerd`, `worker` and `browser` entry, src/web.ts), run here on
 * Node's WebCrypto: the same engine and rules as the Node entry, verifying asynchronously. The Deno,
 * Bun and workerd runtimes themselves are exercised in test/runtimes.
 */
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { createTestIssuer, signCompact, type TestAlgorithm, type TestIssuer } from '@scopeguard/testing';
import { Scopeguard, ScopeguardConfigError, isPrincipal, type ScopeguardOptions } from '../src/web';
import { tokenRequestFromFetch } from '../src/adapter-web';

const ALGORITHMS: TestAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer({ algorithms: ALGORITHMS, introspection: { clientId: 'api', clientSecret: 's3cret' } });
});
afterAll(() => issuer.close());

const engine = (options: Partial<ScopeguardOptions> = {}) =>
  new Scopeguard({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, algorithms: ALGORITHMS, permissions: 'token', ...options } as ScopeguardOptions);
const admit = (guard: Scopeguard, token: string) => Promise.resolve().then(() => guard.admit(tokenRequestFromFetch(new Request('https://api.example.com/orders', { headers: { authorization: `Bearer ${token}` } }))));
const codeOf = (guard: Scopeguard, token: string) => admit(guard, token).then(() => 'OK', (error: { code: string }) => error.code);

describe('the WebCrypto platform', () => {
  it.each(ALGORITHMS)('verifies %s tokens from the key set, and refuses a tampered one', async (alg) => {
    const guard = engine();
    const token = await issuer.mint({ alg, scope: 'orders.read' });
    expect(isPrincipal(await admit(guard, token))).toBe(true);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const other = await issuer.mint({ alg, scope: 'orders.admin' });
    expect(await codeOf(engine(), `${header}.${other.split('.')[1]}.${signature}`)).toBe('ERR_TOKEN_SIGNATURE');
    expect(await codeOf(engine(), `${header}.${payload}.${signature.slice(0, -4)}`)).toMatch(/ERR_TOKEN_(SIGNATURE|MALFORMED)/);
  });

  it('verifies with a pinned JWK Set, and says that PEM and KeyObject keys need node:crypto', async () => {
    const pinned = new Scopeguard({ ...issuer.options({ permissions: 'token' }), algorithms: ALGORITHMS } as ScopeguardOptions);
    expect(await codeOf(pinned, await issuer.mint({ alg: 'ES256' }))).toBe('OK');
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(() => new Scopeguard({ issuer: issuer.issuer, audience: issuer.audience, keys: pem, permissions: 'token' })).toThrow(/need node:crypto.*pin a JWK Set/);
    expect(() => new Scopeguard({ issuer: issuer.issuer, audience: issuer.audience, keys: [createPublicKey(pem)] as never, permissions: 'token' })).toThrow(ScopeguardConfigError);
  });

  it('refuses DPoP and certificate binding at construction, never skipping them', () => {
    expect(() => engine({ dpop: { mode: 'allowed' } })).toThrow(/dpop.*needs node:crypto/);
    expect(() => engine({ mtls: { mode: 'bound' } })).toThrow(/mtls.*needs node:crypto/);
  });

  it('refuses ECDSA signatures of the wrong size before the primitive, as the Node entry does', async () => {
    const token = await issuer.mint({ alg: 'ES256' });
    const [header, payload] = token.split('.') as [string, string];
    const der = Buffer.alloc(70, 1).toString('base64url');
    expect(await codeOf(engine(), `${header}.${payload}.${der}`)).toBe('ERR_TOKEN_SIGNATURE');
  });

  it('introspects opaque tokens (cache keyed without Node hashing)', async () => {
    const guard = engine({ introspection: { endpoint: issuer.introspectionEndpoint!, clientId: 'api', clientSecret: 's3cret' } } as never);
    const opaque = issuer.mintOpaque({ clientId: 'worker', scope: 'orders.read' });
    expect(await codeOf(guard, opaque)).toBe('OK');
    expect(await codeOf(guard, opaque)).toBe('OK');
    expect(guard.stats().introspections).toBe(1);
  });

  it('signs nothing itself: a token signed with a key outside the set is refused', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = signCompact({ alg: 'RS256', typ: 'at+jwt', kid: 'nope' }, { iss: issuer.issuer, aud: issuer.audience, exp: Math.floor(Date.now() / 1000) + 60, client_id: 'x', sub: 'x' }, privateKey as never);
    expect(await codeOf(engine(), await forged)).toMatch(/ERR_TOKEN_(KEY_NOT_FOUND|SIGNATURE)/);
  });

  it('skips a malformed key of a fetched set, as the Node entry does, and names a malformed pinned key', async () => {
    const good = issuer.jwks().keys.find((key) => key.alg === 'RS256')!;
    const broken = { ...good, kid: 'broken', n: '!!!!' };
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [broken, good] })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const jwksUri = `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks`;
      expect(await codeOf(engine({ jwksUri }), await issuer.mint({ alg: 'RS256' }))).toBe('OK');
    } finally {
      server.close();
    }
    expect(() => new Scopeguard({ issuer: issuer.issuer, audience: issuer.audience, keys: { keys: [good, broken] }, permissions: 'token' })).toThrow(/keys\[1\]/);
  });

  it('refuses to mix entries in one process: loading the node:crypto entry after this one throws', () => {
    expect(() => jest.requireActual('../src/index')).toThrow(/both/);
  });
});

