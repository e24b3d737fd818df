/**
 * Glewlwyd 2.7 (Debian's glewlwyd) with its OpenID Connect plugin: RFC 9068 JWT access tokens
 * (`typ: at+jwt`), client credentials, a user token through the authorization-code flow, and key
 * rotation through the admin API.
 *
 * - Installed with debconf told "No configuration" (glewlwyd/config_type): no dbconfig database,
 *   no service; each run has its own sqlite database made from the package's schema and initial
 *   data, and its own config file (test/idp/glewlwyd/glewlwyd.conf).
 * - The admin API takes the package's initial admin (admin/password) through a cookie session.
 * - `aud`: with resource indicators allowed the client sends `resource=<the API>` and `aud` is it;
 *   without a resource parameter Glewlwyd puts the scope list in `aud`.
 * - A key change is two calls: PUT the plugin's configuration, then PUT …/reset, which reloads it.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeJws } from '../lib/checks.mjs';
import { CookieJar, request, tokenRequest } from '../lib/http.mjs';
import { cachingHeaders } from '../lib/jwks-watch.mjs';
import { freePort, runCommand, startServer, stop, waitForHttp } from '../lib/processes.mjs';

const CONFIG_DIR = fileURLToPath(new URL('../glewlwyd', import.meta.url));
const SCHEMA = '/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3';
const AUDIENCE = 'https://orders.example.com';
const OTHER_API = 'https://inventory.example.com';
const REDIRECT_URI = 'https://orders-worker.example.com/callback';
const SHORT_LIFETIME_S = 6;

const secret = () => randomBytes(18).toString('base64url');

/** A fresh RS256 signing key as Glewlwyd wants it in `jwks-private`: private JWK with `kid` and `alg`. */
function newSigningKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: `glw-${randomUUID().slice(0, 8)}`, alg: 'RS256' };
}

/** @type {import('./types.mjs').Idp} */
export const glewlwyd = {
  name: 'glewlwyd',
  packages: ['glewlwyd', 'dbconfig-sqlite3'],
  // The real template names (the package's templates file): no debconf-driven configuration at all.
  preseed: 'glewlwyd glewlwyd/config_type select No configuration\nglewlwyd glewlwyd/dbconfig-install boolean false\n',
  async start(stateDir, say) {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const api = `${origin}/api`;
    const issuer = `${api}/oidc`;
    await createDatabase(stateDir);
    mkdirSync(join(stateDir, 'user_middleware'));
    const config = join(stateDir, 'glewlwyd.conf');
    writeFileSync(config, readFileSync(join(CONFIG_DIR, 'glewlwyd.conf'), 'utf8').replaceAll('@PORT@', String(port)).replaceAll('@STATE@', stateDir).replaceAll('@LOG_LEVEL@', 'WARNING'));
    const server = startServer('glewlwyd', 'glewlwyd', ['-c', config], { log: join(stateDir, 'glewlwyd.log') });
    try {
      await waitForHttp(server, `${api}/auth/scheme/`, 20_000);
      const admin = await adminSession(api);
      const clients = await provision(admin, issuer);
      say(`glewlwyd on ${origin}, issuer ${issuer}`);
      return running({ server, api, issuer, admin, clients });
    } catch (error) {
      await stop(server);
      throw error;
    }
  },
};

async function createDatabase(stateDir) {
  const created = await runCommand('sqlite3', [join(stateDir, 'glewlwyd.db')], { input: readFileSync(SCHEMA, 'utf8') });
  if (created.code !== 0) throw new Error(`creating the sqlite database failed: ${created.output.slice(-500)}`);
}

/** The admin API, as the package's initial administrator. */
async function adminSession(api) {
  const jar = new CookieJar();
  const login = await request(`${api}/auth/`, { json: { username: 'admin', password: 'password' }, jar });
  if (login.status !== 200) throw new Error(`admin login answered ${login.status}`);
  /** @param {string} method @param {string} path @param {unknown} [json] */
  return async (method, path, json) => {
    const answer = await request(`${api}${path}`, { method, json, jar });
    if (answer.status !== 200) throw new Error(`${method} ${path} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
    return answer.json;
  };
}

/** Scopes, the OIDC plugin (test/idp/glewlwyd/oidc-plugin.json), clients and the user. */
async function provision(admin, issuer) {
  for (const name of ['orders.read', 'orders.write', 'inventory.read']) {
    await admin('POST', '/scope/', { name, display_name: name, description: name, password_required: false, scheme: {} });
  }
  const key = newSigningKey();
  const plugin = JSON.parse(readFileSync(join(CONFIG_DIR, 'oidc-plugin.json'), 'utf8'));
  Object.assign(plugin.parameters, { iss: issuer, 'jwks-private': JSON.stringify({ keys: [key] }), 'default-kid': key.kid });
  await admin('POST', '/mod/plugin/', plugin);

  const clients = { 'orders-worker': secret(), 'orders-reporter': secret(), 'inventory-worker': secret() };
  /** Confidential clients need token_endpoint_auth_method, or the token endpoint refuses them. */
  const client = (id, scope, extra = {}) => ({
    client_id: id, name: id, confidential: true, enabled: true, client_secret: clients[id],
    authorization_type: ['client_credentials'], scope, token_endpoint_auth_method: ['client_secret_basic'], ...extra,
  });
  // orders-worker also runs the user's authorization-code flow: the user token comes from a client of the permissions map.
  await admin('POST', '/client/', client('orders-worker', ['orders.read', 'orders.write'], { authorization_type: ['client_credentials', 'code', 'refresh_token'], redirect_uri: [REDIRECT_URI] }));
  await admin('POST', '/client/', client('orders-reporter', ['orders.read']));
  await admin('POST', '/client/', client('inventory-worker', ['inventory.read']));
  await admin('POST', '/user/', { username: 'dwho', name: 'Doctor Who', password: 'dwho', scope: ['openid', 'orders.read', 'orders.write'], enabled: true });
  return clients;
}

/** The user's token: log in (session cookie), consent for orders-worker, authorize, exchange the code. */
async function authorizationCodeToken(api, credentials) {
  const jar = new CookieJar();
  const scope = 'openid orders.read orders.write';
  const login = await request(`${api}/auth/`, { json: { username: 'dwho', password: 'dwho' }, jar });
  if (login.status !== 200) throw new Error(`user login answered ${login.status}`);
  const grant = await request(`${api}/auth/grant/orders-worker`, { method: 'PUT', json: { scope }, jar });
  if (grant.status !== 200) throw new Error(`consent answered ${grant.status}`);
  // g_continue: what the login page adds once the user is authenticated; without it /auth redirects to the page.
  const query = new URLSearchParams({ response_type: 'code', client_id: 'orders-worker', redirect_uri: REDIRECT_URI, scope, state: randomUUID(), nonce: randomUUID(), resource: AUDIENCE, g_continue: '' });
  const authorize = await request(`${api}/oidc/auth?${query}`, { jar });
  const code = new URL(authorize.headers.get('location') ?? 'about:blank').searchParams.get('code');
  if (authorize.status !== 302 || !code) throw new Error(`authorization answered ${authorize.status} ${authorize.headers.get('location')}`);
  const exchange = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, resource: AUDIENCE };
  return (await tokenRequest(`${api}/oidc/token`, exchange, credentials)).token;
}

/** @returns {Promise<import('./types.mjs').Running>} */
async function running({ server, api, issuer, admin, clients }) {
  const metadata = await request(`${issuer}/.well-known/openid-configuration`);
  const jwksUri = metadata.json.jwks_uri;
  const credentials = (id) => ({ clientId: id, secret: clients[id] });
  const clientCredentials = async (id, scope, resource) => (await tokenRequest(`${api}/oidc/token`, { grant_type: 'client_credentials', scope, resource }, credentials(id))).token;

  /**
   * Changes plugin parameters and reloads the plugin (a configuration change alone is not used until
   * a reset). `beforeReset` runs between the two, to see what the server serves meanwhile.
   */
  async function reconfigure(change, beforeReset = async () => undefined) {
    const plugin = await admin('GET', '/mod/plugin/oidc');
    Object.assign(plugin.parameters, change);
    await admin('PUT', '/mod/plugin/oidc', { module: plugin.module, name: plugin.name, display_name: plugin.display_name, enabled: true, parameters: plugin.parameters });
    await beforeReset();
    await admin('PUT', '/mod/plugin/oidc/reset');
  }

  /** A rotation that also looks at the key set between the configuration change and the reset. */
  async function rotate() {
    const key = newSigningKey();
    const started = Date.now();
    let meanwhile = [];
    await reconfigure({ 'jwks-private': JSON.stringify({ keys: [key] }), 'default-kid': key.kid }, async () => {
      meanwhile = (await request(jwksUri)).json?.keys?.map((each) => each.kid) ?? [];
    });
    return { kid: key.kid, publishedMs: await untilListed(jwksUri, key.kid, started), beforeReset: meanwhile };
  }

  return {
    name: 'glewlwyd',
    options: { issuer, audience: AUDIENCE, strict: true },
    jwksUri,
    foreignClient: 'inventory-worker',
    userClient: 'orders-worker',
    async mint(kind) {
      switch (kind) {
        case 'worker': return clientCredentials('orders-worker', 'orders.read orders.write', AUDIENCE);
        case 'reporter': return clientCredentials('orders-reporter', 'orders.read', AUDIENCE);
        case 'foreign': return clientCredentials('inventory-worker', 'inventory.read', OTHER_API);
        case 'user': return authorizationCodeToken(api, credentials('orders-worker'));
        default: throw new Error(`no ${kind} token`);
      }
    },
    async mintShortLived() {
      // The lifetime is the plugin's: shortened for this one token, then set back.
      await reconfigure({ 'access-token-duration': SHORT_LIFETIME_S });
      try {
        const issuedAt = Date.now();
        const token = await clientCredentials('orders-worker', 'orders.read orders.write', AUDIENCE);
        return { token, expiresAt: issuedAt + SHORT_LIFETIME_S * 1000 };
      } finally {
        await reconfigure({ 'access-token-duration': 3600 });
      }
    },
    rotate,
    describe: async (token) => describeJws(token),
    why: {
      opaque: 'Glewlwyd access tokens are always JWTs (its introspection endpoint serves them, the guard verifies them locally)',
    },
    async facts() {
      const jwks = await request(jwksUri);
      const noResource = await clientCredentials('orders-worker', 'orders.read orders.write', undefined);
      const before = jwks.json.keys.map((key) => key.kid);
      const rotation = await rotate();
      return [
        `discovery: ${issuer}/.well-known/openid-configuration (the RFC 8414 URL answers ${(await request(`${new URL(api).origin}/.well-known/oauth-authorization-server/api/oidc`)).status}); jwks_uri ${jwksUri}`,
        `JWKS caching headers: ${cachingHeaders(jwks.headers)}`,
        `a key change: after PUT /mod/plugin/oidc the JWKS still lists [${rotation.beforeReset}] (was [${before}]); after PUT …/reset it lists only ${rotation.kid}, ${rotation.publishedMs} ms after the change began: the plugin serves the keys it loaded until it is reset`,
        `a token asked for without resource=: ${describeJws(noResource)}`,
      ];
    },
    stop: () => stop(server),
  };
}

/**
 * Fetches the server's key set (straight, not through a guard) until it lists `kid`: how long the
 * server itself takes to publish a key it was given.
 */
export async function untilListed(jwksUri, kid, started) {
  while (Date.now() - started < 30_000) {
    const answer = await request(jwksUri);
    if (answer.json?.keys?.some((key) => key.kid === kid)) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${jwksUri} did not list ${kid} within 30 s`);
}
