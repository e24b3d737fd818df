/**
 * @scopeguard/redis against a real redis-server (started here on a free port, stopped after): two
 * engines, each with its own connections as two instances would have, sharing one Redis.
 * Run by `npm run test:redis`.
 */
import type { Redis } from 'ioredis';
import { INACTIVE_CLIENT, Scopeguard, ScopeguardError, type ScopeguardOptions, type TokenRequest } from '@scopeguard/core';
import { connectRedis, redisStore, type RedisStore } from '@scopeguard/redis';
import { createDpopKey, createTestIssuer, type DpopKey, type TestIssuer } from '@scopeguard/testing';
import { startRedis, type TestRedis } from '../../../test/support/redis-server';

let redis: TestRedis;
let issuer: TestIssuer;
const clients: Redis[] = [];
const stores: RedisStore[] = [];

beforeAll(async () => {
  redis = await startRedis();
  issuer = await createTestIssuer();
});
afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  for (const client of clients) client.disconnect();
  await redis.stop();
  await issuer.close();
});

const quiet = { warn: () => undefined, info: () => undefined };

/** An instance: its own Redis connection, store and engine. */
async function instance(options: Partial<ScopeguardOptions> = {}, attach = true): Promise<{ engine: Scopeguard; store: RedisStore; client: Redis }> {
  const client = connectRedis(redis.url);
  clients.push(client);
  const store = redisStore({ client, logger: quiet });
  stores.push(store);
  const engine = new Scopeguard({
    ...issuer.options(),
    permissions: store.permissions({ 'orders-worker': ['orders.read'], 'orders-reporter': ['orders.read'] }),
    isRevoked: store.isRevoked,
    permissionLookup: { ttl: 600 },
    revocationLookup: { ttl: 600 },
    dpop: { nonce: true, nonceSecret: await store.nonceSecret(), replayStore: store.replayStore },
    ...options,
  } as ScopeguardOptions);
  if (attach) await store.attach(engine);
  return { engine, store, client };
}

/** The outcome of admitting a request: 'OK' or the refusal's code. */
async function outcome(engine: Scopeguard, request: TokenRequest): Promise<string> {
  try {
    await engine.admit(request);
    return 'OK';
  } catch (error) {
    if (error instanceof ScopeguardError) return error.code;
    throw error;
  }
}

const bearer = (token: string): TokenRequest => ({ authorization: `Bearer ${token}` });

async function dpopRequest(key: DpopKey, token: string, nonce?: string): Promise<TokenRequest> {
  const proof = await key.proof({ method: 'GET', url: 'https://api.test/orders', accessToken: token, ...(nonce !== undefined && { nonce }) });
  return { authorization: `DPoP ${token}`, dpopRequest: () => ({ proofs: [proof], method: 'GET', target: '/orders', host: 'api.test', secure: true }) };
}

/** Polls `check` until it is true or `withinMs` has passed; the time it took. */
async function within(withinMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > withinMs) throw new Error(`not within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

describe('two instances sharing one Redis', () => {
  it('a DPoP proof used on A is refused on B; a nonce A issued is accepted by B', async () => {
    const [a, b] = [await instance(), await instance()];
    const key = await createDpopKey('ES256');
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', claims: { cnf: { jkt: key.jkt }, jti: 'dpop-1' } });
    // No nonce yet: A answers use_dpop_nonce with one; B accepts a proof made with it.
    const challenge = await Promise.resolve(a.engine.admit(await dpopRequest(key, token))).then(
      () => undefined,
      (error: unknown) => error as { code: string; nonce?: string },
    );
    expect(challenge?.code).toBe('ERR_DPOP_NONCE');
    const request = await dpopRequest(key, token, challenge!.nonce);
    expect(await outcome(b.engine, request)).toBe('OK');
    // The same proof again, on A this time: a replay.
    expect(await outcome(a.engine, request)).toBe('ERR_DPOP_PROOF');
    expect(await outcome(b.engine, request)).toBe('ERR_DPOP_PROOF');
  });

  it('a token revoked on A is refused on B within a second, though B had cached it as valid', async () => {
    const [a, b] = [await instance(), await instance()];
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', claims: { jti: 'revoke-1' } });
    expect(await outcome(a.engine, bearer(token))).toBe('OK');
    expect(await outcome(b.engine, bearer(token))).toBe('OK'); // cached on B for the 600 s ttl
    await a.store.revoke({ jti: 'revoke-1', expiresAt: Date.now() + 60_000 });
    const took = await within(1000, async () => (await outcome(b.engine, bearer(token))) === 'ERR_TOKEN_REVOKED');
    expect(took).toBeLessThan(1000);
    expect(await outcome(a.engine, bearer(token))).toBe('ERR_TOKEN_REVOKED');
  });

  it('a client deactivated on A is refused on B within a second, and welcome again once activated', async () => {
    const [a, b] = [await instance(), await instance()];
    const token = await issuer.mint({ clientId: 'orders-reporter', scope: 'orders.read' });
    expect(await outcome(b.engine, bearer(token))).toBe('OK');
    await a.store.deactivateClient('orders-reporter');
    await within(1000, async () => (await outcome(b.engine, bearer(token))) === 'ERR_CLIENT_INACTIVE');
    await a.store.activateClient('orders-reporter');
    await within(1000, async () => (await outcome(b.engine, bearer(token))) === 'OK');
  });

  it('an engine that was never attached refuses with 503 (it could not hear of changes), loudly', async () => {
    const warnings: string[] = [];
    const client = connectRedis(redis.url);
    clients.push(client);
    const store = redisStore({ client, logger: { warn: (message) => warnings.push(message), info: () => undefined } });
    const engine = new Scopeguard({ ...issuer.options(), permissions: store.permissions({ 'orders-worker': ['orders.read'] }) } as ScopeguardOptions);
    expect(await outcome(engine, bearer(await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read' })))).toBe('ERR_PERMISSIONS_UNAVAILABLE');
    expect(warnings).toEqual([expect.stringContaining('attach(engine) was not called')]);
  });

  it('ignores messages on its channel that are not its own', async () => {
    const { engine, client } = await instance();
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', claims: { jti: 'noise-1' } });
    expect(await outcome(engine, bearer(token))).toBe('OK');
    for (const noise of ['not json', '[]', '{"jti":42}', 'x'.repeat(10_000), 'null']) await client.publish('scopeguard:changes', noise);
    expect(await outcome(engine, bearer(token))).toBe('OK');
  });

  it('the permission source may still say INACTIVE_CLIENT itself, and unknown clients stay unknown', async () => {
    const client = connectRedis(redis.url);
    clients.push(client);
    const store = redisStore({ client, logger: quiet });
    stores.push(store);
    const engine = new Scopeguard({ ...issuer.options(), permissions: store.permissions({ 'orders-worker': INACTIVE_CLIENT }) } as ScopeguardOptions);
    await store.attach(engine);
    expect(await outcome(engine, bearer(await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read' })))).toBe('ERR_CLIENT_INACTIVE');
    expect(await outcome(engine, bearer(await issuer.mint({ clientId: 'stranger', scope: 'orders.read' })))).toBe('ERR_UNKNOWN_CLIENT');
  });
});

describe('when Redis is down', () => {
  it('answers 503 at once, never hangs or crashes, forgets cached answers, and recovers without a restart', async () => {
    const [a, b] = [await instance(), await instance()];
    const key = await createDpopKey('ES256');
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', claims: { jti: 'outage-1' } });
    const bound = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', claims: { cnf: { jkt: key.jkt } } });
    const nonce = await Promise.resolve(a.engine.admit(await dpopRequest(key, bound))).then(
      () => undefined,
      (error: { nonce?: string }) => error.nonce,
    );
    expect(await outcome(b.engine, bearer(token))).toBe('OK');

    await redis.kill();
    // The subscription's loss drops what B had cached: it cannot hear of revocations now.
    await within(2000, async () => (await outcome(b.engine, bearer(token))) === 'ERR_REVOCATION_UNAVAILABLE');
    const started = Date.now();
    const failed = () => 'failed';
    const outcomes = await Promise.all([
      outcome(a.engine, bearer(token)),
      outcome(b.engine, await dpopRequest(key, bound, nonce as string)),
      Promise.resolve(b.store.replayStore.claim('client:proof', Date.now() + 60_000)).then(String, failed),
      a.store.revoke({ jti: 'outage-2', expiresAt: Date.now() + 60_000 }).then(String, failed),
      a.store.deactivateClient('orders-worker').then(String, failed),
    ]);
    expect(Date.now() - started).toBeLessThan(1000); // a closed connection fails at once; the engine's hook timeouts (1–2 s) are the bound
    expect(outcomes).toEqual(['ERR_REVOCATION_UNAVAILABLE', 'ERR_REVOCATION_UNAVAILABLE', 'failed', 'failed', 'failed']);

    await redis.start();
    await within(5000, async () => (await outcome(b.engine, bearer(token))) === 'OK');
    // Back: changes reach B again.
    await a.store.revoke({ jti: 'outage-1', expiresAt: Date.now() + 60_000 });
    await within(1000, async () => (await outcome(b.engine, bearer(token))) === 'ERR_TOKEN_REVOKED');
  }, 30_000);
});
