/**
 * Pluggable hooks (permission resolvers, DPoP replay stores) are other people's code, often a network
 * call. Each is called through {@link callHook}: a throw, a rejection, a result of the wrong type or
 * no answer within the deadline all become one {@link UnavailableError} (503 + `Retry-After`), whose
 * cause reaches the audit event and never the response. A synchronous answer stays synchronous.
 */
import { UnavailableError } from '../http/errors';

/** How one hook is called. */
export interface HookPolicy<T> {
  /** No answer within this many milliseconds is a failure. */
  readonly timeoutMs: number;
  /** Checks and converts the hook's answer; throws (any error) when it is not of the promised type. */
  readonly accept: (value: unknown) => T;
  /** The 503 for this hook, given what went wrong underneath. */
  readonly unavailable: (cause: unknown) => UnavailableError;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** Calls `call` under `policy`. Never rejects or throws anything but the policy's {@link UnavailableError}. */
export function callHook<T>(call: () => unknown, policy: HookPolicy<T>): T | Promise<T> {
  let result: unknown;
  try {
    result = call();
    if (!isThenable(result)) return policy.accept(result);
  } catch (cause) {
    throw policy.unavailable(cause);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${policy.timeoutMs} ms`)), policy.timeoutMs);
    // Node: the deadline alone does not keep the process up. (Deno's and workers' timers are numbers.)
    (timer as { unref?: () => void }).unref?.();
  });
  // Promise.resolve adopts foreign thenables; a thenable whose `then` throws rejects here too.
  return Promise.race([Promise.resolve(result), deadline]).then(
    (value) => {
      clearTimeout(timer);
      try {
        return policy.accept(value);
      } catch (cause) {
        throw policy.unavailable(cause);
      }
    },
    (cause: unknown) => {
      clearTimeout(timer);
      throw policy.unavailable(cause);
    },
  );
}

/**
 * Calls an audit sink and forgets it: a sink that throws, or returns a promise that rejects, is
 * ignored, and a sink that never settles holds nothing up.
 */
export function callSink<E>(sink: (event: E) => unknown, event: E): void {
  try {
    const result = sink(event);
    if (isThenable(result)) result.then(undefined, () => undefined);
  } catch {
    // An audit sink's failure must not change the answer.
  }
}

