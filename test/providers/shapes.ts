/**
 * Token shapes of real identity providers, for tests: what a resource server receives from each
 * provider's client-credentials (machine) flow, plus a user token and an ID token where the
 * provider documents one, for contrast.
 *
 * Plain data, gathered from the providers' own public documentation (and, where a provider's
 * documentation is silent, from its published source code; every such case says so in `notes`).
 * Hosts, tenant ids, client ids and key ids are fake but have each provider's real format.
 * Claims the documentation does not show are left out and named in `notes`. Tokens carry no
 * iat/exp/nbf here: tests add times.
 */

export interface ProviderShape {
  /** e.g. 'Auth0', 'Entra ID v2' */
  readonly provider: string;
  /** the issuer string exactly as the provider writes `iss` (use example hosts/tenant ids) */
  readonly issuer: string;
  /** what the API would configure as `audience` (the token's aud value, or for Cognito the resource-server identifier) */
  readonly audience: string;
  /** protected header members besides alg/kid, as documented (e.g. { typ: 'JWT' }) */
  readonly header: Readonly<Record<string, unknown>>;
  readonly alg: 'RS256' | 'ES256' | 'PS256';
  /** the machine token's claims WITHOUT iat/exp/nbf (tests add times) */
  readonly machineToken: Readonly<Record<string, unknown>>;
  /** the client id a resource server should read from the machine token */
  readonly clientId: string;
  /** the scopes/roles/permissions the machine token grants, as the API should see them */
  readonly grants: readonly string[];
  /** a token of the same provider that represents a USER (delegated), if documented */
  readonly userToken?: Readonly<Record<string, unknown>>;
  /** a token that must never be accepted as an access token (e.g. a Cognito ID token) */
  readonly idToken?: Readonly<Record<string, unknown>>;
  /** what to set on the provider's side so its tokens fit (audience mapper, resource parameter, optional claims, access-token format…) */
  readonly providerSide: string;
  /** where its discovery document is (URL pattern), and whether the RFC 8414 path-inserted URL works */
  readonly discovery: string;
  readonly notes?: string;
  readonly sources: readonly string[];
}

// Shared fake identifiers.
const AUTH0_ISSUER = 'https://example-tenant.us.auth0.com/';
const AUTH0_API = 'https://orders.example.com/api';
const AUTH0_CLIENT = 'Zq4mT7vX9bK2pL8nR3sW6yC1dF5gH0jA';

const ENTRA_TENANT = '3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b';
const ENTRA_API_CLIENT_ID = '8d1e6f2a-4b3c-4d5e-8f9a-0b1c2d3e4f5a';
const ENTRA_CALLER_APP_ID = 'c4b3a291-7e6d-4f5c-9b8a-1d2e3f4a5b6c';
const ENTRA_CALLER_SP_OID = '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b';

const OKTA_ISSUER = 'https://dev-1234567.okta.com/oauth2/default';
const OKTA_CLIENT = '0oa8acv8gbBPRCZ7I5d7';

const KEYCLOAK_ISSUER = 'https://sso.example.com/realms/orders';

const COGNITO_ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Ab3dEfGhI';
const COGNITO_RS = 'https://orders.example.com';
const COGNITO_CLIENT = '4k2m9q7r1s5t8u3v6w0x2y4z1a';

export const SHAPES: readonly ProviderShape[] = [
  {
    provider: 'Auth0',
    issuer: AUTH0_ISSUER,
    audience: AUTH0_API,
    header: { typ: 'JWT' },
    alg: 'RS256',
    machineToken: {
      iss: AUTH0_ISSUER,
      sub: `${AUTH0_CLIENT}@clients`,
      aud: AUTH0_API,
      azp: AUTH0_CLIENT,
      scope: 'read:orders write:orders',
      gty: 'client-credentials',
    },
    clientId: AUTH0_CLIENT,
    grants: ['read:orders', 'write:orders'],
    userToken: {
      iss: AUTH0_ISSUER,
      sub: 'auth0|6553da60a54af58e29493993',
      aud: [AUTH0_API, 'https://example-tenant.us.auth0.com/userinfo'],
      azp: AUTH0_CLIENT,
      scope: 'openid profile read:orders',
    },
    providerSide:
      'Register the API (its Identifier becomes aud) with the default "Auth0" access-token profile (token_dialect ' +
      '"access_token"); authorize the M2M application on the API with the scopes it may have. For a `permissions` ' +
      'claim: Enable RBAC and "Add Permissions in the Access Token" (dialect "access_token_authz").',
    discovery:
      'https://<tenant>.auth0.com/.well-known/openid-configuration (issuer keeps its trailing slash). The RFC 8414 ' +
      'path-inserted form is not documented.',
    notes:
      'Header typ "JWT" comes from the profile comparison table (row "type"). sub "<client_id>@clients" is the ' +
      'table\'s sample for client credentials. gty: the current profile page says gty is present "only for password ' +
      'and refresh_token", but Auth0\'s docs PR #1282 (merged 2026-05-27, "confirmed by protocols team") corrects ' +
      'that client-credentials tokens carry gty too; its text writes "client_credentials" while auth0/docs issue ' +
      '#6729 and every observed token show the value "client-credentials" (hyphen), which is used here. permissions ' +
      'omitted: the docs make it "case-specific" (RBAC + Add Permissions) and do not show its M2M content. With an ' +
      '"openid" scope, aud becomes an array that also holds the /userinfo URL (user token).',
    sources: [
      'https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles',
      'https://auth0.com/docs/get-started/apis/configure-access-token-profile',
      'https://github.com/auth0/docs-v2/pull/1282',
      'https://github.com/auth0/docs/issues/6729',
      'https://community.auth0.com/t/sub-claim-format-for-m2m-tokens/39451',
    ],
  },
  {
    provider: 'Auth0 (RFC 9068 profile)',
    issuer: AUTH0_ISSUER,
    audience: AUTH0_API,
    header: { typ: 'at+jwt' },
    alg: 'RS256',
    machineToken: {
      iss: AUTH0_ISSUER,
      sub: `${AUTH0_CLIENT}@clients`,
      aud: AUTH0_API,
      client_id: AUTH0_CLIENT,
      jti: '73WakrfVbNJBaAmhQtEeDv',
      scope: 'read:orders write:orders',
    },
    clientId: AUTH0_CLIENT,
    grants: ['read:orders', 'write:orders'],
    userToken: {
      iss: AUTH0_ISSUER,
      sub: 'auth0|6553da60a54af58e29493993',
      aud: [AUTH0_API, 'https://example-tenant.us.auth0.com/userinfo'],
      client_id: AUTH0_CLIENT,
      jti: 'aBv9njtYfwL4xfPZyEwz9m',
      scope: 'openid profile read:orders',
    },
    providerSide:
      'Set the API\'s JSON Web Token Profile to "RFC 9068" (Management API: token_dialect "rfc9068_profile", or ' +
      '"rfc9068_profile_authz" to add `permissions`).',
    discovery: 'As Auth0: https://<tenant>.auth0.com/.well-known/openid-configuration.',
    notes:
      'Documented differences from the Auth0 profile: typ at+jwt; client_id instead of azp; adds jti; never gty. ' +
      'The table gives sub the same "<client_id>@clients" sample for both profiles, so for client credentials sub is ' +
      'NOT the bare client id (unlike RFC 9068 §2.2 suggests).',
    sources: [
      'https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles',
      'https://auth0.com/blog/jwt-access-tokens-profiles-now-in-ga/',
    ],
  },
  {
    provider: 'Auth0 (agent-linked client, Agents as Principal)',
    issuer: AUTH0_ISSUER,
    audience: AUTH0_API,
    header: {},
    alg: 'RS256',
    machineToken: {
      iss: AUTH0_ISSUER,
      sub: 'agt_1a2b3c',
      sub_profile: 'ai_agent',
      client_id: AUTH0_CLIENT,
      client_profile: 'service ai_agent',
      aud: AUTH0_API,
      scope: 'read:orders',
    },
    clientId: AUTH0_CLIENT,
    grants: ['read:orders'],
    userToken: {
      iss: AUTH0_ISSUER,
      sub: 'auth0|user123',
      sub_profile: 'user',
      client_id: AUTH0_CLIENT,
      client_profile: 'ai_agent',
      aud: AUTH0_API,
      scope: 'read:orders',
      act: { sub: 'agt_1a2b3c', sub_profile: 'ai_agent', client_id: AUTH0_CLIENT },
    },
    providerSide:
      'Early Access. Associate the agent with an M2M client; set agent_subject_claims "auth0-v1" on the resource ' +
      'server to receive sub_profile/client_profile (opt-in per resource server).',
    discovery: 'As Auth0.',
    notes:
      'Client credentials by an agent-linked client: sub is the agent\'s external_agent_id if set, else its agent_id ' +
      '(agt_…), i.e. sub is neither the client id nor "<client_id>@clients"; the client is in client_id; the documented ' +
      'sample has no gty and no azp. sub_profile/client_profile appear only when the resource server opted in. The ' +
      'header is not documented for these samples (typ left out). Delegated tokens carry the agent in `act`.',
    sources: [
      'https://auth0.com/docs/ai-agents-mcp/agents-as-principal/agent-identity-in-tokens',
      'https://github.com/auth0/docs-v2/blob/main/main/docs/ai-agents-mcp/agents-as-principal/agent-token-flows/client-credentials.mdx',
    ],
  },
  {
    provider: 'Okta (custom authorization server)',
    issuer: OKTA_ISSUER,
    audience: 'api://default',
    header: {},
    alg: 'RS256',
    machineToken: {
      ver: 1,
      jti: 'AT.0mP4JKAZX1iACIT4vbEDF7LpvDVjxypPMf0D7uX39RE',
      iss: OKTA_ISSUER,
      aud: 'api://default',
      cid: OKTA_CLIENT,
      scp: ['orders.read', 'orders.write'],
      sub: OKTA_CLIENT,
    },
    clientId: OKTA_CLIENT,
    grants: ['orders.read', 'orders.write'],
    userToken: {
      ver: 1,
      jti: 'AT.xtjhr8FeMkyMfgLiFzVYOYPbgqWdd6ONULT3ffeK7d4',
      iss: OKTA_ISSUER,
      aud: 'api://default',
      cid: '0oaosna3ilNxgPTmk0h7',
      uid: '00uixa271s6x7qt8I0h7',
      scp: ['openid', 'email', 'orders.read'],
      auth_time: 1575929637,
      sub: 'joe.smith@example.com',
    },
    providerSide:
      'Use a custom authorization server (the org server\'s tokens are not for your API); its Audience becomes aud ' +
      '("api://default" on the default server); create the custom scopes the client requests.',
    discovery:
      'https://<org>.okta.com/oauth2/<authServerId>/.well-known/oauth-authorization-server and …/openid-configuration ' +
      '(issuer-suffixed). The RFC 8414 path-inserted form is not documented.',
    notes:
      'Header: Okta documents only alg (always RS256) and kid as reserved header claims; no typ. scp is a JSON array; ' +
      'cid carries the client id; uid is absent when no user is bound. sub comes from the authorization server\'s ' +
      'system "sub" claim, whose default expression is (appuser != null) ? appuser.userName : app.clientId, so a ' +
      'client-credentials token has sub = client id and a user token sub = the Okta username (often an email).',
    sources: [
      'https://developer.okta.com/docs/api/openapi/okta-oauth/guides/overview/',
      'https://github.com/okta/okta-developer-docs/blob/master/packages/@okta/vuepress-site/docs/reference/api/oidc/index.md',
      'https://developer.okta.com/docs/reference/api/authorization-servers/',
      'https://developer.okta.com/docs/guides/implement-grant-type/clientcreds/main/',
    ],
  },
  {
    provider: 'Entra ID v2',
    issuer: `https://login.microsoftonline.com/${ENTRA_TENANT}/v2.0`,
    audience: ENTRA_API_CLIENT_ID,
    header: { typ: 'JWT' },
    alg: 'RS256',
    machineToken: {
      aud: ENTRA_API_CLIENT_ID,
      iss: `https://login.microsoftonline.com/${ENTRA_TENANT}/v2.0`,
      aio: 'E2NgYJiZ2Hn3f9fQ1Jc4xOWoAA==',
      azp: ENTRA_CALLER_APP_ID,
      azpacr: '1',
      idtyp: 'app',
      oid: ENTRA_CALLER_SP_OID,
      rh: '0.AX0AHpwqP31bj06aCxwtPk9aa-Jv1P5nxq1Ps4LTYGuGRaB9AAA.',
      roles: ['Orders.Read.All', 'Orders.Write.All'],
      sub: ENTRA_CALLER_SP_OID,
      tid: ENTRA_TENANT,
      uti: 'fqiBqXLPj0eQa82S-IYFAA',
      ver: '2.0',
    },
    clientId: ENTRA_CALLER_APP_ID,
    grants: ['Orders.Read.All', 'Orders.Write.All'],
    userToken: {
      aud: ENTRA_API_CLIENT_ID,
      iss: `https://login.microsoftonline.com/${ENTRA_TENANT}/v2.0`,
      aio: 'AXQAi/8IAAAAtAaZLo3ChMif6KOnttRB7eBq4/DccQzjcJGxPYy/C3jDaNGxXd6wNIIVGRghNRnwJ1lOcA==',
      azp: ENTRA_CALLER_APP_ID,
      azpacr: '0',
      name: 'Abe Lincoln',
      oid: '690222be-ff1a-4d56-abd1-7e4f7d38e474',
      preferred_username: 'abe@contoso.example',
      rh: 'I',
      scp: 'access_as_user',
      sub: 'HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ',
      tid: ENTRA_TENANT,
      uti: 'fqiBqXLPj0eQa82S-IYFAA',
      ver: '2.0',
    },
    providerSide:
      'In the API\'s app registration set accessTokenAcceptedVersion (requestedAccessTokenVersion) = 2; define app ' +
      'roles and grant them to the calling app (admin consent); optionally add the access-token optional claim ' +
      '"idtyp" so app-only tokens say idtyp "app".',
    discovery:
      'https://login.microsoftonline.com/<tid>/v2.0/.well-known/openid-configuration (issuer ' +
      '"https://login.microsoftonline.com/<tid>/v2.0"; the /common document says {tenantid}). Keys: ' +
      'https://login.microsoftonline.com/<tid>/discovery/v2.0/keys. The RFC 8414 path-inserted form is not documented.',
    notes:
      'v2 aud is always the API\'s client id GUID (the optional-claims reference: "the aud claim is always the client ' +
      'ID" in v2). roles replace scp in app-only tokens; scp appears only in user tokens. idtyp is an optional claim ' +
      '(emitted only when the resource configures it; then "app" for app-only tokens). Microsoft does not state that ' +
      'sub equals oid for app-only tokens; observed app-only tokens (Microsoft Q&A) show sub = oid = the caller\'s ' +
      'service-principal object id, used here. The user token is Microsoft\'s decoded v2 sample with fake ids.',
    sources: [
      'https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference',
      'https://learn.microsoft.com/entra/identity-platform/access-tokens',
      'https://learn.microsoft.com/entra/identity-platform/optional-claims-reference',
      'https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow',
    ],
  },
  {
    provider: 'Entra ID v1',
    issuer: `https://sts.windows.net/${ENTRA_TENANT}/`,
    audience: 'api://orders-api',
    header: { typ: 'JWT', x5t: 'nOo3ZDrODXEK1jKWhXslHR_KXEg' },
    alg: 'RS256',
    machineToken: {
      aud: 'api://orders-api',
      iss: `https://sts.windows.net/${ENTRA_TENANT}/`,
      aio: 'E2NgYDjZ/ePxn9r1qHc1u9YAAA==',
      appid: ENTRA_CALLER_APP_ID,
      appidacr: '1',
      idp: `https://sts.windows.net/${ENTRA_TENANT}/`,
      idtyp: 'app',
      oid: ENTRA_CALLER_SP_OID,
      rh: '0.AX0AHpwqP31bj06aCxwtPk9aa-Jv1P5nxq1Ps4LTYGuGRaB9AAA.',
      roles: ['Orders.Read.All'],
      sub: ENTRA_CALLER_SP_OID,
      tid: ENTRA_TENANT,
      uti: 'OVe1NwL5kEyX0nJcR3AaAA',
      ver: '1.0',
    },
    clientId: ENTRA_CALLER_APP_ID,
    grants: ['Orders.Read.All'],
    providerSide:
      'Default for Entra-only app registrations (accessTokenAcceptedVersion null or 1). aud may be any App ID URI ' +
      '(with or without trailing slash) or the client id; add the access-token optional claim "aud" with ' +
      'additionalProperties ["use_guid"] to always get the client id GUID.',
    discovery:
      'https://login.microsoftonline.com/<tid>/.well-known/openid-configuration (no /v2.0): its issuer is ' +
      '"https://sts.windows.net/<tid>/" (the /common document says "https://sts.windows.net/{tenantid}/"); jwks_uri ' +
      'https://login.microsoftonline.com/common/discovery/keys (tenant-pinned: /<tid>/discovery/keys). Discovery from ' +
      'the issuer host (https://sts.windows.net/...) and the RFC 8414 path-inserted form are not documented.',
    notes:
      'x5t is a legacy v1-only header member whose value equals kid (the value here is fake; in a real token it matches ' +
      'kid). appid/appidacr replace azp/azpacr. idtyp "app" appears in observed v1 app-only tokens (a Microsoft Q&A ' +
      'sample and Microsoft\'s own agent-token sample); the optional-claims reference calls it optional.',
    sources: [
      'https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference',
      'https://learn.microsoft.com/entra/identity-platform/access-tokens',
      'https://learn.microsoft.com/entra/identity-platform/optional-claims-reference',
      'https://shawntabrizi.com/aad/secret-apis-in-azure-active-directory-and-azure-resource-manager/',
    ],
  },
  {
    provider: 'Entra Agent ID (agent identity, autonomous, v1 token)',
    issuer: `https://sts.windows.net/${ENTRA_TENANT}/`,
    audience: ENTRA_API_CLIENT_ID,
    header: { typ: 'JWT' },
    alg: 'RS256',
    machineToken: {
      aud: ENTRA_API_CLIENT_ID,
      iss: `https://sts.windows.net/${ENTRA_TENANT}/`,
      aio: 'Y2JgYGhn1nzmErKqi0vc4Fr6H22/C5/4FP+xZbZYpik8nRkp+gEA',
      appid: 'aaaaaaaa-1111-2222-3333-444444444444',
      appidacr: '2',
      idp: `https://sts.windows.net/${ENTRA_TENANT}/`,
      idtyp: 'app',
      oid: 'bbbbbbbb-1111-2222-3333-444444444444',
      rh: '1.AAAAAQAAAAAA8Q_OAAAAAAAAADQNUfLKjbhKoLyq7E06PjYAAAAAAA.',
      roles: ['Orders.Read.All'],
      sub: 'cccccccc-1111-2222-3333-444444444444',
      tid: ENTRA_TENANT,
      uti: 'm5RaaRnoFUyp2TbSCAAAAA',
      ver: '1.0',
      xms_act_fct: '3 9 11',
      xms_ftd: 'Z5DrW4HFOkR_Lz0M5qETa260d2-fO6seMZJ_tOwRNuc',
      xms_idrel: '7 10',
      xms_sub_fct: '9 3 11',
      xms_tnt_fct: '3 9',
      xms_par_app_azp: '30cf4c22-9985-4ef7-8756-91cc888176bd',
    },
    clientId: 'aaaaaaaa-1111-2222-3333-444444444444',
    grants: ['Orders.Read.All'],
    userToken: {
      aud: ENTRA_API_CLIENT_ID,
      iss: `https://sts.windows.net/${ENTRA_TENANT}/`,
      appid: 'aaaaaaaa-1111-2222-3333-444444444444',
      idtyp: 'user',
      oid: '690222be-ff1a-4d56-abd1-7e4f7d38e474',
      scp: 'Orders.Read',
      sub: 'HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ',
      tid: ENTRA_TENANT,
      ver: '1.0',
      xms_act_fct: '11',
      xms_idrel: '1',
    },
    providerSide:
      'Preview. The agent identity blueprint acquires an app token on behalf of the agent identity; grant the agent ' +
      'identity app roles on the API. xms_tnt_fct/xms_sub_fct/xms_act_fct/xms_par_app_azp are listed as optional claims.',
    discovery: 'As Entra ID v1/v2 (the sample is a v1 token; in v2 tokens azp replaces appid).',
    notes:
      'What marks an agent: xms_act_fct and/or xms_sub_fct contain 11 (AgentIdentity; 13 = agent\'s user account), ' +
      'space-separated, any order, ignore other values; xms_par_app_azp (the blueprint\'s app id) is present for agent ' +
      'identities and absent in standard app-only tokens ("agent identity marker" in the validation how-to). idtyp is ' +
      'still "app" for an autonomous agent ("user" when it acts for a user or as its agent user account), and ' +
      'xms_idrel has 7 (service principal). In Microsoft\'s sample sub (cccccccc-…) differs from oid (bbbbbbbb-…, the ' +
      'agent identity\'s service principal) — do not assume sub = oid. The sample itself has no roles although the ' +
      'scenario table lists roles (and scp empty or "/"); roles added here per the table. The user token is built ' +
      'from the "acting on behalf of a human user" table (no sample token is published for it).',
    sources: [
      'https://learn.microsoft.com/entra/agent-id/agent-token-claims',
      'https://learn.microsoft.com/entra/agent-id/agent-tokens',
      'https://learn.microsoft.com/entra/agent-id/how-to-validate-agent-tokens-downstream-api',
      'https://github.com/MicrosoftDocs/entra-docs/blob/main/docs/agent-id/agent-token-claims.md',
    ],
  },
  {
    provider: 'Keycloak (service account)',
    issuer: KEYCLOAK_ISSUER,
    audience: 'orders-api',
    header: { typ: 'JWT' },
    alg: 'RS256',
    machineToken: {
      jti: 'trtcc:312ee6a1-8c2b-4f0e-9d3a-6b5c4d3e2f1a',
      iss: KEYCLOAK_ISSUER,
      aud: 'orders-api',
      sub: '9b1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d',
      typ: 'Bearer',
      azp: 'billing-worker',
      acr: '1',
      realm_access: { roles: ['offline_access', 'uma_authorization', 'default-roles-orders'] },
      resource_access: { 'orders-api': { roles: ['orders.read', 'orders.write'] } },
      scope: 'profile email',
      email_verified: false,
      clientHost: '10.0.4.17',
      preferred_username: 'service-account-billing-worker',
      clientAddress: '10.0.4.17',
      client_id: 'billing-worker',
    },
    clientId: 'billing-worker',
    grants: ['orders.read', 'orders.write'],
    providerSide:
      'Enable "Client authentication" + "Service account roles" on the calling client; give the service account the ' +
      'API client\'s roles. aud: without a mapper it is only clients whose client roles are in the token (the "Audience ' +
      'Resolve" mapper of the "roles" scope — typically "account"); to pin it, add an "Audience" protocol mapper with ' +
      '"Included Client Audience" = orders-api (or "Included Custom Audience") in a client scope linked to the caller.',
    discovery:
      'https://<host>/realms/<realm>/.well-known/openid-configuration (and …/.well-known/oauth-authorization-server). ' +
      'Since 26.4 the RFC 8414 path-inserted https://<host>/.well-known/oauth-authorization-server/realms/<realm> ' +
      'works; the root form of openid-configuration does not (keycloak#45271).',
    notes:
      'client_id: since 21.1 the service-account "Client ID" mapper writes client_id (before: clientId; older realms ' +
      'keep clientId); since 26.1 the Client ID / Client Host / Client IP Address mappers live in the "service_account" ' +
      'client scope, attached to clients with service accounts enabled — a user token does not carry client_id. sub is ' +
      'the service-account user\'s UUID, not the client id. Keycloak\'s own docs publish no decoded service-account ' +
      'token: the typ header "JWT", typ claim "Bearer", preferred_username "service-account-<client>" and the default ' +
      'realm roles come from observed tokens (third-party pages below). resource_access holds only clients whose roles ' +
      'the token carries; aud here assumes the Audience mapper.',
    sources: [
      'https://www.keycloak.org/docs/latest/server_admin/index.html#_service_accounts',
      'https://www.keycloak.org/docs/latest/server_admin/index.html#audience-support',
      'https://github.com/keycloak/keycloak/blob/main/docs/documentation/upgrading/topics/keycloak/changes-21_1_0.adoc',
      'https://www.keycloak.org/docs-api/latest/javadocs/org/keycloak/common/constants/ServiceAccountConstants.html',
      'https://github.com/keycloak/keycloak/pull/42324',
      'https://github.com/keycloak/keycloak/issues/45271',
      'https://docs.pistis-market.eu/developers/keycloak/service-accounts',
      'https://tomcatdevs.blogspot.com/2026/06/get-keycloak-auth-access-token.html',
    ],
  },
  {
    provider: 'AWS Cognito',
    issuer: COGNITO_ISSUER,
    audience: COGNITO_RS,
    header: {},
    alg: 'RS256',
    machineToken: {
      iss: COGNITO_ISSUER,
      client_id: COGNITO_CLIENT,
      token_use: 'access',
      scope: `${COGNITO_RS}/orders.read ${COGNITO_RS}/orders.write`,
      auth_time: 1729500000,
      jti: '7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
    },
    clientId: COGNITO_CLIENT,
    grants: [`${COGNITO_RS}/orders.read`, `${COGNITO_RS}/orders.write`],
    userToken: {
      sub: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
      'cognito:groups': ['admin'],
      token_use: 'access',
      scope: 'aws.cognito.signin.user.admin',
      auth_time: 1562190524,
      iss: COGNITO_ISSUER,
      origin_jti: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
      jti: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
      client_id: '57cbishk4j24pabc1234567890',
      username: 'janedoe@example.com',
    },
    idToken: {
      sub: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
      aud: COGNITO_CLIENT,
      email_verified: true,
      token_use: 'id',
      auth_time: 1562190524,
      iss: COGNITO_ISSUER,
      'cognito:username': 'janedoe',
      email: 'janedoe@example.com',
    },
    providerSide:
      'Create a resource server whose Identifier is the API (e.g. https://orders.example.com) with custom scopes; give ' +
      'the app client a secret and allow the client_credentials grant (or ALLOW_CLIENT_TOKEN_AUTH for GetClientToken). ' +
      'The API must check client_id (there is no aud) and token_use "access", and read scopes as ' +
      '"<resource-server-identifier>/<scope-name>".',
    discovery:
      'Keys at https://cognito-idp.<region>.amazonaws.com/<userPoolId>/.well-known/jwks.json; the OIDC document at ' +
      '<issuer>/.well-known/openid-configuration. The RFC 8414 path-inserted form is not documented.',
    notes:
      'Access tokens have no aud: Cognito puts the app client id in client_id (ID tokens have aud = client id). Scopes ' +
      'are rendered "resourceServerIdentifier/ScopeName" — with a URL identifier, "https://orders.example.com/orders.read". ' +
      'Header: only kid and alg (RS256) are documented, no typ. Left out of the machine token because the AWS pages ' +
      'found do not show a client-credentials token: sub (widely observed to equal the client id), version (observed ' +
      '2) and the absence of username; auth_time and jti are from the generic access-token page. The user token and ID ' +
      'token follow AWS\'s samples.',
    sources: [
      'https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html',
      'https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html',
      'https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-define-resource-servers.html',
      'https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ResourceServerType.html',
      'https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ResourceServerScopeType.html',
      'https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GetClientToken.html',
      'https://docs.aws.amazon.com/verifiedpermissions/latest/userguide/cognito-validation.html',
      'https://github.com/oauth2-proxy/oauth2-proxy/issues/891',
    ],
  },
  {
    provider: 'Google (service-account ID token)',
    issuer: 'https://accounts.google.com',
    audience: 'https://orders.example.com',
    header: {},
    alg: 'RS256',
    machineToken: {
      iss: 'https://accounts.google.com',
      aud: 'https://orders.example.com',
      sub: '113774264463038321964',
      email: 'billing-worker@example-project.iam.gserviceaccount.com',
      email_verified: true,
    },
    clientId: '113774264463038321964',
    grants: [],
    providerSide:
      'The caller gets a Google-signed ID token for the service account with audience = the API (metadata server, ' +
      'gcloud auth print-identity-token --audiences, or iamcredentials generateIdToken with includeEmail=true to get ' +
      'email/email_verified).',
    discovery:
      'https://accounts.google.com/.well-known/openid-configuration; keys https://www.googleapis.com/oauth2/v3/certs. ' +
      'The RFC 8414 path-inserted form does not apply (the issuer has no path).',
    notes:
      'Google access tokens are opaque ("proprietary format; applications cannot inspect them"), so Google issues no ' +
      'JWT access token for an API; the machine credential an API can verify is a service-account ID token whose aud is ' +
      'the requested audience. It grants no scopes: authorize by sub (the service account\'s unique numeric id) or ' +
      'email. iss may also be "accounts.google.com" (no scheme) per Google\'s ID-token docs. azp is documented only as ' +
      'the authorized presenter\'s client id "when the party requesting the ID token is not the same as the audience"; ' +
      'its value for service-account tokens was not found documented, so it is left out (observed: equal to sub). ' +
      'typ header not documented.',
    sources: [
      'https://cloud.google.com/docs/authentication/token-types',
      'https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateIdToken',
      'https://cloud.google.com/nodejs/docs/reference/google-auth-library/latest/google-auth-library/tokenpayload',
      'https://cloud.google.com/compute/docs/instances/verifying-instance-identity',
      'https://cloud.google.com/sdk/gcloud/reference/auth/print-identity-token',
    ],
  },
  {
    provider: 'LemonLDAP::NG 2.x',
    issuer: 'https://auth.example.com/',
    audience: 'https://orders.example.com',
    header: { typ: 'JWT' },
    alg: 'RS256',
    machineToken: {
      iss: 'https://auth.example.com/',
      aud: ['billing-worker', 'https://orders.example.com'],
      client_id: 'billing-worker',
      jti: 'f3b1c2d4e5a6978812345678abcdef01',
      scope: 'orders.read orders.write',
      sub: 'billing-worker',
    },
    clientId: 'billing-worker',
    grants: ['orders.read', 'orders.write'],
    providerSide:
      'On the relying party: "Use JWT format for Access Token" (oidcRPMetaDataOptionsAccessTokenJWT, since 2.0.12); ' +
      'put the API in "Additional audiences" (space-separated, since 2.0.8); optionally "Release claims in Access ' +
      'Token"; signature algorithm per RP (default RS256); allow the client credentials grant (confidential RP).',
    discovery:
      '<issuer>/.well-known/openid-configuration (the portal serves it). The 2.16 code registers no ' +
      '.well-known/oauth-authorization-server route; what the portal answers there (likely its HTML login page) was not ' +
      'verified.',
    notes:
      'From the 2.16.1 source (Debian liblemonldap-ng-portal-perl 2.16.1+ds-deb12u10: Lemonldap/NG/Portal/Lib/' +
      'OpenIDConnect.pm makeJWT/createJWT/getAudiences, Issuer/OpenIDConnect.pm _handleClientCredentialsGrant): ' +
      'header typ "JWT" (not at+jwt) with kid when configured; payload iss, exp, aud, client_id, iat, jti (the token session id), scope, and sub only unless claims ' +
      'are released. aud is always an array: the RP\'s own client_id first, then the additional audiences. For client ' +
      'credentials the session\'s whatToTrace attribute is set to the client id, so sub = client id by default. iss is ' +
      'the configured issuer (oidcServiceMetaDataIssuer) or the portal URL, exactly as written (trailing slash included ' +
      'if configured so). Whether later releases switched typ to at+jwt was not checked.',
    sources: [
      'https://lemonldap-ng.org/documentation/latest/idpopenidconnect.html',
      'https://lemonldap-ng.org/documentation/latest/openidconnectservice.html',
      'https://packages.debian.org/bookworm/liblemonldap-ng-portal-perl',
    ],
  },
  {
    provider: 'Glewlwyd 2.x (OIDC plugin)',
    issuer: 'https://glewlwyd.example.com/api/oidc',
    audience: 'https://orders.example.com/',
    header: { typ: 'at+jwt' },
    alg: 'RS256',
    machineToken: {
      iss: 'https://glewlwyd.example.com/api/oidc',
      aud: 'https://orders.example.com/',
      client_id: 'billing-worker',
      sub: 'billing-worker',
      jti: 'abcdxyz1234abcdxyz1234abcdxyz12',
      type: 'access_token',
      scope: 'orders.read orders.write',
    },
    clientId: 'billing-worker',
    grants: ['orders.read', 'orders.write'],
    providerSide:
      'Enable "Allow resource indicators" and list the API under the scopes\' allowed resources; the client sends ' +
      'resource=<api> on the token request. Without a resource, aud is the granted scope list string.',
    discovery:
      'https://<host>/api/<plugin-name>/.well-known/openid-configuration (plugin "oidc" → /api/oidc/…). The plugin ' +
      'registers no oauth-authorization-server route, so the RFC 8414 forms are absent.',
    notes:
      'From the source (src/plugin/protocol_oidc.c generate_client_access_token, commit 0219fa0, 2024-10-20): typ ' +
      '"at+jwt"; claims iss, aud (= resource, else the scope list), client_id, sub = client_id, iat, exp, nbf, jti, ' +
      'type "access_token", scope, and cnf when certificate- or DPoP-bound. iss is the plugin\'s configured Issuer ' +
      'string (the doc sample writes "https://glewlwyd.tld/"); the /api/oidc host path here is only an example. ' +
      'Signing algorithm is configurable; RS256 assumed.',
    sources: [
      'https://github.com/babelouest/glewlwyd/blob/master/docs/OIDC.md',
      'https://github.com/babelouest/glewlwyd/blob/master/src/plugin/protocol_oidc.c',
    ],
  },
  {
    provider: 'node oidc-provider (panva) 9.x',
    issuer: 'https://op.example.com',
    audience: 'https://orders.example.com',
    header: { typ: 'at+jwt' },
    alg: 'RS256',
    machineToken: {
      jti: 'V1StGXR8_Z5jdHi6B-myTV1StGXR8_Z5jdHi6B-myT',
      sub: 'billing-worker',
      scope: 'orders:read orders:write',
      client_id: 'billing-worker',
      iss: 'https://op.example.com',
      aud: 'https://orders.example.com',
    },
    clientId: 'billing-worker',
    grants: ['orders:read', 'orders:write'],
    providerSide:
      'Enable features.resourceIndicators; getResourceServerInfo returns { scope, accessTokenFormat: "jwt", audience? } ' +
      'for the API (default format is opaque); the client requests resource=<api> (or defaultResource resolves it).',
    discovery:
      '<issuer>/.well-known/openid-configuration and <issuer>/.well-known/oauth-authorization-server (both routes are ' +
      'relative to where the provider is mounted). For an issuer with a path, the RFC 8414 path-inserted URL is not ' +
      'served by the provider itself.',
    notes:
      'From lib/models/formats/jwt.js (v9.11.4): header typ "at+jwt" with kid; sub = accountId, else the client id ' +
      '(client credentials); aud = the resource indicator (or the resource server\'s `audience`); JWT access tokens ' +
      'without aud are refused. authorization_details and cnf appear only when used. Default signing alg is the ' +
      'client default id_token alg, RS256.',
    sources: [
      'https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#featuresresourceindicators',
      'https://github.com/panva/node-oidc-provider/blob/main/lib/models/formats/jwt.js',
      'https://github.com/panva/node-oidc-provider/blob/main/lib/helpers/initialize_app.js',
    ],
  },
  {
    provider: 'Duende IdentityServer',
    issuer: 'https://identity.example.com',
    audience: 'orders',
    header: { typ: 'at+jwt' },
    alg: 'RS256',
    machineToken: {
      iss: 'https://identity.example.com',
      aud: 'orders',
      client_id: 'billing-worker',
      jti: 'C8A2B7F0E6D14B4C9A3F5E2D1C0B9A87',
      scope: ['orders.read', 'orders.write'],
    },
    clientId: 'billing-worker',
    grants: ['orders.read', 'orders.write'],
    userToken: {
      iss: 'https://identity.example.com',
      aud: 'orders',
      client_id: 'web',
      sub: '123',
      jti: '5B0A6C7D8E9F40112233445566778899',
      scope: ['openid', 'profile', 'orders.read'],
    },
    providerSide:
      'Model the API as an ApiResource named "orders" containing the scopes (its name becomes aud; with ApiScopes only, ' +
      'no aud is emitted unless EmitStaticAudienceClaim gives "<issuer>/resources"). Scope is a JSON array unless ' +
      'EmitScopesAsSpaceDelimitedStringInJwt = true.',
    discovery:
      '<issuer>/.well-known/openid-configuration. The RFC 8414 oauth-authorization-server path is not documented.',
    notes:
      'typ comes from AccessTokenJwtType (default "at+jwt"). By default a client-credentials token holds scope, nbf/exp, ' +
      'client_id and iss (quickstart), plus jti (Client.IncludeJwtId defaults to true) — no sub. ' +
      'EmitScopesAsSpaceDelimitedStringInJwt defaults to false "for backwards compatibility", so scope is an array; ' +
      'the API-resources doc samples write scope as a string, which matches the option turned on. iss is inferred from ' +
      'the request URL unless IssuerUri is set (lower-cased by default). Signing alg per ApiResource ' +
      '(AllowedAccessTokenSigningAlgorithms); RS256 is the default key type.',
    sources: [
      'https://docs.duendesoftware.com/identityserver/reference/options/',
      'https://docs.duendesoftware.com/identityserver/fundamentals/resources/api-resources/',
      'https://docs.duendesoftware.com/identityserver/quickstarts/1-client-credentials/',
      'https://docs.duendesoftware.com/identityserver/reference/models/client/',
    ],
  },
];
