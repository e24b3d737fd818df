/**
 * django-oauth-toolkit 1.7 (Debian's python3-django-oauth-toolkit) under Django's runserver:
 * opaque access tokens, checked by the guard through DOT's RFC 7662 endpoint (`introspection`).
 *
 * - Debian's /usr/bin/python3, never the python first on PATH (a pyenv one lacks Debian's modules).
 * - No discovery: DOT serves metadata only with OIDC on, and then only at
 *   /o/.well-known/openid-configuration/ (trailing slash), so the endpoints are given explicitly.
 * - No audience: DOT has none, its introspection answer has no `aud`, so the guard needs
 *   `endpointChecksAudience: true` to accept any DOT token at all; the foreign-audience check shows
 *   what that costs.
 * - DOT 1.7 allows one grant type per application: the user token comes from `orders-web` (password
 *   grant), not from a client of the permissions map.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request, tokenRequest, basic } from '../lib/http.mjs';
import { freePort, runCommand, startServer, stop, waitForHttp } from '../lib/processes.mjs';

const PROJECT = fileURLToPath(new URL('../django', import.meta.url));
const PYTHON = '/usr/bin/python3';
const AUDIENCE = 'https://orders.example.com';
const SHORT_LIFETIME_S = 6;

const secret = () => randomBytes(18).toString('base64url');

/** @type {import('./types.mjs').Idp} */
export const django = {
  name: 'django',
  packages: ['python3-django-oauth-toolkit'],
  async start(stateDir, say) {
    const env = { ...process.env, IDP_STATE_DIR: stateDir, PYTHONPATH: PROJECT, DJANGO_SETTINGS_MODULE: 'idp_django.settings', PYTHONDONTWRITEBYTECODE: '1' };
    const clients = {
      'orders-worker': { secret: secret(), grant: 'client-credentials' },
      'orders-reporter': { secret: secret(), grant: 'client-credentials' },
      'inventory-worker': { secret: secret(), grant: 'client-credentials' },
      'orders-api': { secret: secret(), grant: 'client-credentials' }, // the API's own credentials, to introspect
      'orders-web': { secret: secret(), grant: 'password' },
    };
    await setUp(env, clients);

    const port = await freePort();
    const base = `http://127.0.0.1:${port}/o`;
    const server = startServer('django-oauth-toolkit', PYTHON, ['-m', 'django', 'runserver', '--noreload', `127.0.0.1:${port}`], { env, log: join(stateDir, 'runserver.log') });
    try {
      await waitForHttp(server, `${base}/token/`, 30_000);
    } catch (error) {
      await stop(server);
      throw error;
    }
    say(`django-oauth-toolkit on ${base}`);

    const client = (id) => ({ clientId: id, secret: clients[id].secret });
    const clientCredentials = async (id, scope, extra = {}) => (await tokenRequest(`${base}/token/`, { grant_type: 'client_credentials', scope, ...extra }, client(id))).token;
    const introspect = async (token) => (await request(`${base}/introspect/`, { form: { token }, headers: { authorization: basic('orders-api', clients['orders-api'].secret) } })).json;

    /** @type {import('./types.mjs').Running} */
    const running = {
      name: 'django',
      options: {
        // DOT has no issuer identifier outside OIDC; answers without `iss` speak for this one.
        issuer: base,
        audience: AUDIENCE,
        introspection: { endpoint: `${base}/introspect/`, clientId: 'orders-api', clientSecret: clients['orders-api'].secret, endpointChecksAudience: true },
        // DOT says active:true for any client's token, for any API (issue 26, finding 3): only this
        // API's clients' tokens are for it, so another client's is a 401, not a 403 of the map.
        clientIds: ['orders-worker', 'orders-reporter', 'orders-web'],
      },
      foreignClient: 'inventory-worker',
      userClient: 'orders-web',
      async mint(kind) {
        switch (kind) {
          case 'worker': return clientCredentials('orders-worker', 'orders.read orders.write');
          // DOT grants every configured scope asked for: the reporter's token carries orders.write.
          case 'reporter': return clientCredentials('orders-reporter', 'orders.read orders.write');
          case 'foreign': return clientCredentials('inventory-worker', 'inventory.read');
          case 'user': return (await tokenRequest(`${base}/token/`, { grant_type: 'password', username: 'dwho', password: 'dwho', scope: 'orders.read orders.write' }, client('orders-web'))).token;
          default: throw new Error(`no ${kind} token`);
        }
      },
      async mintShortLived() {
        // `lifetime` is read by the project's ACCESS_TOKEN_EXPIRE_SECONDS callable (settings.py).
        const issuedAt = Date.now();
        const token = await clientCredentials('orders-worker', 'orders.read orders.write', { lifetime: String(SHORT_LIFETIME_S) });
        return { token, expiresAt: issuedAt + SHORT_LIFETIME_S * 1000 };
      },
      mintOpaque: (kind) => running.mint(kind),
      async revoke(token) {
        const answer = await request(`${base}/revoke_token/`, { form: { token, token_type_hint: 'access_token' }, headers: { authorization: basic('orders-worker', clients['orders-worker'].secret) } });
        if (answer.status !== 200) throw new Error(`revocation answered ${answer.status}: ${answer.text.slice(0, 200)}`);
      },
      async describe(token) {
        return `introspection ${JSON.stringify(await introspect(token))}`;
      },
      why: { rotation: 'DOT 1.7 access tokens are opaque: no signing key to rotate' },
      async facts() {
        const metadata = await request(`${base}/.well-known/openid-configuration/`);
        return [`metadata: /o/.well-known/openid-configuration/ answers ${metadata.status} (OIDC off); RFC 8414 and OIDC discovery URLs are not served`];
      },
      stop: () => stop(server),
    };
    return running;
  },
};

/** A fresh sqlite database: migrations, then the run's applications and user (idp_django/provision.py). */
async function setUp(env, clients) {
  const migrate = await runCommand(PYTHON, ['-m', 'django', 'migrate', '--noinput', '-v', '0'], { env, cwd: PROJECT, timeoutMs: 120_000 });
  if (migrate.code !== 0) throw new Error(`django migrate failed: ${migrate.output.slice(-800)}`);
  const wanted = {
    applications: Object.entries(clients).map(([clientId, { secret: clientSecret, grant }]) => ({ client_id: clientId, client_secret: clientSecret, grant })),
    user: { username: 'dwho', password: 'dwho' },
  };
  const provision = await runCommand(PYTHON, [join(PROJECT, 'idp_django/provision.py')], { env, cwd: PROJECT, input: JSON.stringify(wanted), timeoutMs: 60_000 });
  if (provision.code !== 0) throw new Error(`provisioning DOT failed: ${provision.output.slice(-800)}`);
}
