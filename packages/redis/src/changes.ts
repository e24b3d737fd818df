/** The change messages every instance hears on the channel: what they may hold, checked on both ends. */
import type { CacheChange } from '@scopeguard/core';

/** A `jti` or client id longer than this is refused: its change message must stay small. */
const MAX_NAME_LENGTH = 1024;

/** A change message is a small JSON object; anything larger or otherwise is not ours. */
const MAX_MESSAGE_LENGTH = 4096;

/**
 * A change as it travels on the channel, checked: a `jti`, a `clientId`, or neither (everything).
 * `undefined` for a message that cannot be read, which the subscriber takes as "anything may have changed".
 */
export function changeOf(message: string): CacheChange | undefined {
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

/** `value` as the `jti` or client id of a change; throws for anything else. */
export function nameOf(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME_LENGTH) {
    throw new TypeError(`@scopeguard/redis: ${what} must be a string of 1 to ${MAX_NAME_LENGTH} characters`);
  }
  return value;
}
