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

  // RFC 7519 §4.1.7: jti is a string. One of another type would reach isRevoked as `undefined` and
  // pass a deny list that holds its id (issue 26, red team).
  it.each([['a number', 7], ['an array', ['j-7']], ['an object', { id: 'j-7' }], ['true', true], ['an empty string', '']])(
    'refuses a token whose jti is %s when revocation is configured (401, isRevoked not asked)',
    async (_, jti) => {
      const asked: unknown[] = [];
      const engine = guard({ permissions: 'token', isRevoked: (query) => (asked.push(query.jti), query.jti === undefined || query.jti === 'j-7' || query.jti === '7') });
      const error = (await admit(engine, await issuer.mint({ claims: { jti } })).then(() => undefined, (e: unknown) => e)) as { code: string; status: number; claim: string; description: string };
      expect(error).toMatchObject({ code: 'ERR_TOKEN_CLAIM', status: 401, claim: 'jti', description: 'the jti claim has an invalid type' });
      expect(asked).toEqual([]);
    },
  );

  it('a token without jti is still asked about (by the token itself), and a non-string jti is ignored when nothing reads it', async () => {
    const asked: unknown[] = [];
    const engine = guard({ permissions: 'token', isRevoked: (query) => (asked.push(query.jti), false) });
    expect(await codeOf(admit(engine, await issuer.mint({ claims: { jti: undefined } })))).toBe('OK');
    expect(asked).toEqual([undefined]);
    expect(await codeOf(admit(guard({ permissions: 'token' }), await issuer.mint({ claims: { jti: 7 } })))).toBe('OK');
    expect(await codeOf(admit(guard({ permissions: 'token', strict: true }), await issuer.mint({ claims: { jti: 7 } })))).toBe('ERR_TOKEN_CLAIM');
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


describe('engine.invalidate (issue 18: a change heard from another instance)', () => {
  it('drops the cached revocation answer of a jti and the cached permissions of a client, at once, on every issuer entry', async () => {
    const revoked = new Set<string>();
    const inactive = new Set<string>();
    const engine = guard({
      revocationLookup: { ttl: 600 },
      permissionLookup: { ttl: 600 },
      isRevoked: ({ jti }) => revoked.has(jti!),
      permissions: ({ clientId }) => (inactive.has(clientId) ? INACTIVE_CLIENT : ['orders.read']),
    });
    const first = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', claims: { jti: 'inv-1' } });
    const second = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', claims: { jti: 'inv-2' } });
    const other = await issuer.mint({ clientId: 'orders-reporter', scope: 'orders.read', claims: { jti: 'inv-3' } });
    for (const token of [first, second, other]) expect(await codeOf(admit(engine, token))).toBe('OK');

    revoked.add('inv-1');
    engine.invalidate({ jti: 'inv-1' });
    expect(await codeOf(admit(engine, first))).toBe('ERR_TOKEN_REVOKED');
    expect(await codeOf(admit(engine, second))).toBe('OK');

    inactive.add('orders-worker');
    engine.invalidate({ clientId: 'orders-worker' });
    expect(await codeOf(admit(engine, second))).toBe('ERR_CLIENT_INACTIVE');
    expect(await codeOf(admit(engine, other))).toBe('OK');

    inactive.delete('orders-worker');
    revoked.delete('inv-1');
    engine.invalidate(); // everything: what an instance does when it may have missed changes
    expect(await codeOf(admit(engine, first))).toBe('OK');
    expect(await codeOf(admit(engine, second))).toBe('OK');
  });

  it('an answer asked for before the change is not cached after it', async () => {
    let revoked = false;
    let release: () => void = () => undefined;
    const engine = guard({
      permissions: 'token',
      revocationLookup: { ttl: 600 },
      isRevoked: () => {
        const before = revoked;
        return new Promise<boolean>((resolve) => (release = () => resolve(before)));
      },
    });
    const token = await issuer.mint({ claims: { jti: 'inv-4' } });
    const inFlight = admit(engine, token);
    await new Promise((resolve) => setImmediate(resolve));
    revoked = true;
    engine.invalidate({ jti: 'inv-4' });
    release();
    expect(await codeOf(inFlight)).toBe('OK'); // it was asked before the revocation
    const next = admit(engine, token);
    await new Promise((resolve) => setImmediate(resolve));
    release();
    expect(await codeOf(next)).toBe('ERR_TOKEN_REVOKED'); // asked again, not served the stale answer
  });
});

describe('forgetting one name (review of issue 18)', () => {
  it('keeps every other answer, kept or under way: only the changed jti is asked again', async () => {
    const asked: string[] = [];
    const pending: (() => void)[] = [];
    const engine = guard({
      permissions: 'token',
      revocationLookup: { ttl: 600 },
      isRevoked: ({ jti }) => {
        asked.push(jti!);
        return jti === 'slow' ? new Promise<boolean>((resolve) => pending.push(() => resolve(false))) : false;
      },
    });
    const tokens = await Promise.all(['a', 'b', 'c', 'slow'].map((jti) => issuer.mint({ claims: { jti } })));
    for (const token of tokens.slice(0, 3)) expect(await codeOf(admit(engine, token))).toBe('OK');
    const slow = admit(engine, tokens[3]!);
    await new Promise((resolve) => setImmediate(resolve));
    engine.invalidate({ jti: 'b' });
    pending.shift()!();
    expect(await codeOf(slow)).toBe('OK');
    asked.length = 0;
    for (const token of tokens) expect(await codeOf(admit(engine, token))).toBe('OK');
    expect(asked).toEqual(['b']); // 'slow' was kept though a forget happened while it was asked
  });
});
