/**
 * @scopeguard/redis — what the instances of one API behind a load balancer must share, on Redis:
 * DPoP proofs used once across all of them (`SET NX`), one DPoP nonce secret, revoked tokens and
 * inactive clients, and a channel on which every instance hears of a change and drops what it had
 * cached about that token or client. The engine's hook policy bounds every call (timeout, 503).
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  INACTIVE_CLIENT,
  permissionResolverOf,
  type CacheChange,
  type DpopReplayStore,
  type PermissionMap,
  type PermissionResolver,
  type RevocationCheck,
  type Scopeguard,
} from '@scopeguard/core';
import { nameOf } from './changes';
import { ready, READY_TIMEOUT_MS } from './connection';
import { subscribeToChanges, type Subscription } from './subscription';

export { connectRedis } from './connection';

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
  /**
   * How long a revocation is kept after the token's `exp`, in milliseconds: longer than any engine's
   * `clockTolerance`, which accepts a token that long past `exp`. Default 600 000 (10 minutes).
   */
  revocationGraceMs?: number;
  /**
   * How often the subscription connection is PINGed, in milliseconds. A connection cut silently (packets
   * dropped, sockets open) is found when a PING goes unanswered for as long, and handled as a loss.
   * Default 1000.
   */
  heartbeatMs?: number;
}

/** A revoked token: its `jti` (RFC 9068 §2.2) and when it expires anyway, after which nothing is kept. */
export interface Revocation {
  readonly jti: string;
  /** The token's `exp`: a `Date`, or epoch milliseconds. */
  readonly expiresAt: Date | number;
}

/** What {@link redisStore} gives: hooks for the engine's options, and the operations that change them. */
export interface RedisStore {
  /** `dpop.replayStore`: a proof's `jti` is claimed once across every instance (`SET NX PX`, one round trip). */
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

/** The latest time a `Date` can hold, in epoch milliseconds. */
const MAX_TIME = 8.64e15;

/** 2001-09-09 in epoch milliseconds: an `expiresAt` below it is a time in seconds. */
const MIN_TIME = 1e12;

/** Runs a `MULTI`; a command that failed inside it fails the whole call (ioredis reports them, not throws). */
async function transaction(multi: ReturnType<Redis['multi']>): Promise<void> {
  const results = await multi.exec();
  if (results === null) throw new Error('@scopeguard/redis: the transaction was aborted');
  const failed = results.find(([error]) => error !== null);
  if (failed) throw failed[0];
}

/** Milliseconds from now until `epochMs`, at least 1: expiries are relative, so Redis's clock does not matter. */
const millisUntil = (epochMs: number) => Math.max(1, Math.ceil(epochMs - Date.now()));

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
  const grace = options.revocationGraceMs ?? 600_000;
  if (!Number.isFinite(grace) || grace < 0) throw new TypeError('@scopeguard/redis: revocationGraceMs must be a number of milliseconds, 0 or more');
  const heartbeatMs = options.heartbeatMs ?? 1000;
  if (!Number.isFinite(heartbeatMs) || heartbeatMs < 10) throw new TypeError('@scopeguard/redis: heartbeatMs must be a number of milliseconds, 10 or more');
  const logger = options.logger === false ? undefined : (options.logger ?? console);
  const channel = `${prefix}changes`;
  const inactiveKey = `${prefix}inactive-clients`;
  const engines = new Set<Scopeguard>();
  let subscriber: Promise<Subscription> | undefined;
  let closed = false;
  let toldUnattached = false;
  /** False while the subscription is down: answers are then not to be kept, since changes go unheard. */
  let listening = false;
  let secret: string | undefined;

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

  const replayStore: DpopReplayStore = {
    async claim(key, expiresAt) {
      // The key lives exactly as long as the proof could be presented.
      const answer = await client.set(`${prefix}dpop:${key}`, '1', 'PX', millisUntil(expiresAt), 'NX');
      return answer === 'OK';
    },
  };

  /**
   * An answer read while the subscription is down must not be kept: a change made meanwhile would go
   * unheard. Forgetting the name before the engine stores the answer keeps it from being stored.
   */
  const unkeptWhileDeaf = (change: CacheChange) => {
    if (!listening) invalidate(change);
  };

  const isRevoked: RevocationCheck = async ({ jti }) => {
    requireAttached();
    if (jti === undefined) return false;
    const revoked = (await client.exists(`${prefix}revoked:${jti}`)) === 1;
    unkeptWhileDeaf({ jti });
    return revoked;
  };

  const permissions = (source: PermissionMap | PermissionResolver): PermissionResolver => {
    const lookup = permissionResolverOf(source); // checked, and answering, as the engine would
    return async (user) => {
      requireAttached();
      const inactive = (await client.sismember(inactiveKey, user.clientId)) === 1;
      unkeptWhileDeaf({ clientId: user.clientId });
      return inactive ? INACTIVE_CLIENT : lookup(user);
    };
  };

  const secretKey = `${prefix}dpop-nonce-secret`;
  const nonceSecret = async (): Promise<Buffer> => {
    await ready(client, READY_TIMEOUT_MS);
    // The first instance to ask makes it; every other reads that one.
    await client.set(secretKey, randomBytes(32).toString('base64'), 'NX');
    const stored = await client.get(secretKey);
    if (stored === null) throw new Error('@scopeguard/redis: the DPoP nonce secret disappeared from Redis');
    const bytes = Buffer.from(stored, 'base64');
    if (bytes.length < 32) throw new Error('@scopeguard/redis: the DPoP nonce secret in Redis is shorter than 32 bytes');
    if (secret === undefined) {
      // Redis may come back empty (a restart without persistence, a failover): put ours back, so that
      // instances started after it share this secret, not a new one.
      client.on('ready', () => void client.set(secretKey, secret!, 'NX').catch(() => undefined));
    }
    secret = stored;
    return bytes;
  };

  const revoke = async ({ jti, expiresAt }: Revocation): Promise<void> => {
    nameOf('jti', jti);
    const until = expiresAt instanceof Date ? expiresAt.getTime() : expiresAt;
    if (typeof until !== 'number' || !Number.isFinite(until) || until > MAX_TIME) throw new TypeError('@scopeguard/redis: expiresAt must be a Date or epoch milliseconds');
    // A JWT's exp is in seconds: given as it is, it would read as 1970 and revoke nothing.
    if (until < MIN_TIME) throw new TypeError('@scopeguard/redis: expiresAt looks like seconds (a JWT exp); give epoch milliseconds (exp * 1000) or a Date');
    // Kept past exp for the grace (engines accept a token clockTolerance past exp), even if exp has passed.
    // One round trip, in order: stored, then announced.
    await transaction(client.multi().set(`${prefix}revoked:${jti}`, '1', 'PX', millisUntil(until + grace)).publish(channel, JSON.stringify({ jti })));
  };

  const setClient = async (clientId: string, inactive: boolean): Promise<void> => {
    nameOf('clientId', clientId);
    const change = client.multi();
    (inactive ? change.sadd(inactiveKey, clientId) : change.srem(inactiveKey, clientId)).publish(channel, JSON.stringify({ clientId }));
    await transaction(change);
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
      subscriber ??= subscribeToChanges(client, channel, heartbeatMs, logger, {
        isClosed: () => closed,
        setListening: (now) => void (listening = now),
        onChange: invalidate,
      });
      try {
        await subscriber;
      } catch (error) {
        subscriber = undefined; // the next attach tries again
        throw new Error(`@scopeguard/redis: could not subscribe to ${channel}: ${(error as Error).message}`, { cause: error });
      }
      if (closed) throw new Error('@scopeguard/redis: the store was closed while attaching');
      engines.add(engine);
    },
    async close() {
      closed = true;
      engines.clear();
      const subscription = await subscriber?.catch(() => undefined);
      subscriber = undefined;
      subscription?.stop();
    },
  };
}
