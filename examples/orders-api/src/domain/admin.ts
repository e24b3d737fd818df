/**
 * Revoking tokens and deactivating clients across every instance (with REDIS_URL): the requests of
 * the admin routes, checked here once for both front doors.
 */
import type { Revocation, RedisStore } from '@scopeguard/redis';
import { ValidationError } from './orders';

/** The body of `POST /admin/revocations`: the token's `jti` and `exp` (epoch seconds), as the token says. */
export function parseRevocation(body: unknown): Revocation {
  const { jti, exp } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 1024) throw new ValidationError('jti must be a string of 1 to 1024 characters');
  // From 2001 to 2286 (10^9 to 10^10 s): any other exp is no token's.
  if (typeof exp !== 'number' || !Number.isInteger(exp) || exp < 1e9 || exp >= 1e10) throw new ValidationError('exp must be the token\'s exp, in epoch seconds');
  return { jti, expiresAt: exp * 1000 };
}

/** A client id from the path. */
export function parseClientId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) throw new ValidationError('the client id must be 1 to 1024 characters');
  return value;
}

/** The client to deactivate, never the caller's own: an admin locking itself out would need Redis by hand. */
export function clientToDeactivate(value: unknown, caller: string | undefined): string {
  const clientId = parseClientId(value);
  if (clientId === caller) throw new ValidationError('a client cannot deactivate itself');
  return clientId;
}

/** The shared store could not be reached: 503, try again shortly. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

/** Runs a change on the shared store; a Redis failure becomes {@link StoreUnavailableError}. */
export async function change(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    // The store refuses a wrong argument with a TypeError: the request's fault, not an outage.
    if (error instanceof TypeError) throw new ValidationError(error.message);
    throw new StoreUnavailableError(`the shared store is unavailable: ${(error as Error).message}`, { cause: error });
  }
}

export type { RedisStore };
