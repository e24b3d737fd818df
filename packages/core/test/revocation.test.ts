/** Issue 16: revoked tokens (isRevoked) and inactive clients (INACTIVE_CLIENT from the permission source). */
import { INACTIVE_CLIENT, Scopeguard, type ScopeguardOptions } from '@scopeguard/core';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { codeOf } from '../../../test/support/outcome';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});
afterAll(() => issuer.close());

const guard = (options: Partial<ScopeguardOptions>) => new Scopeguard({ ...issuer.options(), ...options } as ScopeguardOptions);
const admit = (engine: Scopeguard, token: string) => Promise.resolve().then(() => engine.admit({ authorization: `Bearer ${token}` }));

describe('isRevoked', () => {
  it('refuses a revoked token (401 ERR_TOKEN_REVOKED), given its jti and principal, cached per token for the ttl', async () => {
    let now = Date.now();
    const revoked = new Set<string>();
    const asked: { jti: string | undefined; clientId: string | undefined }[] = [];
    const engine = guard({ permissions: 'token', clock: () => now, revocationLookup: { ttl: 30 }, isRevoked: ({ jti, principal }) => (asked.push({ jti, clientId: principal.clientId }), revoked.has(jti!)) });
    const token = await issuer.mint({ clientId: 'orders-worker', claims: { jti: 'j-1' } });
    expect(await codeOf(admit(engine, token))).toBe('OK');
    expect(await codeOf(admit(engine, token))).toBe('OK');
    expect(asked).toEqual([{ jti: 'j-1', clientId: 'orders-worker' }]); // one answer serves the ttl
    revoked.add('j-1');
    expect(await codeOf(admit(engine, token))).toBe('OK'); // still within the ttl
    now += 31_000;
    const error = await admit(engine, token).catch((e: unknown) => e as { code: string; status: number; error: string });
    expect(error).toMatchObject({ code: 'ERR_TOKEN_REVOKED', status: 401, error: 'invalid_token' });
  });

  it('answers 503 when the hook throws, rejects, times out or answers nonsense; never a pass', async () => {
    const token = await issuer.mint({ claims: { jti: 'j-2' } });
    for (const isRevoked of [
      () => { throw new Error('down'); },
      () => Promise.reject(new Error('down')),
      () => new Promise<boolean>(() => undefined),
      () => 'no' as unknown as boolean,
    ]) {
      const engine = guard({ permissions: 'token', isRevoked, revocationLookup: { timeoutMs: 50 } });
      expect(await codeOf(admit(engine, token))).toBe('ERR_REVOCATION_UNAVAILABLE');
    }
  });

  it('refuses a wrong isRevoked option at construction', () => {
    expect(() => guard({ permissions: 'token', isRevoked: 'yes' as never })).toThrow(/isRevoked/);
  });
});

describe('inactive clients', () => {
  it("a resolver's INACTIVE_CLIENT refuses the client's tokens (401 ERR_CLIENT_INACTIVE) within the lookup ttl", async () => {
    let now = Date.now();
    let active = true;
    const engine = guard({ clock: () => now, permissionLookup: { ttl: 10 }, permissions: () => (active ? ['orders.read'] : INACTIVE_CLIENT) });
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read' });
    expect(await codeOf(admit(engine, token))).toBe('OK');
    active = false;
    now += 11_000;
    const error = (await admit(engine, token).then(() => undefined, (e: unknown) => e)) as { code: string; status: number; error: string; description: string };
    expect(error).toMatchObject({ code: 'ERR_CLIENT_INACTIVE', status: 401, error: 'invalid_token' });
    expect(error.description).toMatch(/not active/);
  });

  it('a permission map can mark a client inactive too', async () => {
    const engine = guard({ permissions: { 'orders-worker': INACTIVE_CLIENT, 'orders-reporter': ['orders.read'] } });
    expect(await codeOf(admit(engine, await issuer.mint({ clientId: 'orders-worker' })))).toBe('ERR_CLIENT_INACTIVE');
    expect(await codeOf(admit(engine, await issuer.mint({ clientId: 'orders-reporter' })))).toBe('OK');
  });

  it('a long-lived request object (a WebSocket upgrade) is refused too once the revocation or the inactive client is seen', async () => {
    let now = Date.now();
    let revoked = false;
    let active = true;
    const engine = guard({ clock: () => now, revocationLookup: { ttl: 5 }, permissionLookup: { ttl: 5 }, isRevoked: () => revoked, permissions: () => (active ? ['orders.read'] : INACTIVE_CLIENT) });
    const token = await issuer.mint({ clientId: 'orders-worker', claims: { jti: 'ws-1' } });
    const carrier = {};
    const request = { authorization: `Bearer ${token}`, carrier };
    expect(await codeOf(Promise.resolve().then(() => engine.admit(request)))).toBe('OK');
    revoked = true;
    now += 6_000;
    expect(await codeOf(Promise.resolve().then(() => engine.admit(request)))).toBe('ERR_TOKEN_REVOKED');
    revoked = false;
    active = false;
    now += 6_000;
    expect(await codeOf(Promise.resolve().then(() => engine.admit({ authorization: `Bearer ${token}`, carrier: {} })))).toBe('ERR_CLIENT_INACTIVE');
  });
});

