/**
 * The one request pipeline (`admit`): synchronous on a cache hit, one failure family, provenance per
 * request, bounded hooks, and the audit sequence every adapter inherits.
 */
import { isPrincipal, MemoryReplayStore, Scopeguard, scopeRequirement, ScopeguardError, type DecisionEvent, type ScopeguardOptions, type TokenRequest } from '@scopeguard/core';
import { InsufficientScopeError, InternalError } from '@scopeguard/core/adapter';
import { createDpopKey, createTestIssuer, type TestIssuer } from '@scopeguard/testing';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});
afterAll(() => issuer.close());

function engine(options: Partial<ScopeguardOptions> = {}): Scopeguard {
  return new Scopeguard({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, ...options } as ScopeguardOptions);
}

/** The refusal `admit` ends with, thrown or rejected. */
async function refusalOf(run: () => unknown): Promise<ScopeguardError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(ScopeguardError);
    return error as ScopeguardError;
  }
  throw new Error('admitted');
}

const read = scopeRequirement('all', ['orders.read']);

describe('admit()', () => {
  it('answers a reused token synchronously, and the same frozen principal each time', async () => {
    const guard = engine();
    const request = { authorization: `Bearer ${await issuer.mint({ scope: 'orders.read' })}` };
    await guard.admit(request);
    const cached = await guard.admit(request);
    const again = guard.admit(request, [read]);
    expect(again).not.toBeInstanceOf(Promise);
    expect(again).toBe(cached);
    expect(isPrincipal(again)).toBe(true);
  });

  it('a custom adapter without dpopRequest gets a DPoP 401 for a DPoP request, never a TypeError', async () => {
    const guard = engine({ dpop: {} });
    const key = await createDpopKey('ES256');
    const token = await issuer.mint({ claims: { cnf: { jkt: key.jkt } } });
    const refusal = await refusalOf(() => guard.admit({ authorization: `DPoP ${token}` }));
    expect(refusal).toMatchObject({ status: 401, code: 'ERR_DPOP_PROOF', scheme: 'DPoP' });
    expect(guard.errorResponse(refusal).headers['WWW-Authenticate']).toMatch(/^DPoP realm="[^"]+", error="invalid_dpop_proof"/);
  });

  it('turns an unforeseen failure into a generic 500 whose cause only the audit event carries', async () => {
    const events: DecisionEvent[] = [];
    const guard = engine({ mtls: {}, onDecision: (event) => void events.push(event) });
    const request: TokenRequest = {
      authorization: `Bearer ${await issuer.mint()}`,
      clientCertificateThumbprint: () => {
        throw new Error('socket exploded at 10.0.0.5');
      },
    };
    const refusal = await refusalOf(() => guard.admit(request));
    expect(refusal).toBeInstanceOf(InternalError);
    const { status, headers, body } = guard.errorResponse(refusal);
    expect({ status, body }).toEqual({ status: 500, body: { error: 'server_error', error_description: 'the request could not be processed' } });
    expect(headers['WWW-Authenticate']).toBeUndefined();
    expect(events).toEqual([expect.objectContaining({ outcome: 'error', status: 500, code: 'ERR_INTERNAL', cause: 'socket exploded at 10.0.0.5' })]);
  });

  it('admits a request (its carrier) once: a later stage only checks requirements, against what the engine found', async () => {
    const events: DecisionEvent[] = [];
    let lookups = 0;
    const guard = engine({
      tokenCache: false,
      permissions: () => (lookups++, ['orders.read']),
      onDecision: (event) => void events.push(event),
    });
    const carrier = {};
    const request = { authorization: `Bearer ${await issuer.mint({ clientId: 'w', scope: 'orders.read orders.admin' })}`, carrier };
    const principal = await guard.admit(request);
    expect(guard.admit(request, [read])).toBe(principal); // synchronous: nothing verified again
    await expect(refusalOf(() => guard.admit({ carrier }, [scopeRequirement('all', ['orders.admin'])]))).resolves.toMatchObject({ status: 403 });
    expect(lookups).toBe(1);
    expect(events.map((event) => event.outcome)).toEqual(['authenticated', 'allowed', 'refused']);
    expect(events[2]).toMatchObject({ clientId: 'w', code: 'ERR_INSUFFICIENT_SCOPE', requiredScopes: ['orders.admin'], effectiveScopes: ['orders.read'] });
  });

  it('a DPoP proof is verified (and its jti used) once per request, whatever stages run', async () => {
    const guard = engine({ dpop: {} });
    const key = await createDpopKey('ES256');
    const token = await issuer.mint({ scope: 'orders.read', claims: { cnf: { jkt: key.jkt } } });
    const proof = await key.proof({ method: 'GET', url: 'http://api.test/read', accessToken: token });
    const request = (carrier: object): TokenRequest => ({
      authorization: `DPoP ${token}`,
      carrier,
      dpopRequest: () => ({ proofs: [proof], method: 'GET', target: '/read', host: 'api.test', secure: false }),
    });
    const carrier = {};
    await guard.admit(request(carrier));
    await guard.admit(request(carrier), [read]);
    // Another request with the same proof is a replay.
    expect(await refusalOf(() => guard.admit(request({})))).toMatchObject({ code: 'ERR_DPOP_PROOF', description: 'the DPoP proof was already used' });
  });

  it('objects of a principal\'s shape are not principals', () => {
    expect(isPrincipal({ clientId: 'x', permissions: ['orders.admin'] })).toBe(false);
    expect(isPrincipal(undefined)).toBe(false);
  });
});

describe('permission resolver answers', () => {
  it.each([
    ['a string', () => 'orders.read'],
    ['a number', () => 42],
    ['an array with a non-string', () => ['orders.read', 7]],
    ['more than 10 000 permissions', () => Array.from({ length: 10_001 }, (_, i) => `p${i}`)],
    ['an endless iterable', () => ({ *[Symbol.iterator]() { for (;;) yield 'orders.read'; } })],
    ['a thenable whose then throws', () => ({ then() { throw new Error('boom'); } })],
  ])('%s: 503, never a hang or a crash', async (_name, resolver) => {
    const guard = engine({ permissions: resolver as never, permissionLookup: { timeoutMs: 200 } });
    const request = { authorization: `Bearer ${await issuer.mint({ clientId: 'w' })}` };
    const refusal = await refusalOf(() => guard.admit(request));
    expect(refusal).toMatchObject({ status: 503, code: 'ERR_PERMISSIONS_UNAVAILABLE' });
    expect(guard.errorResponse(refusal).headers['Retry-After']).toMatch(/^\d+$/);
  });
});

describe('the injected clock', () => {
  it('drives the claim rules and the verdict cache', async () => {
    let now = Date.now();
    const guard = engine({ clock: () => now, clockTolerance: 0 });
    const request = { authorization: `Bearer ${await issuer.mint({ expiresIn: 120, notBefore: 30 })}` };
    expect(await refusalOf(() => guard.admit(request))).toMatchObject({ code: 'ERR_TOKEN_NOT_YET_VALID' });
    now += 31_000;
    await guard.admit(request);
    await guard.admit(request);
    now += 90_000;
    expect(await refusalOf(() => guard.admit(request))).toMatchObject({ code: 'ERR_TOKEN_EXPIRED' });
  });
});

describe('found by review', () => {
  const dpopRequest = (token: string, proof: string): TokenRequest => ({
    authorization: `DPoP ${token}`,
    carrier: {},
    dpopRequest: () => ({ proofs: [proof], method: 'GET', target: '/read', host: 'api.test', secure: false }),
  });

  it('concurrent requests that share one failing lookup each get their own refusal and audit event', async () => {
    const events: DecisionEvent[] = [];
    const guard = engine({ permissions: () => Promise.reject(new Error('db down')), onDecision: (event) => void events.push(event) });
    const token = await issuer.mint({ clientId: 'w' });
    const refusals = await Promise.all(['/a', '/b', '/c'].map((route) => refusalOf(() => guard.admit({ authorization: `Bearer ${token}`, carrier: {} }, [], { method: 'GET', route }))));
    expect(refusals.map((refusal) => refusal.status)).toEqual([503, 503, 503]);
    expect(events.map((event) => [event.outcome, event.route])).toEqual([['unavailable', '/a'], ['unavailable', '/b'], ['unavailable', '/c']]);
  });

  it('a Bearer request never gets the DPoP challenge of a concurrent DPoP request that shared its refusal', async () => {
    const guard = engine({ dpop: {}, permissions: () => new Promise((_, reject) => setTimeout(() => reject(new Error('db down')), 20)) });
    const key = await createDpopKey('ES256');
    const token = await issuer.mint({ clientId: 'w', claims: { cnf: { jkt: key.jkt } } });
    const [viaDpop, viaBearer] = await Promise.all([
      refusalOf(() => guard.admit(dpopRequest(token, 'x.y.z'))),
      refusalOf(() => guard.admit({ authorization: `Bearer ${token}`, carrier: {} })),
    ]);
    expect(viaDpop.scheme).toBe('DPoP');
    expect(viaBearer.scheme).toBe('Bearer');
  });

  it('a DPoP proof dated ahead of the server clock cannot be replayed while it is fresh (default store, injected clock)', async () => {
    let now = Date.now();
    const guard = engine({ clock: () => now, dpop: {} });
    const key = await createDpopKey('ES256');
    const token = await issuer.mint({ expiresIn: 3600, claims: { cnf: { jkt: key.jkt } } });
    const proof = await key.proof({ method: 'GET', url: 'http://api.test/read', accessToken: token, iat: 60 });
    await guard.admit(dpopRequest(token, proof));
    for (const step of [1_000, 61_000, 50_000]) {
      now += step;
      expect(await refusalOf(() => guard.admit(dpopRequest(token, proof)))).toMatchObject({ code: 'ERR_DPOP_PROOF' });
    }
  });

  it('a clock running behind real time still refuses replays (the default store reads the same clock)', async () => {
    const guard = engine({ dpop: {}, clock: () => Date.now() - 120_000 });
    const key = await createDpopKey('ES256');
    const token = await issuer.mint({ issuedAt: -120, expiresIn: 300, claims: { cnf: { jkt: key.jkt } } });
    const proof = await key.proof({ method: 'GET', url: 'http://api.test/read', accessToken: token, iat: -120 });
    await guard.admit(dpopRequest(token, proof));
    expect(await refusalOf(() => guard.admit(dpopRequest(token, proof)))).toMatchObject({ description: 'the DPoP proof was already used' });
  });

  it.each([
    ['NaN', () => NaN],
    ['a string', () => String(Date.now())],
    ['seconds', () => Date.now() / 1000],
  ])('a clock answering %s is refused at construction', (_name, clock) => {
    expect(() => engine({ clock: clock as () => number })).toThrow(/clock/);
  });

  it('a clock that turns bad later, or throws, fails closed with a generic 500, never an admission or a 401', async () => {
    let mode: 'ok' | 'nan' | 'throw' = 'ok';
    const events: DecisionEvent[] = [];
    const guard = engine({
      tokenCache: false,
      onDecision: (event) => void events.push(event),
      clock: () => {
        if (mode === 'throw') throw new Error('clock source /dev/ptp0 gone');
        return mode === 'nan' ? NaN : Date.now();
      },
    });
    await guard.admit({ authorization: `Bearer ${await issuer.mint()}` });
    const expired = await issuer.mint({ expiresIn: -3600, issuedAt: -7200 });
    for (mode of ['nan', 'throw'] as const) {
      expect(await refusalOf(() => guard.admit({ authorization: `Bearer ${expired}` }))).toBeInstanceOf(InternalError);
    }
    expect(events.slice(-2).map((event) => event.outcome)).toEqual(['error', 'error']);
  });

  it('a long-lived carrier (a WebSocket upgrade request) is re-checked: its token expires on it too', async () => {
    let now = Date.now();
    const guard = engine({ clock: () => now, clockTolerance: 0 });
    const carrier = {};
    const request = { authorization: `Bearer ${await issuer.mint({ scope: 'orders.read', expiresIn: 60 })}`, carrier };
    await guard.admit(request);
    expect(guard.admit(request, [read])).not.toBeInstanceOf(Promise);
    now += 61_000;
    expect(await refusalOf(() => guard.admit(request, [read]))).toMatchObject({ code: 'ERR_TOKEN_EXPIRED' });
  });

  it('a timeout option beyond what timers can hold is refused at construction', () => {
    expect(() => engine({ dpop: { replayStoreTimeoutMs: 3_000_000_000 } })).toThrow(/dpop.replayStoreTimeoutMs/);
    expect(() => engine({ permissionLookup: { timeoutMs: 3_000_000_000 } })).toThrow(/permissionLookup.timeoutMs/);
    expect(() => engine({ jwks: { timeoutMs: 3_000_000_000 } })).toThrow(/jwks.timeoutMs/);
  });

  it('an app-level refusal after admission (Passport validate()) stands for every later stage of that request', async () => {
    const events: DecisionEvent[] = [];
    const guard = engine({ onDecision: (event) => void events.push(event) });
    const request = { authorization: `Bearer ${await issuer.mint({ scope: 'orders.read' })}`, carrier: {} };
    await guard.admit(request);
    const refusal = InsufficientScopeError.unknownClient();
    expect(guard.refuse(refusal, request).status).toBe(403);
    expect(() => guard.admit(request, [read])).toThrow(refusal);
    expect(events.map((event) => event.outcome)).toEqual(['authenticated', 'refused']);
    // Another request with the same token is judged on its own.
    await expect(Promise.resolve(guard.admit({ authorization: request.authorization, carrier: {} }, [read]))).resolves.toHaveProperty('clientId');
  });
});

describe('DPoP proof checks, cheapest first', () => {
  it('a proof by a key the token is not bound to is refused before its signature is checked, and oversized RSA keys never are', async () => {
    const guard = engine({ dpop: {} });
    const key = await createDpopKey('ES256');
    const other = await createDpopKey('RS256');
    const token = await issuer.mint({ claims: { cnf: { jkt: key.jkt } } });
    // A proof whose signature would not verify, by another key: the binding check alone refuses it.
    const proof = await other.proof({ method: 'GET', url: 'http://api.test/read', accessToken: token });
    const [header, payload] = proof.split('.');
    const refusal = await refusalOf(() => guard.admit({
      authorization: `DPoP ${token}`,
      dpopRequest: () => ({ proofs: [`${header}.${payload}.AAAA`], method: 'GET', target: '/read', host: 'api.test', secure: false }),
    }));
    expect(refusal).toMatchObject({ code: 'ERR_DPOP_PROOF', description: 'the access token is not bound to the DPoP proof key' });
    // An RSA proof key over 8192 bits (or with a huge exponent) is refused as unsuitable, unverified.
    const huge = { kty: 'RSA', n: Buffer.alloc(2048, 0xff).toString('base64url'), e: 'AQAB' };
    const hugeHeader = Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg: 'RS256', jwk: huge })).toString('base64url');
    const hugeRefusal = await refusalOf(() => guard.admit({
      authorization: `DPoP ${token}`,
      dpopRequest: () => ({ proofs: [`${hugeHeader}.${payload}.AAAA`], method: 'GET', target: '/read', host: 'api.test', secure: false }),
    }));
    expect(hugeRefusal).toMatchObject({ code: 'ERR_DPOP_PROOF', description: 'the DPoP proof key does not suit its algorithm' });
  });
});

describe('DPoP nonces shared by instances (issue 18)', () => {
  it('a nonce from one engine is accepted by another with the same nonceSecret, and refused by one without', async () => {
    const secret = 'a shared secret of at least 32 bytes, from Redis or the environment';
    const [a, b, alone] = [engine({ permissions: 'token', dpop: { nonce: true, nonceSecret: secret } }), engine({ permissions: 'token', dpop: { nonce: true, nonceSecret: secret } }), engine({ permissions: 'token', dpop: { nonce: true } })];
    const key = await createDpopKey('ES256');
    const token = await issuer.mint({ scope: 'orders.read', claims: { cnf: { jkt: key.jkt } } });
    const send = async (to: Scopeguard, nonce?: string) => {
      const proof = await key.proof({ method: 'GET', url: 'http://api.test/read', accessToken: token, ...(nonce !== undefined && { nonce }) });
      return to.admit({ authorization: `DPoP ${token}`, dpopRequest: () => ({ proofs: [proof], method: 'GET', target: '/read', host: 'api.test', secure: false }) });
    };
    const challenge = await refusalOf(() => send(a));
    expect(challenge).toMatchObject({ code: 'ERR_DPOP_NONCE' });
    const nonce = (challenge as unknown as { nonce: string }).nonce;
    await expect(send(b, nonce)).resolves.toMatchObject({ scopes: ['orders.read'] });
    expect(await refusalOf(() => send(alone, nonce))).toMatchObject({ code: 'ERR_DPOP_NONCE' });
  });

  it('refuses a short or wrongly typed nonceSecret at construction', () => {
    expect(() => engine({ permissions: 'token', dpop: { nonce: true, nonceSecret: 'short' } })).toThrow(/nonceSecret/);
    expect(() => engine({ permissions: 'token', dpop: { nonce: true, nonceSecret: 42 as never } })).toThrow(/nonceSecret/);
  });
});

describe('RFC 9728 metadata', () => {
  it('states proof-of-possession support: DPoP algorithms and whether bound tokens are required, and certificate binding', () => {
    const resourceMetadata = { resource: 'https://api.example.com/orders' };
    expect(engine({ resourceMetadata }).resourceMetadata()!.document).not.toHaveProperty('dpop_signing_alg_values_supported');
    const dpop = engine({ resourceMetadata, dpop: { mode: 'required', algorithms: ['ES256', 'EdDSA'] }, mtls: {} }).resourceMetadata()!.document;
    expect(dpop).toMatchObject({
      dpop_signing_alg_values_supported: ['ES256', 'EdDSA'],
      dpop_bound_access_tokens_required: true,
      tls_client_certificate_bound_access_tokens: true,
    });
    expect(engine({ resourceMetadata, dpop: {} }).resourceMetadata()!.document).toMatchObject({ dpop_bound_access_tokens_required: false });
  });
});

describe('the in-memory DPoP replay store', () => {
  it('is fair per client: one client filling its share is refused, others are not; expired entries make room; replays stay refused', () => {
    let now = 1_800_000_000_000;
    const store = new MemoryReplayStore(100, () => now, 10);
    for (let i = 0; i < 10; i++) expect(store.claim(`client-a:${i}`, now + 60_000)).toBe(true);
    // Client A has its share: its next proof cannot be recorded (a 503 through the engine), never forgotten.
    expect(() => store.claim('client-a:10', now + 60_000)).toThrow(/client/);
    expect(store.claim('client-b:0', now + 60_000)).toBe(true);
    expect(store.claim('client-a:3', now + 60_000)).toBe(false); // a replay is still a replay
    now += 61_000;
    expect(store.claim('client-a:10', now + 60_000)).toBe(true); // A's old entries expired
    expect(store.claim('client-a:3', now + 60_000)).toBe(true); // and a jti may come back once its proof is stale
  });

  it('never scans: 200 000 claims over time stay bounded by live entries', () => {
    let now = 1_800_000_000_000;
    const store = new MemoryReplayStore(100_000, () => now);
    let refused = 0;
    for (let i = 0; i < 200_000; i++) {
      if (!store.claim(`client-${i % 50}:${i}`, now + 1_000)) refused++;
      now += 1; // 1 000 live entries at any time
    }
    expect(refused).toBe(0);
    expect(store.size).toBeLessThanOrEqual(1_001);
  });
});
