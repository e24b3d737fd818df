/**
 * One tested configuration per identity provider: the options an API sets for the provider's
 * machine tokens (shapes.ts), whether those tokens pass `strict` (RFC 9068) mode, and what to set on
 * the provider's side. providers.test.ts runs each through the engine and both adapters, and renders
 * the core README's provider table from this list, so the table lists exactly what is tested.
 */
import type { IssuerSettings } from '@scopeguard/core';
import { SHAPES, type ProviderShape } from './shapes';

export interface ProviderConfiguration {
  /** The provider as the README names it. */
  readonly name: string;
  /** The shape (shapes.ts) whose tokens this configuration accepts. */
  readonly shape: ProviderShape;
  /** Options besides `issuer`, `audience` and the keys (`preset`, `scopeClaims`, `scopeMap`, …). */
  readonly options: Omit<IssuerSettings, 'audience'>;
  /** What the principal's scopes hold for the machine token (after the preset's reading). */
  readonly scopes: readonly string[];
  /** Whether the machine token passes `strict: true` (typ at+jwt and every RFC 9068 claim). */
  readonly strict: boolean;
  /** What to set on the provider's side, briefly. */
  readonly providerSide: string;
}

function shape(provider: string): ProviderShape {
  const found = SHAPES.find((candidate) => candidate.provider === provider);
  if (found === undefined) throw new Error(`no shape for ${provider}`);
  return found;
}

export const CONFIGURATIONS: readonly ProviderConfiguration[] = [
  {
    name: 'Auth0',
    shape: shape('Auth0'),
    options: { preset: 'auth0', scopeMap: { 'read:orders': ['orders.read'] } },
    scopes: ['read:orders', 'write:orders'],
    strict: false,
    providerSide: 'An API whose Identifier is the audience; the M2M application authorized on it with its scopes',
  },
  {
    name: 'Auth0, RFC 9068 profile',
    shape: shape('Auth0 (RFC 9068 profile)'),
    options: { preset: 'auth0', scopeMap: { 'read:orders': ['orders.read'] } },
    scopes: ['read:orders', 'write:orders'],
    strict: true,
    providerSide: 'The API’s token profile set to RFC 9068',
  },
  {
    name: 'Auth0, agent-linked client',
    shape: shape('Auth0 (agent-linked client, Agents as Principal)'),
    options: { preset: 'auth0', scopeMap: { 'read:orders': ['orders.read'] } },
    scopes: ['read:orders'],
    strict: false,
    providerSide: '`agent_subject_claims: "auth0-v1"` on the API, so tokens say `sub_profile: "ai_agent"`',
  },
  {
    name: 'Okta',
    shape: shape('Okta (custom authorization server)'),
    options: { preset: 'okta' },
    scopes: ['orders.read', 'orders.write'],
    strict: false,
    providerSide: 'A custom authorization server (its Audience is the audience) with the custom scopes',
  },
  {
    name: 'Entra ID v2',
    shape: shape('Entra ID v2'),
    options: { preset: 'entra', scopeMap: { 'Orders.Read.All': ['orders.read'], 'Orders.Write.All': ['orders.write'] } },
    scopes: ['Orders.Read.All', 'Orders.Write.All'],
    strict: false,
    providerSide: '`requestedAccessTokenVersion: 2`; app roles granted to the caller; optional claim `idtyp`',
  },
  {
    name: 'Entra ID v1',
    shape: shape('Entra ID v1'),
    options: { preset: 'entra', scopeMap: { 'Orders.Read.All': ['orders.read'] } },
    scopes: ['Orders.Read.All'],
    strict: false,
    providerSide: 'App roles granted to the caller (v1 tokens: `appid`, issuer `sts.windows.net`)',
  },
  {
    name: 'Entra Agent ID',
    shape: shape('Entra Agent ID (agent identity, autonomous, v1 token)'),
    options: { preset: 'entra', scopeMap: { 'Orders.Read.All': ['orders.read'] } },
    scopes: ['Orders.Read.All'],
    strict: false,
    providerSide: 'App roles granted to the agent identity',
  },
  {
    name: 'Keycloak',
    shape: shape('Keycloak (service account)'),
    options: { preset: 'keycloak', scopeClaims: ['scope', 'resource_access.orders-api.roles'] },
    scopes: ['profile', 'email', 'orders.read', 'orders.write'],
    strict: false,
    providerSide: 'An Audience mapper (Included Client Audience: the API’s client); the API client’s roles on the service account',
  },
  {
    name: 'AWS Cognito',
    shape: shape('AWS Cognito'),
    options: { preset: 'cognito', clientIds: ['4k2m9q7r1s5t8u3v6w0x2y4z1a'] },
    scopes: ['orders.read', 'orders.write'],
    strict: false,
    providerSide: 'A resource server whose identifier is the audience, with its custom scopes on the app client',
  },
  {
    name: 'Google',
    shape: shape('Google (service-account ID token)'),
    options: { clientIdClaims: ['sub'] },
    scopes: [],
    strict: false,
    providerSide: 'The caller fetches an ID token for the service account with the API as audience (no scopes: permissions by `sub`)',
  },
  {
    name: 'LemonLDAP::NG',
    shape: shape('LemonLDAP::NG 2.x'),
    options: {},
    scopes: ['orders.read', 'orders.write'],
    strict: false,
    providerSide: '“Use JWT format for Access Token”; the API in “Additional audiences”',
  },
  {
    name: 'Glewlwyd',
    shape: shape('Glewlwyd 2.x (OIDC plugin)'),
    options: {},
    scopes: ['orders.read', 'orders.write'],
    strict: true,
    providerSide: 'Resource indicators allowed; the client sends `resource=<the API>`',
  },
  {
    name: 'oidc-provider',
    shape: shape('node oidc-provider (panva) 9.x'),
    options: { scopeMap: { 'orders:read': ['orders.read'] } },
    scopes: ['orders:read', 'orders:write'],
    strict: true,
    providerSide: '`features.resourceIndicators` with `accessTokenFormat: "jwt"` for the API',
  },
  {
    name: 'Duende IdentityServer',
    shape: shape('Duende IdentityServer'),
    options: {},
    scopes: ['orders.read', 'orders.write'],
    strict: false,
    providerSide: 'An ApiResource named as the audience, holding the scopes',
  },
];

/** The options of a configuration, as the README shows them (code, compact). */
function optionsText(configuration: ProviderConfiguration): string {
  const { options } = configuration;
  const parts = Object.entries(options).map(([key, value]) => `${key}: ${JSON.stringify(value).replace(/"([A-Za-z_]\w*)":/g, '$1: ').replace(/,/g, ', ').replace(/"/g, "'")}`);
  return parts.length === 0 ? '—' : `\`${parts.join(', ')}\``;
}

/** The core README's provider table, rendered from {@link CONFIGURATIONS}. */
export function providerTable(): string {
  const rows = CONFIGURATIONS.map((configuration) =>
    [
      configuration.name,
      `\`${configuration.shape.issuer}\``,
      `\`${configuration.shape.audience}\``,
      optionsText(configuration),
      configuration.strict ? 'yes' : `no (${strictFailure(configuration)})`,
      configuration.providerSide,
    ].join(' | '),
  );
  return ['| provider | issuer (`iss`) | audience | options | `strict` | on the provider’s side |', '|---|---|---|---|---|---|', ...rows.map((row) => `| ${row} |`)].join('\n');
}

/** Why a provider's machine token fails strict mode. */
function strictFailure(configuration: ProviderConfiguration): string {
  const { header, machineToken } = configuration.shape;
  if (configuration.options.preset === 'cognito') return 'no `aud`; refused at construction';
  const typ = typeof header.typ === 'string' ? header.typ : undefined;
  const reasons: string[] = [];
  if (typ?.toLowerCase() !== 'at+jwt') reasons.push(typ === undefined ? 'no `typ`' : `\`typ: ${typ}\``);
  const missing = ['sub', 'client_id', 'jti'].filter((claim) => machineToken[claim] === undefined);
  if (missing.length > 0) reasons.push(`no ${missing.map((claim) => `\`${claim}\``).join(', ')}`);
  return reasons.join('; ');
}
