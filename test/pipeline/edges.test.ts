/**
 * The edges an adversarial review found, on every adapter over real HTTP: hooks that throw, reject,
 * never answer or answer nonsense; a foreign `req.auth`; an audit sink that rejects. Every answer
 * must be a clean refusal (503 + Retry-After for an outage) with nothing of the failure's text in
 * it, and no promise may be dropped (Jest fails the run on an unhandled rejection).
 */
import type { DecisionEvent, DpopReplayStore, ScopeguardOptions } from '@scopeguard/core';
import { createDpopKey, createTestIssuer, type DpopKey, type TestIssuer } from '@scopeguard/testing';
import { send, type TestResponse } from '../support/http';
import { ADAPTERS, startAdapter, type RunningAdapter } from '../conformance/adapters';

let issuer: TestIssuer;
let key: DpopKey;
beforeAll(async () => {
  issuer = await createTestIssuer();
  key = await createDpopKey('ES256');
});
afterAll(() => issuer.close());

const SECRET = 'ECONNREFUSED 10.0.0.5:6379';
const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

function expectOutage(res: TestResponse): void {
  expect(res.status).toBe(503);
  expect(res.body.error).toBe('temporarily_unavailable');
  expect(res.headers['retry-after']).toMatch(/^\d+$/);
  expect(res.headers['www-authenticate']).toBeUndefined();
  expect(res.text).not.toContain('10.0.0.5');
  expect(res.text).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack
}

describe.each(ADAPTERS)('hook faults on %s', (adapter) => {
  const base = (): ScopeguardOptions => ({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri });
  const apps: RunningAdapter[] = [];
  const start = async (options: ScopeguardOptions, extras = {}) => {
    const app = await startAdapter(adapter, options, undefined, extras);
    apps.push(app);
    return app;
  };
  afterAll(() => Promise.all(apps.map((app) => app.close())));
  const call = (app: RunningAdapter, path: string, headers: Record<string, string> | string[] = {}) => {
    app.before?.();
    return send(`${app.base}${path}`, { headers });
  };

  describe('permission resolver', () => {
    let mode: 'ok' | 'unknown' | 'throw' | 'reject' | 'never' = 'ok';
    let app: RunningAdapter;
    beforeAll(async () => {
      app = await start({
        ...base(),
        permissions: () => {
          switch (mode) {
            case 'ok': return ['orders.read'];
            case 'unknown': return undefined;
            case 'throw': throw new Error(SECRET);
            case 'reject': return Promise.reject(new Error(SECRET));
            case 'never': return new Promise<string[]>(() => undefined);
          }
        },
        // ttl 0: every request asks again, as a cached token does once the permission ttl has passed.
        permissionLookup: { ttl: 0, timeoutMs: 200 },
      });
    });

    it.each(['unknown', 'throw', 'reject', 'never'] as const)('a cached token whose lookup then goes %s: refused cleanly, the process survives', async (failure) => {
      mode = 'ok';
      const token = await issuer.mint({ clientId: 'worker', scope: 'orders.read' });
      const bearer = { authorization: `Bearer ${token}` };
      // Seen twice: the verdict is cached, so the next request takes the synchronous path.
      expect((await call(app, '/read', bearer)).status).toBe(200);
      expect((await call(app, '/read', bearer)).status).toBe(200);
      mode = failure;
      for (let i = 0; i < 2; i++) {
        const res = await call(app, '/read', bearer);
        if (failure === 'unknown') {
          expect(res.status).toBe(403);
          expect(res.body.error).toBe('insufficient_scope');
        } else expectOutage(res);
        await tick();
      }
      mode = 'ok';
      expect((await call(app, '/read', bearer)).status).toBe(200);
    });
  });

  describe('DPoP replay store', () => {
    let mode: 'ok' | 'throw' | 'reject' | 'never' | 'wrong-type' = 'ok';
    const store: DpopReplayStore = {
      claim: () => {
        switch (mode) {
          case 'ok': return true;
          case 'throw': throw new Error(SECRET);
          case 'reject': return Promise.reject(new Error(SECRET));
          case 'never': return new Promise<boolean>(() => undefined);
          case 'wrong-type': return 'yes' as unknown as boolean;
        }
      },
    };
    let app: RunningAdapter;
    beforeAll(async () => {
      app = await start({ ...base(), dpop: { replayStore: store, replayStoreTimeoutMs: 200 } } as ScopeguardOptions);
    });

    it.each(['throw', 'reject', 'never', 'wrong-type'] as const)('a store that goes %s: 503 with nothing of its error, no hang', async (failure) => {
      const token = await issuer.mint({ clientId: 'worker', scope: 'orders.read', claims: { cnf: { jkt: key.jkt } } });
      mode = failure;
      const proof = await key.proof({ method: 'GET', url: `${app.base}/read`, accessToken: token });
      const res = await call(app, '/read', ['Authorization', `DPoP ${token}`, 'DPoP', proof]);
      expectOutage(res);
      mode = 'ok';
      const fresh = await key.proof({ method: 'GET', url: `${app.base}/read`, accessToken: token });
      expect((await call(app, '/read', ['Authorization', `DPoP ${token}`, 'DPoP', fresh])).status).toBe(200);
    });
  });

  describe('audit sink', () => {
    const seen: DecisionEvent[] = [];
    let app: RunningAdapter;
    beforeAll(async () => {
      app = await start({
        ...base(),
        permissions: { worker: ['orders.read'] },
        onDecision: async (event) => {
          seen.push(event);
          throw new Error(SECRET);
        },
      });
    });

    it('an async sink that rejects on every event is ignored, on every outcome', async () => {
      const token = await issuer.mint({ clientId: 'worker', scope: 'orders.read' });
      for (const [path, headers, status] of [
        ['/read', { authorization: `Bearer ${token}` }, 200],
        ['/auth', { authorization: `Bearer ${token}` }, 200],
        ['/any', { authorization: `Bearer ${token}` }, 403],
        ['/read', {}, 401],
      ] as const) {
        expect((await call(app, path, headers)).status).toBe(status);
        await tick();
      }
      expect(seen.length).toBeGreaterThanOrEqual(4);
    });
  });

  describe('a foreign req.auth', () => {
    let app: RunningAdapter;
    beforeAll(async () => {
      app = await start({ ...base(), permissions: { reporter: ['orders.read'] } }, { forgeAuth: true });
    });

    it('is ignored: no token is still a 401', async () => {
      const res = await call(app, '/auth');
      expect(res.status).toBe(401);
      expect((await call(app, '/read')).status).toBe(401);
    });

    it('is ignored: requirements are checked against what the engine found', async () => {
      const token = await issuer.mint({ clientId: 'reporter', scope: 'orders.read orders.admin' });
      expect((await call(app, '/read', { authorization: `Bearer ${token}` })).status).toBe(200);
      const res = await call(app, '/any', { authorization: `Bearer ${token}` });
      expect(res.status).toBe(403);
      expect(res.headers['www-authenticate']).toContain('scope="orders.write orders.admin"');
    });
  });
});
