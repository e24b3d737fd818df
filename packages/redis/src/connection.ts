/** The ioredis connections the store uses: a client that fails fast, and waiting for one to be ready. */
import type { Redis, RedisOptions } from 'ioredis';

/** How long to wait for a connection to be ready (for the nonce secret and the subscription). */
export const READY_TIMEOUT_MS = 5000;

/**
 * An ioredis client that fails fast while Redis is down instead of queueing: no offline queue, one
 * reconnection attempt a second at most, forever, and each command bounded by `commandTimeout`
 * (default 500 ms). The engine's hook timeouts bound every call in any case; these settings also keep
 * commands from piling up in memory during an outage.
 */
export function connectRedis(url: string, options: RedisOptions = {}): Redis {
  // socketTimeout: a Redis that stops answering (stalled, not closed) is dropped and reconnected, so
  // commands do not pile up in the client's queue behind it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Redis: Client } = require('ioredis') as typeof import('ioredis');
  const client = new Client(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
    socketTimeout: 2000,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    ...options,
  });
  // Connection errors are retried by the client; they are reported through failing commands (503).
  client.on('error', () => undefined);
  return client;
}

/** Resolves once `client` is ready (connected, subscriptions restored), or rejects after `timeoutMs`. */
export function ready(client: Redis, timeoutMs: number): Promise<void> {
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
