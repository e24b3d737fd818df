/**
 * @scopeguard/redis — what the instances of one API behind a load balancer must share, on Redis:
 * DPoP proofs used once across all of them (`SET NX`), one DPoP nonce secret, revoked tokens and
 * inactive clients, and a channel on which every instance hears of a change and drops what it had
 * cached about that token or client. The engine's hook policy bounds every call (timeout, 503).
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import type { Redis, RedisOptions } from 'ioredis';
import {
  INACTIVE_CLIENT,
  type CacheChange,
  type DpopReplayStore,
  type PermissionMap,
  type PermissionResolver,
  type RevocationCheck,
  type Scopeguard,
  type ServiceUser,
} from '@scopeguard/core';

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /**
   * The client for commands: an ioredis `Redis` (standalone or Sentinel), best made by
   * {@link connectRedis} so that a command fails at once while Redis is down. Subscriptions get their
   * own connection (`client.duplicate()`).
   */
  client: Redis;
  /** Prefix of every key and of the channel. Default `scopeguard:`. */
  prefix?: string;
  /** Where subscription losses and recoveries are told. Default `console`; `false` for silence. */
  logger?: Pick<Console, 'warn' | 'info'> | false;
}

/** A revoked token: its `jti` (RFC 9068 §2.2) and when it expires anyway, after which nothing is kept. */
export interface Revocation {
  readonly jti: string;
  /** The token's `exp`: a `Date`, or epoch milliseconds. */
  readonly expiresAt: Date | number;
}

/** What {@link redisStore} gives: hooks for the engine's options, and the operations that change them. */
export interface RedisStore {
  /** `dpop.replayStore`: a proof's `jti` is claimed once across every instance (`SET NX PXAT`, one round trip). */
  readonly replayStore: DpopReplayStore;
  /** `isRevoked`: whether {@link RedisStore.revoke} revoked the token's `jti`. A token without `jti` cannot be revoked here. */
  readonly isRevoked: RevocationCheck;
  /**
   * `permissions`: the given map or resolver, with the clients {@link RedisStore.deactivateClient}
   * deactivated answered `INACTIVE_CLIENT` (their tokens get 401 `ERR_CLIENT_INACTIVE`).
   */
  permissions(source: PermissionMap | PermissionResolver): PermissionResolver;
  /** `dpop.nonceSecret`: one random 32-byte secret for every instance, made by the first that asks. */
  nonceSecret(): Promise<Buffer>;
  /** Revokes a token on every instance: stored until it expires, and announced. */
  revoke(revocation: Revocation): Promise<void>;
  /** Deactivates a client on every instance (its application is disabled, not deleted). */
  deactivateClient(clientId: string): Promise<void>;
  /** Undoes {@link RedisStore.deactivateClient}. */
  activateClient(clientId: string): Promise<void>;
  /**
   * Subscribes `engine` (or a guard with an `engine`) to changes: on each, it forgets what it cached
   * about that token or client, so every instance refuses it within a round trip. Until an engine is
   * attached, `isRevoked` and `permissions` fail (503): they could not keep that promise.
   */
  attach(engine: Scopeguard | { readonly engine: Scopeguard }): Promise<void>;
  /** Ends the subscription connection (the command client is the app's to close). */
  close(): Promise<void>;
}

/** A change message is a small JSON object; anything larger or otherwise is not ours. */
const MAX_MESSAGE_LENGTH = 4096;

/** How long to wait for a connection to be ready (for the nonce secret and the subscription). */
const READY_TIMEOUT_MS = 5000;

/**
 * An ioredis client that fails fast while Redis is down instead of queueing: no offline queue, one
 * reconnection attempt a second at most, forever, and each command bounded by `commandTimeout`
 * (default 500 ms). The engine's hook timeouts bound every call in any case; these settings also keep
 * commands from piling up in memory during an outage.
 */
export function connectRedis(url: string, options: RedisOptions = {}): Redis {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Redis: Client } = require('ioredis') as typeof import('ioredis');
  const client = new Client(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    ...options,
  });
  // Connection errors are retried by the client; they are reported through failing commands (503).
  client.on('error', () => undefined);
  return client;
}

/** Resolves once `client` is ready (connected, subscriptions restored), or rejects after `timeoutMs`. */
function ready(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`Redis was not ready within ${timeoutMs} ms (status ${client.status})`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}

/** A change as it travels on the channel, checked: a `jti`, a `clientId`, or neither (everything). */
function changeOf(message: string): CacheChange | undefined {
  if (message.length > MAX_MESSAGE_LENGTH) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { jti, clientId } = parsed as Record<string, unknown>;
  if ((jti !== undefined && typeof jti !== 'string') || (clientId !== undefined && typeof clientId !== 'string')) return undefined;
  return { ...(jti !== undefined && { jti }), ...(clientId !== undefined && { clientId }) };
}

function nonEmpty(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`@scopeguard/redis: ${name} must be a non-empty string`);
  return value;
}

/**
 * The shared store. Wire its hooks into the engine's options, then `attach` the engine:
 * ```ts
 * const store = redisStore({ client: connectRedis(process.env.REDIS_URL!) });
 * const guard = scopeguard({ issuer, audience, permissions: store.permissions(map), isRevoked: store.isRevoked,
 *   dpop: { nonce: true, nonceSecret: await store.nonceSecret(), replayStore: store.replayStore } });
 * await store.attach(guard);
 * ```
 */
export function redisStore(options: RedisStoreOptions): RedisStore {
  const { client } = options;
  if (typeof client?.duplicate !== 'function') throw new TypeError('@scopeguard/redis: client must be an ioredis client');
  const prefix = options.prefix ?? 'scopeguard:';
  const logger = options.logger === false ? undefined : (options.logger ?? console);
  const channel = `${prefix}changes`;
  const inactiveKey = `${prefix}inactive-clients`;
  const engines = new Set<Scopeguard>();
  let subscriber: Promise<Redis> | undefined;
  let closed = false;
  let toldUnattached = false;

  const invalidate = (change?: CacheChange) => {
    for (const engine of engines) engine.invalidate(change);
  };
  const requireAttached = () => {
    if (engines.size > 0) return;
    const message = '@scopeguard/redis: attach(engine) was not called, so changes made on other instances would not reach this one';
    if (!toldUnattached) logger?.warn(`${message}; refusing with 503`);
    toldUnattached = true;
    throw new Error(message);
  };
  const announce = (change: CacheChange) => JSON.stringify(change);

  const replayStore: DpopReplayStore = {
    async claim(key, expiresAt) {
      // PXAT: the key lives exactly as long as the proof could be presented.
      const answer = await client.set(`${prefix}dpop:${key}`, '1', 'PXAT', Math.max(1, Math.ceil(expiresAt)), 'NX');
      return answer === 'OK';
    },
  };

  const isRevoked: RevocationCheck = async ({ jti }) => {
    requireAttached();
    if (jti === undefined) return false;
    return (await client.exists(`${prefix}revoked:${jti}`)) === 1;
  };

  const permissions = (source: PermissionMap | PermissionResolver): PermissionResolver => {
    if (typeof source !== 'function' && (typeof source !== 'object' || source === null)) throw new TypeError('@scopeguard/redis: permissions() takes a permission map or resolver');
    const lookup = typeof source === 'function' ? source : (user: ServiceUser) => (Object.hasOwn(source, user.clientId) ? source[user.clientId] : undefined);
    return async (user) => {
      requireAttached();
      if ((await client.sismember(inactiveKey, user.clientId)) === 1) return INACTIVE_CLIENT;
      return lookup(user);
    };
  };

  const nonceSecret = async (): Promise<Buffer> => {
    await ready(client, READY_TIMEOUT_MS);
    const key = `${prefix}dpop-nonce-secret`;
    // The first instance to ask makes it; every other reads that one.
    await client.set(key, randomBytes(32).toString('base64'), 'NX');
    const secret = await client.get(key);
    if (secret === null) throw new Error('@scopeguard/redis: the DPoP nonce secret disappeared from Redis');
    const bytes = Buffer.from(secret, 'base64');
    if (bytes.length < 32) throw new Error('@scopeguard/redis: the DPoP nonce secret in Redis is shorter than 32 bytes');
    return bytes;
  };

  const revoke = async ({ jti, expiresAt }: Revocation): Promise<void> => {
    nonEmpty('jti', jti);
    const until = expiresAt instanceof Date ? expiresAt.getTime() : expiresAt;
    if (!Number.isFinite(until)) throw new TypeError('@scopeguard/redis: expiresAt must be a Date or epoch milliseconds');
    if (until <= Date.now()) return; // expired already: refused anyway
    // One round trip, in order: stored, then announced.
    await client.multi().set(`${prefix}revoked:${jti}`, '1', 'PXAT', Math.ceil(until)).publish(channel, announce({ jti })).exec();
  };

  const setClient = async (clientId: string, inactive: boolean): Promise<void> => {
    nonEmpty('clientId', clientId);
    const change = client.multi();
    (inactive ? change.sadd(inactiveKey, clientId) : change.srem(inactiveKey, clientId)).publish(channel, announce({ clientId }));
    await change.exec();
  };

  const subscribe = async (): Promise<Redis> => {
    const connection = client.duplicate();
    let lost = false;
    connection.on('error', () => undefined); // reconnected by the client; the loss is handled on 'close'
    connection.on('close', () => {
      if (closed || lost) return;
      lost = true;
      // Changes sent now would be missed: forget everything, so answers come from Redis (or fail, 503).
      invalidate();
      logger?.warn('@scopeguard/redis: lost the change subscription; cached revocation and permission answers dropped until it is back');
    });
    connection.on('ready', () => {
      if (!lost) return;
      lost = false;
      invalidate(); // whatever changed meanwhile
      logger?.info('@scopeguard/redis: the change subscription is back');
    });
    connection.on('message', (from: string, message: string) => {
      if (from !== channel) return;
      const change = changeOf(message);
      if (change === undefined) logger?.warn('@scopeguard/redis: ignored a change message that is not ours');
      else invalidate(change);
    });
    await ready(connection, READY_TIMEOUT_MS);
    await connection.subscribe(channel);
    return connection;
  };

  return {
    replayStore,
    isRevoked,
    permissions,
    nonceSecret,
    revoke,
    deactivateClient: (clientId) => setClient(clientId, true),
    activateClient: (clientId) => setClient(clientId, false),
    async attach(target) {
      if (closed) throw new Error('@scopeguard/redis: the store is closed');
      const engine = 'engine' in target ? target.engine : target;
      if (typeof engine?.invalidate !== 'function') throw new TypeError('@scopeguard/redis: attach() takes a Scopeguard engine or a guard with one');
      subscriber ??= subscribe();
      try {
        await subscriber;
      } catch (error) {
        subscriber = undefined; // the next attach tries again
        throw new Error(`@scopeguard/redis: could not subscribe to ${channel}: ${(error as Error).message}`, { cause: error });
      }
      engines.add(engine);
    },
    async close() {
      closed = true;
      engines.clear();
      const connection = await subscriber?.catch(() => undefined);
      subscriber = undefined;
      if (connection !== undefined) await connection.quit().catch(() => connection.disconnect());
    },
  };
}
