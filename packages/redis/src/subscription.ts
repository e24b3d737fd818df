/**
 * The change subscription: its own connection, re-subscribed by us after each reconnection, and a
 * heartbeat that finds a connection cut silently. While it is down the instance keeps no answer.
 */
import type { Redis } from 'ioredis';
import type { CacheChange } from '@scopeguard/core';
import { changeOf } from './changes';
import { ready, READY_TIMEOUT_MS } from './connection';

/** What the subscription tells the store, and asks of it. */
export interface SubscriptionHooks {
  /** Whether the store was closed: nothing is listened to again. */
  isClosed(): boolean;
  /** Whether changes are heard now: answers may be kept only while they are. */
  setListening(listening: boolean): void;
  /** A change heard; `undefined`: anything may have changed (the subscription was lost, a message unreadable). */
  onChange(change: CacheChange | undefined): void;
}

/** A subscription that is listening. */
export interface Subscription {
  /** Ends it: the heartbeat and the connection. */
  stop(): void;
}

/** Subscribes a duplicate of `client` to `channel`; rejects when it cannot within {@link READY_TIMEOUT_MS}, leaving no connection behind. */
export async function subscribeToChanges(
  client: Redis,
  channel: string,
  heartbeatMs: number,
  logger: Pick<Console, 'warn' | 'info'> | undefined,
  hooks: SubscriptionHooks,
): Promise<Subscription> {
  // Re-subscribed by us, not by ioredis (autoResubscribe): ioredis drops the promise of its own
  // SUBSCRIBE after a reconnection, an unhandled rejection (a crash under Node's default) when that
  // connection fails again before the answer; and it says 'ready' before the SUBSCRIBE is answered.
  const connection = client.duplicate({ autoResubscribe: false });
  /** The loss has been told (and what was kept dropped); cleared once the subscription is back. */
  let lost = false;
  /** When the connection last answered (a PING, the subscription): the heartbeat's measure. */
  let answeredAt = Date.now();
  /**
   * Listening again only once Redis has answered the SUBSCRIBE: a change published before then would
   * be missed by an answer cached then. Nothing was kept while deaf, so nothing needs dropping.
   */
  const listen = () =>
    connection.subscribe(channel).then(
      () => {
        answeredAt = Date.now();
        if (hooks.isClosed() || connection.status !== 'ready') return;
        hooks.setListening(true);
        if (lost) logger?.info('@scopeguard/redis: the change subscription is back');
        lost = false;
      },
      // Refused on a connection that is still up (a timeout, an error reply): start it over. Otherwise
      // the connection is going, and its next 'ready' tries again.
      () => void (!hooks.isClosed() && connection.status === 'ready' && connection.disconnect(true)),
    );
  connection.on('error', () => undefined); // reconnected by the client; the loss is handled on 'close'
  connection.on('close', () => {
    hooks.setListening(false);
    if (hooks.isClosed() || lost) return;
    lost = true;
    // Changes sent now would be missed: forget everything, so answers come from Redis (or fail, 503).
    hooks.onChange(undefined);
    logger?.warn('@scopeguard/redis: lost the change subscription; cached revocation and permission answers dropped until it is back');
  });
  connection.on('ready', () => {
    answeredAt = Date.now();
    if (lost) void listen();
  });
  connection.on('message', (from: string, message: string) => {
    answeredAt = Date.now();
    if (from !== channel) return;
    const change = changeOf(message);
    if (change === undefined) logger?.warn('@scopeguard/redis: a change message could not be read; all cached answers dropped');
    hooks.onChange(change); // unreadable: anything may have changed
  });
  try {
    await ready(connection, READY_TIMEOUT_MS);
    await connection.subscribe(channel);
    if (hooks.isClosed()) throw new Error('@scopeguard/redis: the store was closed while attaching');
  } catch (error) {
    connection.disconnect(); // no connection left reconnecting for nothing
    throw error;
  }
  hooks.setListening(true);
  // Only a closed socket says a connection is gone; a silent cut must be asked for. A PING each beat;
  // a connection that has answered nothing for three beats is dropped, which the 'close' handler treats
  // as a loss (and ioredis reconnects). Three, so that a merely slow Redis does not churn it.
  const heartbeat = setInterval(() => {
    if (connection.status !== 'ready') return;
    if (Date.now() - answeredAt > 3 * heartbeatMs) {
      answeredAt = Date.now();
      connection.disconnect(true);
      return;
    }
    connection.ping().then(
      () => (answeredAt = Date.now()),
      () => undefined,
    );
  }, heartbeatMs);
  heartbeat.unref();
  return {
    stop: () => {
      clearInterval(heartbeat);
      // Not QUIT: with an offline queue and Redis away, it would wait for a reconnection that may never come.
      connection.disconnect();
    },
  };
}
