/**
 * Every provider's machine token (shapes.ts, as its documentation shows it) under its tested
 * configuration (configurations.ts), through the engine and both adapters; its user token refused
 * under requireClientCredentials, its ID token never accepted; the strict column of the README
 * table checked; and the README table itself rendered from the configurations.
 */
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Scopeguard, type ScopeguardOptions } from '@scopeguard/core';
import { startAdapter, type AdapterName } from '../conformance/adapters';
import { send } from '../support/http';
import { CONFIGURATIONS, providerTable, type ProviderConfiguration } from './configurations';
import { codeOf } from '../support/outcome';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KID = 'provider-key';
const JWKS = { keys: [{ ...(publicKey.export({ format: 'jwk' }) as object), kid: KID, alg: 'RS256', use: 'sig' }] };

function signed(header: Readonly<Record<string, unknown>>, claims: Readonly<Record<string, unknown>>, key: KeyObject = privateKey): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const input = `${encode({ ...header, alg: 'RS256', kid: KID })}.${encode({ ...claims, iat: now, exp: now + 600 })}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

function optionsFor(configuration: ProviderConfiguration, extra: Partial<ScopeguardOptions> = {}): ScopeguardOptions {
  const { shape } = configuration;
  return {
    issuer: shape.issuer,
    audience: shape.audience,
    keys: JWKS,
    requireClientCredentials: true,
    permissions: { [shape.clientId]: ['orders.read', 'orders.write', ...configuration.scopes] },
    ...configuration.options,
    ...extra,
  } as ScopeguardOptions;
}

describe.each(CONFIGURATIONS.map((configuration) => [configuration.name, configuration] as const))('%s', (_, configuration) => {
  const { shape } = configuration;
  const machineToken = signed(shape.header, shape.machineToken);

  it('the machine token is admitted as its client, with its scopes, as a client-credentials token', async () => {
    const principal = await new Scopeguard(optionsFor(configuration)).verify(machineToken);
    expect(principal).toMatchObject({ clientId: shape.clientId, issuer: shape.issuer, isClientCredentials: true });
    expect(principal.scopes).toEqual(configuration.scopes);
  });

  it.each<AdapterName>(['express5', 'nest-express'])('through %s: authenticated routes answer 200, scoped ones by the mapped scopes', async (adapter) => {
    const app = await startAdapter(adapter, optionsFor(configuration));
    try {
      const principal = await new Scopeguard(optionsFor(configuration)).verify(machineToken);
      const readable = principal.permissions.includes('orders.read');
      const auth = await send(`${app.base}/auth`, { headers: { authorization: `Bearer ${machineToken}` } });
      const read = await send(`${app.base}/read`, { headers: { authorization: `Bearer ${machineToken}` } });
      expect([auth.status, read.status]).toEqual([200, readable ? 200 : 403]);
      // Every configuration maps one of its scopes to orders.read, except Google's ID tokens (no scopes).
      expect(readable).toBe(configuration.scopes.length > 0);
    } finally {
      await app.close();
    }
  });

  it(`the strict column says ${configuration.strict ? 'yes' : 'no'}`, async () => {
    if (configuration.options.preset === 'cognito') {
      expect(() => new Scopeguard(optionsFor(configuration, { strict: true }))).toThrow(/strict/);
      return;
    }
    const code = await codeOf(new Scopeguard(optionsFor(configuration, { strict: true })).verify(machineToken));
    if (configuration.strict) expect(code).toBe('OK');
    else expect(['ERR_TOKEN_TYPE', 'ERR_TOKEN_CLAIM']).toContain(code);
  });

  if (shape.userToken !== undefined) {
    const userToken = signed(shape.header, shape.userToken);
    it('its user token is refused under requireClientCredentials', async () => {
      const engine = new Scopeguard(optionsFor(configuration, { permissions: 'token' }));
      // Cognito's user token is refused earlier still: its client and scopes are not this API's.
      expect(await codeOf(engine.verify(userToken))).toBe(configuration.options.preset === 'cognito' ? 'ERR_TOKEN_CLAIM' : 'ERR_TOKEN_NOT_CLIENT');
    });
  }

  if (shape.idToken !== undefined) {
    const idToken = signed(shape.header, shape.idToken);
    it('its ID token never passes, even without requireClientCredentials and on a route without scopes', async () => {
      const open = { requireClientCredentials: false, permissions: 'token' } as const;
      expect(await codeOf(new Scopeguard(optionsFor(configuration, open)).verify(idToken))).toBe('ERR_TOKEN_CLAIM');
      // The tempting workaround for Cognito's missing aud (audience = the app client id) changes nothing.
      const workaround = optionsFor(configuration, { ...open, audience: String(shape.idToken!.aud) });
      expect(await codeOf(new Scopeguard(workaround).verify(idToken))).toBe('ERR_TOKEN_CLAIM');
      const app = await startAdapter('express5', optionsFor(configuration, open));
      try {
        expect((await send(`${app.base}/auth`, { headers: { authorization: `Bearer ${idToken}` } })).status).toBe(401);
      } finally {
        await app.close();
      }
    });
  }
});

describe('provider rules that the shapes alone do not show', () => {
  const cognito = CONFIGURATIONS.find((configuration) => configuration.options.preset === 'cognito')!;
  const claims = cognito.shape.machineToken;

  it('Cognito: a client not in clientIds, a token for another resource server, and token_use id are refused', async () => {
    const engine = new Scopeguard(optionsFor(cognito, { permissions: 'token' }));
    const verify = (extra: Record<string, unknown>) => codeOf(engine.verify(signed({}, { ...claims, ...extra })));
    expect(await verify({ client_id: 'another-client' })).toBe('ERR_TOKEN_CLAIM');
    expect(await verify({ scope: 'https://billing.example.com/invoices.read' })).toBe('ERR_TOKEN_CLAIM');
    // A resource server whose identifier extends this one's (scope names never hold a /).
    expect(await verify({ scope: 'https://orders.example.com/admin/write' })).toBe('ERR_TOKEN_CLAIM');
    expect(await verify({ scope: 'https://orders.example.com.evil/orders.read' })).toBe('ERR_TOKEN_CLAIM');
    expect(await verify({ token_use: 'id' })).toBe('ERR_TOKEN_CLAIM');
    expect(await verify({ token_use: undefined })).toBe('ERR_TOKEN_CLAIM');
    expect(await verify({ aud: 'https://elsewhere.example.com' })).toBe('ERR_TOKEN_CLAIM');
    // A user's access token of this client and resource server (it names a `username`) is not a client token.
    expect(await verify({ username: 'janedoe', sub: randomUUID() })).toBe('ERR_TOKEN_NOT_CLIENT');
    // Scopes of other resource servers in the same token are not this API's.
    const mixed = await engine.verify(signed({}, { ...claims, scope: `https://orders.example.com/orders.read https://billing.example.com/orders.write openid` }));
    expect(mixed.scopes).toEqual(['orders.read']);
  });

  it('Keycloak: claim paths read own properties only; a claim of the whole dotted name wins (Auth0 namespaced claims)', async () => {
    const keycloak = CONFIGURATIONS.find((configuration) => configuration.name === 'Keycloak')!;
    const base = keycloak.shape.machineToken;
    const engine = (scopeClaims: readonly (string | readonly string[])[]) =>
      new Scopeguard(optionsFor(keycloak, { permissions: 'token', scopeClaims } as Partial<ScopeguardOptions>));
    const verify = async (scopeClaims: readonly (string | readonly string[])[], extra: Record<string, unknown> = {}) =>
      (await engine(scopeClaims).verify(signed({}, { ...base, ...extra }))).scopes;
    expect(await verify(['realm_access.roles'])).toEqual(['offline_access', 'uma_authorization', 'default-roles-orders']);
    expect(await verify([['resource_access', 'orders-api', 'roles']])).toEqual(['orders.read', 'orders.write']);
    // A client id with a dot needs the array form.
    expect(await verify([['resource_access', 'orders.api', 'roles']], { resource_access: { 'orders.api': { roles: ['orders.admin'] } } })).toEqual(['orders.admin']);
    expect(await verify(['https://example.com/roles'], { 'https://example.com/roles': ['orders.admin'] })).toEqual(['orders.admin']);
    // Arrays and strings on the way are not objects to walk into; inherited members are never read.
    expect(await verify(['resource_access.orders-api.roles.length'])).toEqual([]);
    expect(await verify(['scope.length'])).toEqual([]);
    expect(await verify(['resource_access.toString'])).toEqual([]);
    const polluted = `{"iss":${JSON.stringify(base.iss)},"aud":"orders-api","client_id":"billing-worker","resource_access":{"__proto__":{"roles":["orders.admin"]}}}`;
    const header = Buffer.from(JSON.stringify({ alg: 'RS256', kid: KID })).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const payload = Buffer.from(polluted.replace(/}$/, `,"exp":${now + 60}}`)).toString('base64url');
    const token = `${header}.${payload}.${sign('sha256', Buffer.from(`${header}.${payload}`), privateKey).toString('base64url')}`;
    expect((await engine([['resource_access', 'x', 'roles'], 'resource_access.orders-api.roles']).verify(token)).scopes).toEqual([]);
  });

  it('Entra: the preset reads roles (app tokens) and scp (delegated tokens); an Entra ID token (no azp/appid) is never a client token', async () => {
    const entra = CONFIGURATIONS.find((configuration) => configuration.name === 'Entra ID v2')!;
    const engine = new Scopeguard(optionsFor(entra, { permissions: 'token', requireClientCredentials: false }));
    const delegated = await engine.verify(signed({}, entra.shape.userToken!));
    expect(delegated.scopes).toEqual(['access_as_user']);
    expect(delegated.isClientCredentials).toBe(false);
    const { azp: _azp, idtyp: _idtyp, roles: _roles, ...idTokenLike } = entra.shape.machineToken;
    const strictEngine = new Scopeguard(optionsFor(entra, { permissions: 'token' }));
    expect(await codeOf(strictEngine.verify(signed({}, idTokenLike)))).toBe('ERR_TOKEN_NOT_CLIENT');
    // An agent identity without the idtyp optional claim: sub ≠ oid, no scp: a client token.
    const agent = CONFIGURATIONS.find((configuration) => configuration.name === 'Entra Agent ID')!;
    const { idtyp: _agentIdtyp, ...withoutIdtyp } = agent.shape.machineToken;
    expect((await new Scopeguard(optionsFor(agent)).verify(signed({}, withoutIdtyp))).isClientCredentials).toBe(true);
  });

  it('Auth0: an RFC 9068-format token with sub = the client id and no gty is a client token; sub_profile user is not', async () => {
    const auth0 = CONFIGURATIONS.find((configuration) => configuration.name === 'Auth0, RFC 9068 profile')!;
    const engine = new Scopeguard(optionsFor(auth0, { permissions: 'token' }));
    const base = auth0.shape.machineToken;
    expect((await engine.verify(signed({}, { ...base, sub: auth0.shape.clientId }))).isClientCredentials).toBe(true);
    expect(await codeOf(engine.verify(signed({}, { ...base, sub: 'agt_1', sub_profile: 'user' })))).toBe('ERR_TOKEN_NOT_CLIENT');
    expect(await codeOf(engine.verify(signed({}, { ...base, gty: 'password' })))).toBe('ERR_TOKEN_NOT_CLIENT');
    expect(await codeOf(engine.verify(signed({}, { ...base, sub: randomUUID() })))).toBe('ERR_TOKEN_NOT_CLIENT');
  });
});

describe('the core README’s provider table', () => {
  // After changing configurations.ts: UPDATE_PROVIDER_TABLE=1 npx jest test/providers rewrites the table.
  it('lists exactly the tested configurations', () => {
    const path = join(__dirname, '../../packages/core/README.md');
    const readme = readFileSync(path, 'utf8');
    const marked = /(<!-- providers:start -->\n)([\s\S]*?)\n?(<!-- providers:end -->)/;
    if (process.env.UPDATE_PROVIDER_TABLE) writeFileSync(path, readme.replace(marked, `$1${providerTable()}\n$3`));
    const section = /<!-- providers:start -->\n([\s\S]*?)\n<!-- providers:end -->/.exec(readFileSync(path, 'utf8'))?.[1];
    expect(section).toBe(providerTable());
  });
});
