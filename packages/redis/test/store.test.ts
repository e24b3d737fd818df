/**
 * @scopeguard/redis against a real redis-server (started here on a free port, stopped after): two
 * engines, each with its own connections as two instances would have, sharing one Redis.
 * Run by `npm run test:redis`.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import { INACTIVE_CLIENT, Scopeguard, ScopeguardError, type PermissionResolver, type ScopeguardOptions, type TokenRequest } from '@scopeguard/core';
import { connectRedis, redisStore, type RedisStore } from '@scopeguard/redis';
import { createDpopKey, createTestIssuer, type DpopKey, type TestIssuer } from '@scopeguard/testing';
import { startRedis, type TestRedis } from '../../../test/support/redis-server';
import { within } from '../../../test/support/within';

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

/**
 * A TCP proxy to the test's Redis, for network faults: `cut(i)` closes the i-th connection made through
 * it, `blackhole()` stops forwarding without closing anything (a silent cut); either way no new
 * connection gets through afterwards. `drop(i)` closes the i-th and lets reconnections through;
 * `refuseSubscriptions(true)` closes any connection that sends a SUBSCRIBE.
 */
async function faultyLink(): Promise<{
  url: string;
  cut(index: number): void;
  drop(index: number): void;
  refuseSubscriptions(refuse: boolean): void;
  blackhole(): void;
  close(): Promise<void>;
}> {
  let open = true;
  let forwarding = true;
  let refusing = false;
  const sockets: Socket[][] = [];
  const proxy = createServer((socket) => {
    if (!open) return void socket.destroy();
    const upstream = connect(redis.port, '127.0.0.1');
    socket.on('data', (chunk) => {
      if (refusing && /subscribe/i.test(chunk.toString('latin1'))) return void socket.destroy();
      if (forwarding) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => forwarding && socket.write(chunk));
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
    sockets.push([socket, upstream]);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    cut: (index) => {
      open = false;
      for (const socket of sockets[index]!) socket.destroy();
    },
    drop: (index) => {
      for (const socket of sockets[index]!) socket.destroy();
    },
    refuseSubscriptions: (refuse) => {
      refusing = refuse;
    },
    blackhole: () => {
      open = false;
      forwarding = false;
    },
    close: async () => {
      for (const socket of sockets.flat()) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}

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

/**
 * An instance whose connections go through `url` (a {@link faultyLink}), revocations cached long, and
 * attached: its subscription is the second connection made through the link.
 */
async function instanceThrough(url: string, permissions: (store: RedisStore) => PermissionResolver | 'token'): Promise<{ engine: Scopeguard }> {
  const client = connectRedis(url);
  clients.push(client);
  const store = redisStore({ client, logger: quiet });
  stores.push(store);
  const engine = new Scopeguard({ ...issuer.options(), permissions: permissions(store), isRevoked: store.isRevoked, revocationLookup: { ttl: 600 } } as ScopeguardOptions);
  await store.attach(engine);
  return { engine };
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
    await ready(a.client);
    // Back: changes reach B again.
    await a.store.revoke({ jti: 'outage-1', expiresAt: Date.now() + 60_000 });
    await within(1000, async () => (await outcome(b.engine, bearer(token))) === 'ERR_TOKEN_REVOKED');
  }, 30_000);
});

describe('found by review', () => {
  it('a token revoked after its exp, while an engine still accepts it (clockTolerance), is refused', async () => {
    const [a, b] = [await instance({ clockTolerance: 30 }), await instance({ clockTolerance: 30 })];
    const exp = Math.floor(Date.now() / 1000) - 2;
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', claims: { jti: 'late-1', exp } });
    expect(await outcome(b.engine, bearer(token))).toBe('OK'); // 2 s past exp, within the 30 s tolerance
    await a.store.revoke({ jti: 'late-1', expiresAt: exp * 1000 });
    await within(1000, async () => (await outcome(b.engine, bearer(token))) === 'ERR_TOKEN_REVOKED');
  });

  it('while its subscription is down but commands still work, an instance keeps no answer, so changes still reach it', async () => {
    // B's connections go through a proxy that can cut the subscription alone and refuse to reconnect it.
    const link = await faultyLink();
    try {
      const a = await instance();
      const { engine: b } = await instanceThrough(link.url, (store) => store.permissions({ 'orders-worker': ['orders.read'] }));
      const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', claims: { jti: 'deaf-1' } });
      expect(await outcome(b, bearer(token))).toBe('OK');
      link.cut(1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await outcome(b, bearer(token))).toBe('OK'); // asked Redis: not revoked yet
      await a.store.revoke({ jti: 'deaf-1', expiresAt: Date.now() + 60_000 });
      expect(await outcome(b, bearer(token))).toBe('ERR_TOKEN_REVOKED'); // not the answer from before
    } finally {
      await link.close();
    }
  });

  it('a subscription that cannot be restored after a reconnection drops no promise, and listens again once Redis lets it', async () => {
    // Found by CI: ioredis re-subscribes on its own after a reconnection and drops that command's
    // promise; when the connection fails again before the answer, the rejection was unhandled (a crash
    // under Node's default). B's connections go through a proxy that closes any that sends SUBSCRIBE.
    const link = await faultyLink();
    try {
      const a = await instance();
      const { engine: b } = await instanceThrough(link.url, () => 'token');
      link.refuseSubscriptions(true);
      link.drop(1);
      await new Promise((resolve) => setTimeout(resolve, 1500)); // several reconnections, each refused
      const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', claims: { jti: 'resub-1' } });
      expect(await outcome(b, bearer(token))).toBe('OK');
      await a.store.revoke({ jti: 'resub-1', expiresAt: Date.now() + 60_000 });
      expect(await outcome(b, bearer(token))).toBe('ERR_TOKEN_REVOKED'); // deaf, so nothing was kept
      // Let it subscribe again: B listens (so it keeps answers: a revocation written behind its back goes
      // unseen), and hears the changes announced.
      link.refuseSubscriptions(false);
      const other = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', claims: { jti: 'resub-2' } });
      await within(5000, async () => {
        const first = await outcome(b, bearer(other));
        await a.client.set('scopeguard:revoked:resub-2', '1', 'PX', 60_000);
        const kept = first === 'OK' && (await outcome(b, bearer(other))) === 'OK';
        await a.client.del('scopeguard:revoked:resub-2');
        return kept;
      });
      await a.store.revoke({ jti: 'resub-2', expiresAt: Date.now() + 60_000 });
      await within(1000, async () => (await outcome(b, bearer(other))) === 'ERR_TOKEN_REVOKED');
    } finally {
      await link.close();
    }
  });

  it('a subscription cut silently (packets dropped, sockets open) is found by its heartbeat, so changes still reach the instance', async () => {
    // B's subscription goes through a proxy that can stop forwarding without closing anything.
    const link = await faultyLink();
    try {
      const a = await instance();
      const bCommands = connectRedis(redis.url);
      clients.push(bCommands);
      // The subscription of B (its duplicate) through the proxy; commands straight to Redis. A plain
      // client, with a commandTimeout shorter than a beat and no socketTimeout: only the heartbeat can tell.
      const duplicate = (override?: RedisOptions) => {
        const proxied = new Redis(link.url, { commandTimeout: 300, ...override });
        proxied.on('error', () => undefined);
        clients.push(proxied);
        return proxied;
      };
      const bClient = Object.assign(Object.create(bCommands) as Redis, { duplicate });
      const bStore = redisStore({ client: bClient, logger: quiet });
      stores.push(bStore);
      const b = new Scopeguard({ ...issuer.options(), permissions: 'token', isRevoked: bStore.isRevoked, revocationLookup: { ttl: 600 } } as ScopeguardOptions);
      await bStore.attach(b);
      const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', claims: { jti: 'silent-1' } });
      expect(await outcome(b, bearer(token))).toBe('OK');
      link.blackhole();
      await a.store.revoke({ jti: 'silent-1', expiresAt: Date.now() + 60_000 }); // B does not hear it
      await within(6000, async () => (await outcome(b, bearer(token))) === 'ERR_TOKEN_REVOKED');
      // And closing B while its subscription cannot reconnect (the plain client queues commands) ends at once.
      const closing = Date.now();
      await bStore.close();
      expect(Date.now() - closing).toBeLessThan(500);
    } finally {
      await link.close();
    }
  });

  it('after Redis comes back empty, an instance puts the nonce secret back, so instances started later share it', async () => {
    const a = await instance();
    const key = await createDpopKey('ES256');
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', claims: { cnf: { jkt: key.jkt } } });
    await redis.kill();
    await redis.start(); // no persistence: empty
    await within(5000, async () => (await a.client.exists('scopeguard:dpop-nonce-secret').catch(() => 0)) === 1);
    const c = await instance();
    const challenge = (await Promise.resolve(c.engine.admit(await dpopRequest(key, token))).catch((error: unknown) => error)) as { nonce?: string };
    expect(await outcome(a.engine, await dpopRequest(key, token, challenge.nonce))).toBe('OK');
  });

  it('a change Redis refused is an error, not a success', async () => {
    const { store, client } = await instance();
    await client.set('scopeguard:inactive-clients', 'not a set');
    await expect(store.deactivateClient('orders-worker')).rejects.toThrow(/WRONGTYPE/);
    await client.del('scopeguard:inactive-clients');
    await expect(store.revoke({ jti: 'x', expiresAt: 1e17 })).rejects.toThrow(/expiresAt/);
    await expect(store.revoke({ jti: 'x', expiresAt: Math.floor(Date.now() / 1000) + 3600 })).rejects.toThrow(/seconds/); // a JWT exp as it is
    await expect(store.revoke({ jti: 'x'.repeat(2000), expiresAt: Date.now() + 1000 })).rejects.toThrow(/jti/);
  });

  it('a message it cannot read makes every instance drop its cached answers: anything may have changed', async () => {
    const { engine, client } = await instance();
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', claims: { jti: 'unread-1' } });
    expect(await outcome(engine, bearer(token))).toBe('OK');
    await client.set('scopeguard:revoked:unread-1', '1', 'PX', 60_000); // revoked without a readable announcement
    await client.publish('scopeguard:changes', JSON.stringify({ jti: 'x'.repeat(5000) }));
    await within(1000, async () => (await outcome(engine, bearer(token))) === 'ERR_TOKEN_REVOKED');
  });

  it('refuses a wrong permission map at once, as the engine would', () => {
    const store = redisStore({ client: connectRedis(redis.url, { lazyConnect: true }), logger: quiet });
    stores.push(store);
    expect(() => store.permissions({ 'orders-worker': 'orders.read' as never })).toThrow(/permissions\.orders-worker/);
  });

  it('a failed attach leaves no connection behind; an attach that close() overtakes fails', async () => {
    const client = connectRedis(redis.url);
    clients.push(client);
    await ready(client);
    const subscribers = async () => Number(((await client.pubsub('NUMSUB', 'scopeguard:changes')) as [string, number])[1]);
    const before = await subscribers();
    const store = redisStore({ client, logger: quiet });
    const engine = new Scopeguard({ ...issuer.options(), permissions: 'token' } as ScopeguardOptions);
    const attaching = store.attach(engine);
    await store.close();
    await expect(attaching).rejects.toThrow(/closed/);
    await within(2000, async () => (await subscribers()) === before);
    // Redis down: attach fails after its wait, and its connection does not linger, reconnecting.
    const down = redisStore({ client, logger: quiet });
    await redis.kill();
    await expect(down.attach(engine)).rejects.toThrow(/could not subscribe/);
    await redis.start();
    await ready(client);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // a leftover connection would be back by now
    expect(await subscribers()).toBe(before);
  });

  it('a stalled Redis (SIGSTOP) makes calls fail within the hook timeouts and commands do not pile up', async () => {
    const { engine, client } = await instance({ dpop: undefined, revocationLookup: { ttl: 0, timeoutMs: 300 } });
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', claims: { jti: 'stall-1' } });
    expect(await outcome(engine, bearer(token))).toBe('OK');
    redis.pause();
    try {
      const outcomes: string[] = [];
      for (let i = 0; i < 30; i++) {
        outcomes.push(await outcome(engine, bearer(token)));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(new Set(outcomes)).toEqual(new Set(['ERR_REVOCATION_UNAVAILABLE']));
      // socketTimeout (2 s) dropped the stalled connection and its queue.
      expect((client as unknown as { commandQueue: { length: number } }).commandQueue.length).toBeLessThan(15);
    } finally {
      redis.resume();
    }
    await within(5000, async () => (await outcome(engine, bearer(token))) === 'OK');
  }, 20_000);
});

function ready(client: Redis): Promise<void> {
  return client.status === 'ready' ? Promise.resolve() : new Promise((resolve) => client.once('ready', () => resolve()));
}
