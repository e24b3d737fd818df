/**
 * Refusals of GraphQL resolvers as GraphQL errors: `extensions.code` `UNAUTHENTICATED` (400/401),
 * `FORBIDDEN` (403) or `SERVICE_UNAVAILABLE` (503), with the HTTP status the refusal would have, the
 * OAuth error and the challenge in `extensions`. The HTTP answer stays what GraphQL over HTTP makes it
 * (a 200 with `errors` from execution), so no challenge header goes on it. Used only when `graphql`
 * is installed.
 */
import type { ScopeguardError } from '@scopeguard/core';
import type { ErrorResponse } from '@scopeguard/core/adapter';
import { optionalPeer } from './scopeguard.optional';


function codeFor(status: number): string {
  return status === 403 ? 'FORBIDDEN' : status === 503 ? 'SERVICE_UNAVAILABLE' : status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'UNAUTHENTICATED';
}

/** The GraphQL error for a refusal, or `undefined` when `graphql` is not installed. */
export function graphqlRefusal(error: ScopeguardError, response: ErrorResponse): Error | undefined {
  const api = optionalPeer<typeof import('graphql')>('graphql');
  if (!api) return undefined;
  const refusal = new api.GraphQLError(error.description, {
    extensions: {
      code: codeFor(response.status),
      status: response.status,
      scopeguard: {
        code: error.code,
        ...(error.error !== undefined && { error: error.error }),
        ...(response.headers['WWW-Authenticate'] !== undefined && { challenge: response.headers['WWW-Authenticate'] }),
        ...(response.headers['Retry-After'] !== undefined && { retryAfter: Number(response.headers['Retry-After']) }),
      },
    },
  });
  // A refusal is not a crash: servers that print stacks in development print nothing of ours.
  Object.defineProperty(refusal, 'stack', { value: `GraphQLError: ${error.description}`, configurable: true, writable: true });
  return refusal;
}
