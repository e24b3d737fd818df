/**
 * The embedded authorization server: oidc-provider (a certified OpenID / OAuth 2.0 server),
 * configured for the client credentials grant only. Resource indicators (RFC 8707) make its access
 * tokens RFC 9068 JWTs (`typ: at+jwt`) whose `aud` is the API; scopes are limited per client.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClientMetadata, Configuration, ResourceServer } from 'oidc-provider';

/** A client of the example: a service user with its secret and the scopes it may request. */
export interface ExampleClient {
  readonly client_id: string;
  readonly client_secret: string;
  readonly token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post';
  /** What the client may *request*; what it may *do* is then cut down by permissions.json. */
  readonly scope: string;
}

/**
 * `orders-reporter` may request `orders.write`, and its token then carries it; the API still answers
 * 403, because the service user lacks that permission: the intersection at work.
 */
export const CLIENTS: readonly ExampleClient[] = [
  { client_id: 'orders-worker', client_secret: 'worker-secret', token_endpoint_auth_method: 'client_secret_basic', scope: 'orders.read orders.write' },
  { client_id: 'orders-reporter', client_secret: 'reporter-secret', token_endpoint_auth_method: 'client_secret_basic', scope: 'orders.read orders.write' },
  { client_id: 'orders-admin', client_secret: 'admin-secret', token_endpoint_auth_method: 'client_secret_post', scope: 'orders.read orders.write orders.admin' },
];

/** Scopes of the orders API. */
export const ORDER_SCOPES = ['orders.read', 'orders.write', 'orders.admin'] as const;
/** A second API the server also issues tokens for; its tokens must not open the orders API. */
export const OTHER_RESOURCE = 'https://billing.example.com';

export interface AuthorizationServer {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly introspectionEndpoint: string;
  close(): Promise<void>;
}

/** The API's own client, used only to introspect opaque tokens (RFC 7662). */
export const API_CLIENT = { client_id: 'orders-api', client_secret: 'orders-api-secret' } as const;

export async function startAuthorizationServer(options: {
  port: number;
  audience: string;
  accessTokenTtl: number;
  /** Issue opaque tokens (introspected by the API) instead of JWTs. */
  opaque?: boolean;
  /**
   * Browser origins allowed to call the token endpoint (CORS): the API's own, where its Swagger UI runs
   * the client-credentials flow. Asked per request, since the API's port is known after this starts.
   */
  corsOrigins?: () => readonly string[];
  /**
   * More resource servers (RFC 8707 resource → the scopes tokens for it may carry), asked per token
   * request: an MCP server's resource is its URL, known once it listens.
   */
  moreResources?: () => Readonly<Record<string, string>>;
}): Promise<AuthorizationServer> {
  // oidc-provider is ESM-only; a dynamic import loads it from this CommonJS program.
  const { default: Provider, errors } = await import('oidc-provider');
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // A fresh signing key per start: tokens from an earlier run are refused, as after a key rotation.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: `orders-as-${Date.now()}`, alg: 'RS256', use: 'sig' };

  const resources: Record<string, ResourceServer> = {
    [options.audience]: { scope: ORDER_SCOPES.join(' '), audience: options.audience },
    [OTHER_RESOURCE]: { scope: 'billing.read', audience: OTHER_RESOURCE },
  };
  const configuration: Configuration = {
    clients: [...CLIENTS, { ...API_CLIENT, token_endpoint_auth_method: 'client_secret_basic' as const }].map(
      (client): ClientMetadata => ({ ...client, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] }),
    ),
    jwks: { keys: [signingKey as never] },
    // Only the API's documentation page, and only for these confidential clients' token requests.
    clientBasedCORS: (_ctx, origin) => options.corsOrigins?.().includes(origin) ?? false,
    scopes: [...ORDER_SCOPES, 'billing.read'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      // RFC 9449: a token requested with a DPoP proof is bound to its key (cnf.jkt).
      dPoP: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Without a `resource` parameter, tokens are for the orders API (as with Auth0's `audience`).
        defaultResource: async () => options.audience,
        getResourceServerInfo: async (_ctx, resource) => {
          const extra = options.moreResources?.()[resource];
          const known = resources[resource] ?? (extra === undefined ? undefined : { scope: extra, audience: resource });
          if (!known) throw new errors.InvalidTarget(`unknown resource ${resource}`);
          return options.opaque
            ? { ...known, accessTokenTTL: options.accessTokenTtl, accessTokenFormat: 'opaque' }
            : { ...known, accessTokenTTL: options.accessTokenTtl, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
  };
  const provider = new Provider(issuer, configuration);
  // Client-credentials errors (invalid_client, invalid_scope, …) are expected traffic, not crashes.
  provider.on('server_error', (_ctx, error) => console.error('authorization server error:', error));
  server.on('request', provider.callback());

  return {
    issuer,
    tokenEndpoint: `${issuer}/token`,
    introspectionEndpoint: `${issuer}/token/introspection`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
