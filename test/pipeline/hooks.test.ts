/**
 * Property: whatever every pluggable hook does — answer, throw, reject, never settle, answer the
 * wrong type, answer something huge — each adapter answers every request with 200 or a clean 503
 * (`Retry-After`, nothing of the failure in it), within the hooks' deadlines, and no promise is
 * dropped. Hooks: the permission resolver, the DPoP replay store, the audit sink, the
 * introspection endpoint (a real HTTP server here), and an issuer pattern's isTrusted.
 */
import { createServer, type Server } from 'node:http';
import fc from 'fast-check';
import type { ScopeguardOptions } from '@scopeguard/core';
import { createDpopKey, createTestIssuer, type DpopKey, type TestIssuer } from '@scopeguard/testing';
import { close, listen, send } from '../support/http';
import { ADAPTERS, startAdapter, type RunningAdapter } from '../conformance/adapters';

const BEHAVIOURS = ['ok', 'throw', 'reject', 'never', 'wrong-type', 'huge'] as const;
type Behaviour = (typeof BEHAVIOURS)[number];
type Kind = 'bearer' | 'dpop' | 'opaque' | 'tenant';
const SECRET = 'redis://10.0.0.5:6379 refused';
const DEADLINE_MS = 100;

interface Faults {
  permissions: Behaviour;
  replayStore: Behaviour;
  audit: Behaviour;
  introspection: Behaviour;
  trust: Behaviour;
}
const faults: Faults = { permissions: 'ok', replayStore: 'ok', audit: 'ok', introspection: 'ok', trust: 'ok' };

/** What a hook does under `behaviour`; `ok` is `value`. */
function act<T>(behaviour: Behaviour, value: T, wrong: unknown, huge: unknown): unknown {
  switch (behaviour) {
    case 'ok': return value;
    case 'throw': throw new Error(SECRET);
    case 'reject': return Promise.reject(new Error(SECRET));
    case 'never': return new Promise(() => undefined);
    case 'wrong-type': return wrong;
    case 'huge': return huge;
  }
}

let issuer: TestIssuer;
/** An issuer of the pattern `<origin>/{tenant}`, trusted as `isTrusted` says. */
let tenant: TestIssuer;
let key: DpopKey;
let endpoint: Server;
let endpointUrl: string;
const opaqueAnswer = () => ({ active: true, iss: issuer.issuer, aud: issuer.audience, client_id: 'worker', sub: 'worker', scope: 'orders.read', exp: Math.floor(Date.now() / 1000) + 300 });

beforeAll(async () => {
  issuer = await createTestIssuer();
  tenant = await createTestIssuer({ path: 'acme' });
  key = await createDpopKey('ES256');
  // An introspection endpoint that misbehaves as told.
  endpoint = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      switch (faults.introspection) {
        case 'ok': return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(opaqueAnswer()));
        case 'throw': return void res.writeHead(500, { 'content-type': 'text/plain' }).end(SECRET);
        case 'reject': return void req.socket.destroy();
        case 'never': return; // holds the connection open
        case 'wrong-type': return void res.writeHead(200, { 'content-type': 'application/json' }).end(`[${JSON.stringify(SECRET)}]`);
        case 'huge': return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...opaqueAnswer(), pad: 'x'.repeat(600 * 1024) }));
      }
    });
  });
  endpointUrl = `${await listen(endpoint)}/introspect`;
});
afterAll(async () => {
  endpoint.closeAllConnections();
  await close(endpoint);
  await issuer.close();
  await tenant.close();
});

function options(): ScopeguardOptions {
  // ttl 0: every request asks the resolver, as a cached token does once its ttl has passed.
  const permissions = () => act(faults.permissions, ['orders.read'], 'orders.read', { *[Symbol.iterator]() { for (;;) yield 'orders.read'; } }) as string[];
  const permissionLookup = { ttl: 0, timeoutMs: DEADLINE_MS };
  return {
    issuers: [
      {
        issuer: issuer.issuer,
        audience: issuer.audience,
        jwksUri: issuer.jwksUri,
        permissions,
        permissionLookup,
        introspection: { endpoint: endpointUrl, clientId: 'api', clientSecret: 'secret', ttl: 0, timeoutMs: DEADLINE_MS },
      },
      {
        issuerPattern: `${new URL(tenant.issuer).origin}/{tenant}`,
        isTrusted: () => act(faults.trust, true, 'yes', 'x'.repeat(1_000_000)) as boolean,
        trustLookup: { ttl: 0, timeoutMs: DEADLINE_MS },
        audience: tenant.audience,
        jwksUri: tenant.jwksUri,
        permissions,
        permissionLookup,
      },
    ],
    dpop: {
      replayStore: { claim: () => act(faults.replayStore, true, 'yes', { length: 1e9 }) as boolean },
      replayStoreTimeoutMs: DEADLINE_MS,
    },
    onDecision: () => act(faults.audit, undefined, 42, 'x'.repeat(1_000_000)),
  } as ScopeguardOptions;
}

/**
 * Which hooks a request of `kind` goes through (the audit sink sees every request, and never matters).
 * A tenant once trusted keeps its last answer while `isTrusted` is asked again in the background (as a
 * key set keeps its last good keys), so only its first admission waits on `isTrusted`.
 */
function hooksOf(kind: Kind, tenantTrusted: boolean): (keyof Faults)[] {
  switch (kind) {
    case 'bearer': return ['permissions'];
    case 'dpop': return ['permissions', 'replayStore'];
    case 'opaque': return ['permissions', 'introspection'];
    case 'tenant': return tenantTrusted ? ['permissions'] : ['trust', 'permissions'];
  }
}

const scenario = fc.record({
  kind: fc.constantFrom<Kind>('bearer', 'dpop', 'opaque', 'tenant'),
  faults: fc.record({
    permissions: fc.constantFrom(...BEHAVIOURS),
    replayStore: fc.constantFrom(...BEHAVIOURS),
    audit: fc.constantFrom(...BEHAVIOURS),
    introspection: fc.constantFrom(...BEHAVIOURS),
    trust: fc.constantFrom(...BEHAVIOURS),
  }),
});

describe.each(ADAPTERS)('every hook misbehaving on %s', (adapter) => {
  let app: RunningAdapter;
  let tenantTrusted = false;
  beforeAll(async () => {
    app = await startAdapter(adapter, options());
  });
  afterAll(() => app.close());
  afterEach(() => Object.assign(faults, { permissions: 'ok', replayStore: 'ok', audit: 'ok', introspection: 'ok', trust: 'ok' }));

  async function request(kind: Kind) {
    app.before?.();
    const url = `${app.base}/read`;
    if (kind === 'opaque') return send(url, { headers: { authorization: 'Bearer b3BhcXVlLXRva2VuLWZvci1wcm9wZXJ0eS10ZXN0' } });
    if (kind === 'bearer') return send(url, { headers: { authorization: `Bearer ${await issuer.mint({ clientId: 'worker', scope: 'orders.read' })}` } });
    if (kind === 'tenant') return send(url, { headers: { authorization: `Bearer ${await tenant.mint({ clientId: 'worker', scope: 'orders.read' })}` } });
    const token = await issuer.mint({ clientId: 'worker', scope: 'orders.read', claims: { cnf: { jkt: key.jkt } } });
    const proof = await key.proof({ method: 'GET', url, accessToken: token });
    return send(url, { headers: ['Authorization', `DPoP ${token}`, 'DPoP', proof] });
  }

  it('answers 200 or a clean 503, in bounded time', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ kind, faults: drawn }) => {
        Object.assign(faults, drawn);
        const started = Date.now();
        const res = await request(kind);
        const hooks = hooksOf(kind, tenantTrusted);
        const failing = hooks.some((hook) => drawn[hook] !== 'ok');
        if (kind === 'tenant' && drawn.trust === 'ok') tenantTrusted = true;
        if (!failing) {
          expect(res.status).toBe(200);
          return;
        }
        expect(res.status).toBe(503);
        expect(res.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
        expect(res.headers['retry-after']).toMatch(/^\d+$/);
        expect(res.text).not.toContain('10.0.0.5');
        // Each hook on the path waits at most its deadline; generous slack for a loaded machine.
        expect(Date.now() - started).toBeLessThan(hooks.length * DEADLINE_MS + 2000);
      }),
      { numRuns: 30 },
    );
  }, 60_000);
});
