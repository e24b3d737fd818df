import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Scopeguard, ScopeguardError, type ScopeguardOptions } from '@scopeguard/core';
import { unusableReason, metadataUrls } from '@scopeguard/core/adapter';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { codeOf } from '../../../test/support/outcome';

let issuer: TestIssuer;
beforeEach(async () => {
  issuer = await createTestIssuer();
});
afterEach(() => issuer.close());

function guard(options: Partial<ScopeguardOptions> = {}): Scopeguard {
  return new Scopeguard({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, ...options });
}

describe('JWKS key source', () => {
  it('fetches the set once and shares one fetch between concurrent first requests', async () => {
    const engine = guard({ tokenCache: false });
    const tokens = await Promise.all(Array.from({ length: 20 }, () => issuer.mint()));
    const codes = await Promise.all(tokens.map((token) => codeOf(engine.verify(token))));
    expect(codes.every((code) => code === 'OK')).toBe(true);
    expect(issuer.requests.jwks).toBe(1);
  });

  it('answers 503, not 401, when the JWKS is down at start', async () => {
    issuer.outage({ status: 500 });
    const engine = guard();
    const error = await engine.verify(await issuer.mint()).catch((e) => e);
    expect(error.code).toBe('ERR_KEYS_UNAVAILABLE');
    expect(error.status).toBe(503);
    expect(engine.errorResponse(error).headers['WWW-Authenticate']).toBeUndefined();
  });

  it.each([
    ['HTML', { status: 200, body: '<html>hi</html>', contentType: 'text/html' }],
    ['{}', { status: 200, body: '{}', contentType: 'application/json' }],
    ['keys: []', { status: 200, body: '{"keys":[]}', contentType: 'application/json' }],
    ['a slow answer', { delayMs: 2000 }],
  ])('answers 503 for a JWKS that returns %s', async (_name, outage) => {
    issuer.outage(outage);
    expect(await codeOf(guard({ jwks: { timeoutMs: 200 } }).verify(await issuer.mint()))).toBe('ERR_KEYS_UNAVAILABLE');
  });

  it('keeps serving the last known good keys when the JWKS goes down after warm-up', async () => {
    let now = Date.now();
    const engine = guard({ tokenCache: false, jwks: { cooldownMs: 0, maxAgeMs: 1000 }, clock: () => now });
    expect(await codeOf(engine.verify(await issuer.mint()))).toBe('OK');
    issuer.outage();
    now += 1100;
    // Stale now: a background refresh fails, the known key keeps working.
    expect(await codeOf(engine.verify(await issuer.mint()))).toBe('OK');
    expect(await codeOf(engine.verify(await issuer.mint()))).toBe('OK');
    // A key we never saw cannot be checked while the issuer is down: 503, not 401.
    await issuer.rotate();
    expect(await codeOf(engine.verify(await issuer.mint()))).toBe('ERR_KEYS_UNAVAILABLE');
    issuer.recover();
    expect(await codeOf(engine.verify(await issuer.mint()))).toBe('OK');
  });

  it('follows key rotation without restart, and drops cached verdicts of a removed key', async () => {
    const engine = guard({ jwks: { cooldownMs: 0 } });
    const oldKid = issuer.kids[0]!;
    const oldToken = await issuer.mint();
    expect(await codeOf(engine.verify(oldToken))).toBe('OK');
    const newKid = await issuer.rotate();
    expect(await codeOf(engine.verify(await issuer.mint({ kid: newKid })))).toBe('OK');
    expect(issuer.requests.jwks).toBe(2);
    // The old token is cached; once its key leaves the set, the cached verdict goes too.
    expect(await codeOf(engine.verify(oldToken))).toBe('OK');
    issuer.unpublish(oldKid);
    await engine.refreshKeys();
    expect(await codeOf(engine.verify(oldToken))).toBe('ERR_TOKEN_KEY_NOT_FOUND');
  });

  it('a flood of unknown kids causes at most one fetch per cooldown', async () => {
    let now = Date.now();
    const engine = guard({ jwks: { cooldownMs: 1500 }, clock: () => now });
    expect(await codeOf(engine.verify(await issuer.mint()))).toBe('OK');
    now += 1600;
    const fetchesBefore = issuer.requests.jwks;
    const token = await issuer.mint();
    const [h, p, s] = token.split('.');
    const header = JSON.parse(Buffer.from(h!, 'base64url').toString());
    const codes = await Promise.all(
      Array.from({ length: 10_000 }, (_, i) => {
        const forged = Buffer.from(JSON.stringify({ ...header, kid: `random-${i}` })).toString('base64url');
        return codeOf(engine.verify(`${forged}.${p}.${s}`));
      }),
    );
    expect(new Set(codes)).toEqual(new Set(['ERR_TOKEN_KEY_NOT_FOUND']));
    expect(issuer.requests.jwks - fetchesBefore).toBe(1);
  });

  // Issue 25, newcomer trial: the 503 said Retry-After: 5, but the key set waited the 30 s cooldown
  // after a failure, so clients that obeyed it retried into six more 503s after the issuer was back.
  it('after a failure, retries when the 503 said to (Retry-After: 5 s), then backs off to the cooldown', async () => {
    let now = Date.now();
    issuer.outage();
    const engine = guard({ tokenCache: false, clock: () => now });
    const at = async (ms: number) => {
      now += ms;
      return codeOf(engine.verify(await issuer.mint()));
    };
    const error = await engine.verify(await issuer.mint()).catch((e: unknown) => e as ScopeguardError);
    expect(engine.errorResponse(error as ScopeguardError).headers['Retry-After']).toBe('5');
    const fetches = issuer.requests.jwks;
    expect(await at(4_900)).toBe('ERR_KEYS_UNAVAILABLE');
    expect(issuer.requests.jwks).toBe(fetches); // not before the 5 s it announced
    issuer.recover();
    expect(await at(100)).toBe('OK');
  });

  it('a long outage is retried at 5, 10, 20 s intervals and then once per cooldown', async () => {
    let now = Date.now();
    issuer.outage();
    const engine = guard({ tokenCache: false, clock: () => now });
    const times: number[] = [];
    const start = issuer.requests.jwks;
    for (let t = 0; t <= 120_000; t += 500) {
      const before = issuer.requests.jwks;
      await codeOf(engine.verify(await issuer.mint()));
      if (issuer.requests.jwks > before) times.push(t);
      now += 500;
    }
    expect(times).toEqual([0, 5_000, 15_000, 35_000, 65_000, 95_000]);
    expect(issuer.requests.jwks - start).toBe(6);
  });

  it('after a failure, concurrent and immediate requests cause no second fetch', async () => {
    issuer.outage();
    const engine = guard({ jwks: { cooldownMs: 60_000 } });
    for (let i = 0; i < 50; i++) expect(await codeOf(engine.verify(await issuer.mint()))).toBe('ERR_KEYS_UNAVAILABLE');
    expect(issuer.requests.jwks).toBe(1);
  });

  it('never loads unusable keys', () => {
    const rsa = issuer.jwks().keys[0] as Record<string, unknown>;
    expect(unusableReason(rsa)).toBeUndefined();
    expect(unusableReason({ ...rsa, use: 'enc' })).toMatch(/use/);
    expect(unusableReason({ ...rsa, key_ops: ['encrypt'] })).toMatch(/key_ops/);
    expect(unusableReason({ ...rsa, d: 'secret' })).toMatch(/private/);
    expect(unusableReason({ kty: 'oct', k: 'c2VjcmV0' })).toMatch(/asymmetric/);
    expect(unusableReason({ ...rsa, n: Buffer.alloc(128, 0xff).toString('base64url') })).toMatch(/2048/);
    expect(unusableReason({ ...rsa, n: Buffer.concat([Buffer.from([0]), Buffer.alloc(256, 0xff)]).toString('base64url') })).toBeUndefined();
    expect(unusableReason({ kty: 'EC', crv: 'P-256', x: 'a' })).toMatch(/coordinates/);
  });

  it('does not verify with a key published with use: enc', async () => {
    const jwks = issuer.jwks();
    const server: Server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: jwks.keys.map((key) => ({ ...key, use: 'enc' })).concat([{ kty: 'RSA', use: 'sig' } as never]) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
      expect(await codeOf(guard({ jwksUri }).verify(await issuer.mint()))).toBe('ERR_KEYS_UNAVAILABLE');
    } finally {
      server.close();
    }
  });
});

describe('discovery (RFC 8414, OpenID Connect Discovery)', () => {
  it('builds RFC 8414 path-inserted and OIDC appended URLs', () => {
    expect(metadataUrls('https://as.example.com')).toEqual([
      'https://as.example.com/.well-known/oauth-authorization-server',
      'https://as.example.com/.well-known/openid-configuration',
    ]);
    expect(metadataUrls('https://as.example.com/tenant/')).toEqual([
      'https://as.example.com/.well-known/oauth-authorization-server/tenant',
      'https://as.example.com/tenant/.well-known/openid-configuration',
    ]);
  });

  it('discovers the JWKS from the issuer when jwksUri is not given', async () => {
    const tenant = await createTestIssuer({ path: '/tenant-a' });
    try {
      const engine = new Scopeguard({ issuer: tenant.issuer, audience: tenant.audience });
      expect(await codeOf(engine.verify(await tenant.mint()))).toBe('OK');
      expect(tenant.requests.metadata).toBe(1);
    } finally {
      await tenant.close();
    }
  });

  it('refuses metadata that names another issuer (503, never trusting its keys)', async () => {
    const server: Server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer: 'https://evil.example', jwks_uri: issuer.jwksUri }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const fake = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const engine = new Scopeguard({ issuer: fake, audience: issuer.audience });
      expect(await codeOf(engine.verify(await issuer.mint({ issuer: fake })))).toBe('ERR_KEYS_UNAVAILABLE');
      expect(issuer.requests.jwks).toBe(0);
    } finally {
      server.close();
    }
  });
});

describe('hostile or broken key sets', () => {
  async function serve(keys: unknown[]): Promise<{ uri: string; server: Server }> {
    const server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { uri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`, server };
  }

  it('duplicate kids: the key that really signed is found, forgeries are not', async () => {
    const rotated = await createTestIssuer();
    const real = issuer.jwks().keys[0]!;
    const impostor = { ...rotated.jwks().keys[0]!, kid: real.kid };
    const { uri, server } = await serve([impostor, real]);
    try {
      const engine = guard({ jwksUri: uri });
      expect(await codeOf(engine.verify(await issuer.mint()))).toBe('OK');
      expect(await codeOf(engine.verify(await rotated.mint({ issuer: issuer.issuer, header: { kid: real.kid } })))).toBe('OK');
      const { generateKeyPair } = await import('jose');
      const attacker = await generateKeyPair('RS256');
      const { signCompact } = await import('@scopeguard/testing');
      const forged = await signCompact({ alg: 'RS256', kid: real.kid }, { iss: issuer.issuer, aud: issuer.audience, exp: Math.floor(Date.now() / 1000) + 60 }, attacker.privateKey);
      expect(await codeOf(engine.verify(forged))).toBe('ERR_TOKEN_SIGNATURE');
    } finally {
      server.close();
      await rotated.close();
    }
  });

  it('skips keys with private members or short RSA moduli and uses the good ones', async () => {
    const real = issuer.jwks().keys[0]!;
    const { generateKeyPairSync } = await import('node:crypto');
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
    const { uri, server } = await serve([{ ...real, d: 'leaked-private-exponent' }, { ...weak, kid: 'weak', alg: 'RS256' }]);
    const good = await serve([{ ...real, d: 'leaked' }, { ...weak, kid: 'weak' }, real]);
    try {
      // Only unusable keys: the set is treated as a failure (503), never as keys to verify with.
      expect(await codeOf(guard({ jwksUri: uri }).verify(await issuer.mint()))).toBe('ERR_KEYS_UNAVAILABLE');
      expect(await codeOf(guard({ jwksUri: good.uri }).verify(await issuer.mint()))).toBe('OK');
    } finally {
      server.close();
      good.server.close();
    }
  });
});

describe('foreign issuers cost no fetch', () => {
  it('a token naming another issuer, with an unknown kid, is refused without any JWKS request', async () => {
    const engine = guard({ jwks: { cooldownMs: 0 } });
    expect(await codeOf(engine.verify(await issuer.mint()))).toBe('OK');
    const before = issuer.requests.jwks;
    for (let i = 0; i < 20; i++) {
      expect(await codeOf(engine.verify(await issuer.mint({ issuer: 'https://elsewhere.example', header: { kid: `k${i}` } })))).toBe('ERR_TOKEN_CLAIM');
    }
    expect(issuer.requests.jwks).toBe(before);
  });
});

describe('key rotation and stale verdicts (protocol edges)', () => {
  it('a key published without overlap is picked up within 2 s of the last fetch, not after the 30 s cooldown', async () => {
    let now = Date.now();
    const engine = guard({ tokenCache: false, clock: () => now });
    expect(await codeOf(engine.verify(await issuer.mint()))).toBe('OK');
    now += 5_000;
    // The issuer replaces its key with no overlap (LemonLDAP::NG's rotation does).
    const oldKid = issuer.kids[0]!;
    const newKid = await issuer.rotate();
    issuer.unpublish(oldKid);
    const rotated = await issuer.mint({ kid: newKid });
    let accepted = await codeOf(engine.verify(rotated));
    for (let waited = 0; accepted !== 'OK' && waited < 2000; waited += 250) {
      now += 250;
      accepted = await codeOf(engine.verify(rotated));
    }
    expect(accepted).toBe('OK');
  });

  // Issue 26, finding 2: LemonLDAP::NG and Glewlwyd took 4.5 s and 6.3 s to pick up a second rotation
  // made while clients still sent tokens of the key retired by the first: each such token was an
  // unknown kid whose refetch brought nothing new, doubling the interval before the next rotation.
  it('every rotation is picked up within 2 s, while tokens of retired keys keep arriving', async () => {
    let now = Date.now();
    const engine = guard({ tokenCache: false, clock: () => now });
    expect(await codeOf(engine.verify(await issuer.mint()))).toBe('OK');
    const retired: string[] = [];
    // 10 a second, as clients that still hold tokens of retired keys send them: each is refused.
    const tick = async () => {
      for (const token of retired) expect(await codeOf(engine.verify(token))).toBe('ERR_TOKEN_KEY_NOT_FOUND');
      now += 100;
    };
    for (let rotation = 0; rotation < 3; rotation++) {
      const oldKid = issuer.kids[0]!;
      const lastOld = await issuer.mint({ kid: oldKid });
      const newKid = await issuer.rotate();
      issuer.unpublish(oldKid);
      const fresh = await issuer.mint({ kid: newKid });
      let waited = 0;
      while ((await codeOf(engine.verify(fresh))) !== 'OK' && waited <= 2000) {
        await tick();
        waited += 100;
      }
      expect(waited).toBeLessThanOrEqual(2000);
      retired.push(lastOld);
      for (let i = 0; i < 90; i++) await tick(); // 9 s of retired tokens (as in the live trial), then the next rotation
    }
  });

  // Review: a refetch that hit a stale replica (a set without the new key) marked the new kid retired,
  // and its tokens were refused until the cooldown (30 s).
  it('a kid a stale replica dropped is back within 5 s of its return, not after the cooldown', async () => {
    let now = Date.now();
    let served = issuer.jwks();
    const replica = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(served)));
    await new Promise<void>((resolve) => replica.listen(0, '127.0.0.1', resolve));
    try {
      const engine = guard({ tokenCache: false, clock: () => now, jwksUri: `http://127.0.0.1:${(replica.address() as AddressInfo).port}/jwks` });
      const oldSet = issuer.jwks();
      expect(await codeOf(engine.verify(await issuer.mint()))).toBe('OK');
      now += 5_000;
      const newKid = await issuer.rotate();
      served = issuer.jwks();
      const fresh = await issuer.mint({ kid: newKid });
      expect(await codeOf(engine.verify(fresh))).toBe('OK');
      now += 2_000;
      served = oldSet; // a stale replica answers the next fetch: the new key is gone from it
      const [h, p, sig] = fresh.split('.');
      const forged = `${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(h!, 'base64url').toString()), kid: 'random' })).toString('base64url')}.${p}.${sig}`;
      expect(await codeOf(engine.verify(forged))).toBe('ERR_TOKEN_KEY_NOT_FOUND');
      served = issuer.jwks(); // the replica caught up
      let waited = 0;
      while ((await codeOf(engine.verify(fresh))) !== 'OK' && waited <= 10_000) {
        now += 500;
        waited += 500;
      }
      expect(waited).toBeLessThanOrEqual(5_000);
    } finally {
      await new Promise((resolve) => replica.close(resolve));
    }
  });

  it('a retired kid costs no refetch: its tokens are refused at once, naming the key as retired', async () => {
    let now = Date.now();
    const engine = guard({ tokenCache: false, clock: () => now });
    const oldKid = issuer.kids[0]!;
    const old = await issuer.mint({ kid: oldKid });
    expect(await codeOf(engine.verify(old))).toBe('OK');
    now += 5_000;
    const newKid = await issuer.rotate();
    issuer.unpublish(oldKid);
    expect(await codeOf(engine.verify(await issuer.mint({ kid: newKid })))).toBe('OK');
    const fetches = issuer.requests.jwks;
    for (let i = 0; i < 100; i++) {
      expect(await codeOf(engine.verify(old))).toBe('ERR_TOKEN_KEY_NOT_FOUND');
      now += 100;
    }
    // 10 s of them: a refetch per 5 s at most (a live key a stale answer dropped comes back so).
    expect(issuer.requests.jwks - fetches).toBeLessThanOrEqual(2);
    const error = (await engine.verify(old).catch((e: unknown) => e)) as { detail?: string };
    expect(error.detail).toMatch(/retired/);
  });

  it('a 10 s flood of random kids at full rate causes at most 5 key-set fetches', async () => {
    let now = Date.now();
    const engine = guard({ tokenCache: false, clock: () => now });
    expect(await codeOf(engine.verify(await issuer.mint()))).toBe('OK');
    const [h, p, s] = (await issuer.mint()).split('.');
    const header = JSON.parse(Buffer.from(h!, 'base64url').toString());
    const before = issuer.requests.jwks;
    // 100 a second for 10 s: refetches back off (1 s, 2 s, 4 s, 8 s, …, 30 s at most) while none
    // brings a new key, so an issuer sees at most a handful of fetches, as after one rotation.
    for (let i = 0; i < 1000; i++) {
      const forged = Buffer.from(JSON.stringify({ ...header, kid: `random-${i}` })).toString('base64url');
      expect(await codeOf(engine.verify(`${forged}.${p}.${s}`))).toBe('ERR_TOKEN_KEY_NOT_FOUND');
      now += 10;
    }
    expect(issuer.requests.jwks - before).toBeLessThanOrEqual(5);
  });

  it('a cached verdict does not outlive its key: a cache hit on a stale key set refreshes it, and the removed key\'s tokens are then refused', async () => {
    let now = Date.now();
    const engine = guard({ jwks: { maxAgeMs: 60_000 }, clock: () => now });
    const oldKid = issuer.kids[0]!;
    const token = await issuer.mint({ expiresIn: 3600 });
    expect(await codeOf(engine.verify(token))).toBe('OK');
    expect(await codeOf(engine.verify(token))).toBe('OK'); // cached from here on
    const newKid = await issuer.rotate();
    issuer.unpublish(oldKid);
    void newKid;
    now += 61_000; // the set is stale now
    const fetches = issuer.requests.jwks;
    await codeOf(engine.verify(token)); // a hit on a stale set starts a refresh in the background
    for (let i = 0; i < 50 && issuer.requests.jwks === fetches; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(issuer.requests.jwks).toBe(fetches + 1);
    expect(await codeOf(engine.verify(token))).toBe('ERR_TOKEN_KEY_NOT_FOUND');
  });
});
