/**
 * Audit events on every adapter: each decision reaches `onDecision` with who, where, what was
 * required and why it was refused, and never the token.
 */
import type { DecisionEvent } from '@scopeguard/core';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { send } from '../support/http';
import { ADAPTERS, startAdapter, type RunningAdapter } from './adapters';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});
afterAll(() => issuer.close());

describe.each(ADAPTERS)('audit events on %s', (adapter) => {
  const events: DecisionEvent[] = [];
  let app: RunningAdapter;
  beforeAll(async () => {
    app = await startAdapter(adapter, {
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwksUri: issuer.jwksUri,
      permissions: { worker: ['orders.read'] },
      onDecision: (event) => {
        events.push(event);
        // Every event, so that every adapter's every decision meets a faulty sink.
        throw new Error('a faulty sink must not break requests');
      },
    });
  });
  afterAll(() => app.close());
  beforeEach(() => {
    events.length = 0;
    app.before?.();
  });

  it('reports a refusal with its code, status and route', async () => {
    expect((await send(`${app.base}/read`)).status).toBe(401);
    expect(events).toContainEqual(expect.objectContaining({ outcome: 'refused', status: 401, code: 'ERR_BEARER_MISSING', method: 'GET', route: '/read' }));
  });

  it('reports an allowed request with client, required and effective scopes, never the token', async () => {
    const token = await issuer.mint({ clientId: 'worker', scope: 'orders.read orders.write' });
    expect((await send(`${app.base}/read`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect(events).toContainEqual(
      expect.objectContaining({ outcome: 'allowed', clientId: 'worker', issuer: issuer.issuer, requiredScopes: ['orders.read'], effectiveScopes: ['orders.read'], route: '/read' }),
    );
    const serialized = JSON.stringify(events);
    expect(serialized).not.toContain(token);
    expect(serialized).not.toContain(token.split('.')[2]!);
  });

  it('reports a 403 with the scopes that were required', async () => {
    const token = await issuer.mint({ clientId: 'worker', scope: 'orders.read' });
    expect((await send(`${app.base}/any`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(403);
    expect(events).toContainEqual(
      expect.objectContaining({ outcome: 'refused', status: 403, code: 'ERR_INSUFFICIENT_SCOPE', requiredScopes: ['orders.write', 'orders.admin'] }),
    );
  });

  it('a sink that throws on every event does not break any answer', async () => {
    const token = await issuer.mint({ clientId: 'worker', scope: 'orders.read' });
    const bearer = { authorization: `Bearer ${token}` };
    expect((await send(`${app.base}/auth`, { headers: bearer })).status).toBe(200);
    expect((await send(`${app.base}/read`, { headers: bearer })).status).toBe(200);
    expect((await send(`${app.base}/any`, { headers: bearer })).status).toBe(403);
    expect((await send(`${app.base}/read`)).status).toBe(401);
    expect(events.map((event) => event.outcome)).toEqual(['authenticated', 'authenticated', 'allowed', 'authenticated', 'refused', 'refused']);
  });
});
