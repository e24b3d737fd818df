/**
 * LemonLDAP::NG 2.16 (Debian's liblemonldap-ng-portal-perl, without recommends) as an OpenID Connect
 * provider: its portal under plackup, no web server, the File configuration backend
 * (test/idp/lemonldap/lmConf.json) and the Demo authentication backend (dwho/dwho).
 *
 * - orders-worker: client credentials, "Use JWT format for Access Token", the API in "Additional
 *   audiences" (`aud` = [client id, the API]), and the user's password grant; orders-reporter:
 *   opaque access tokens, checked through `/oauth2/introspect` with the API's own credentials
 *   (orders-api); inventory-worker: JWTs for another API.
 * - One signing key at a time (oidcServicePrivateKeySig): a rotation never overlaps. It is a new
 *   configuration (lmConf-N+1.json) and a call of the reload endpoint, as the manager does.
 * - The introspection answer has no `aud`, whoever asks: `endpointChecksAudience: true` is needed.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeJws } from '../lib/checks.mjs';
import { basic, request, tokenRequest } from '../lib/http.mjs';
import { cachingHeaders } from '../lib/jwks-watch.mjs';
import { freePort, startServer, stop, waitForHttp } from '../lib/processes.mjs';
import { isJws } from '../lib/tokens.mjs';
import { untilListed } from './glewlwyd.mjs';

const CONFIG_DIR = fileURLToPath(new URL('../lemonldap', import.meta.url));
const AUDIENCE = 'https://orders.example.com';
const SHORT_LIFETIME_S = 6;
const CLIENTS = ['orders-worker', 'orders-reporter', 'inventory-worker', 'orders-api'];

/** A new RS256 key as LLNG takes it: PEM (PKCS#1 private, SPKI public) and a key id. */
function newSigningKey() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    oidcServicePrivateKeySig: privateKey.export({ type: 'pkcs1', format: 'pem' }),
    oidcServicePublicKeySig: publicKey.export({ type: 'spki', format: 'pem' }),
    oidcServiceKeyIdSig: `llng-${randomUUID().slice(0, 8)}`,
  };
}

/** @type {import('./types.mjs').Idp} */
export const lemonldap = {
  name: 'lemonldap',
  // With the Perl modules its packages only recommend but an OIDC portal loads (IO::String: the
  // issuer modules refuse to load without it, "Initialization failed").
  packages: ['liblemonldap-ng-portal-perl', 'libstring-random-perl', 'libgd-securityimage-perl', 'libimage-magick-perl', 'libio-string-perl'],
  async start(stateDir, say) {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    for (const dir of ['conf', 'sessions/lock', 'psessions/lock', 'cache']) mkdirSync(join(stateDir, dir), { recursive: true });
    const ini = join(stateDir, 'lemonldap-ng.ini');
    writeFileSync(ini, readFileSync(join(CONFIG_DIR, 'lemonldap-ng.ini'), 'utf8').replaceAll('@STATE@', stateDir).replaceAll('@LOG_LEVEL@', 'error'));
    const secrets = Object.fromEntries(CLIENTS.map((id) => [id, randomBytes(18).toString('base64url')]));
    const configuration = new Configuration(join(stateDir, 'conf'), firstConfiguration(stateDir, issuer, secrets));

    const env = { ...process.env, LLNG_DEFAULTCONFFILE: ini };
    const args = ['-E', 'deployment', '-s', 'HTTP::Server::PSGI', '--host', '127.0.0.1', '--port', String(port), join(CONFIG_DIR, 'portal.psgi')];
    const server = startServer('lemonldap-ng portal', 'plackup', args, { env, log: join(stateDir, 'portal.log') });
    try {
      await waitForHttp(server, `${issuer}/.well-known/openid-configuration`, 30_000);
      const metadata = await request(`${issuer}/.well-known/openid-configuration`);
      if (metadata.status !== 200 || !metadata.json?.jwks_uri) throw new Error(`the portal's metadata answered ${metadata.status}: ${metadata.text.slice(0, 300)}`);
      say(`lemonldap-ng portal on ${issuer}`);
      return running({ server, issuer, metadata: metadata.json, secrets, configuration });
    } catch (error) {
      await stop(server);
      throw error;
    }
  },
};

/** lmConf.json with the run's URLs, folders, secrets and first key. */
function firstConfiguration(stateDir, issuer, secrets) {
  let text = readFileSync(join(CONFIG_DIR, 'lmConf.json'), 'utf8')
    .replaceAll('@PORTAL@', issuer)
    .replaceAll('@STATE@', stateDir)
    .replaceAll('@DATE@', String(Math.floor(Date.now() / 1000)));
  for (const [id, value] of Object.entries(secrets)) text = text.replaceAll(`@SECRET_${id}@`, value);
  const conf = JSON.parse(text);
  Object.assign(conf, newSigningKey());
  return conf;
}

/** The File backend: every change is a new lmConf-N.json with the next number, as the manager saves it. */
class Configuration {
  #dir;
  #conf;

  constructor(dir, conf) {
    this.#dir = dir;
    this.#conf = conf;
    this.#write();
  }

  get current() {
    return this.#conf;
  }

  /** @param {(conf: any) => void} change */
  next(change) {
    const conf = structuredClone(this.#conf);
    change(conf);
    conf.cfgNum = this.#conf.cfgNum + 1;
    conf.cfgDate = String(Math.floor(Date.now() / 1000));
    this.#conf = conf;
    this.#write();
  }

  #write() {
    writeFileSync(join(this.#dir, `lmConf-${this.#conf.cfgNum}.json`), JSON.stringify(this.#conf, null, 2));
  }
}

/** @returns {import('./types.mjs').Running} */
function running({ server, issuer, metadata, secrets, configuration }) {
  const credentials = (id) => ({ clientId: id, secret: secrets[id] });
  const tokenEndpoint = metadata.token_endpoint;
  const clientCredentials = async (id, scope) => (await tokenRequest(tokenEndpoint, { grant_type: 'client_credentials', scope }, credentials(id))).token;
  const introspect = async (token) => (await request(metadata.introspection_endpoint, { form: { token }, headers: { authorization: basic('orders-api', secrets['orders-api']) } })).json;

  /**
   * A configuration change, then the reload endpoint (the portal re-reads the backend at once);
   * `reload: false` leaves it to the portal's own periodic check (checkTime).
   */
  async function reconfigure(change, { reload = true } = {}) {
    configuration.next(change);
    if (!reload) return;
    const answer = await request(`${issuer}/reload`);
    if (answer.status !== 200) throw new Error(`/reload answered ${answer.status}: ${answer.text.slice(0, 200)}`);
  }

  async function rotate({ reload = true } = {}) {
    const key = newSigningKey();
    const started = Date.now();
    await reconfigure((conf) => Object.assign(conf, key), { reload });
    return { kid: key.oidcServiceKeyIdSig, publishedMs: await untilListed(metadata.jwks_uri, key.oidcServiceKeyIdSig, started) };
  }

  /** @type {import('./types.mjs').Running} */
  const handle = {
    name: 'lemonldap',
    options: {
      issuer,
      audience: AUDIENCE,
      // LLNG's answer has no aud (for anyone's token, to any client that asks).
      introspection: { endpoint: metadata.introspection_endpoint, clientId: 'orders-api', clientSecret: secrets['orders-api'], endpointChecksAudience: true },
      // Its introspection says active:true for any client's token (issue 26, finding 3): only this
      // API's clients' tokens are for it. Its JWTs name the API in aud, which refuses them already.
      clientIds: ['orders-worker', 'orders-reporter'],
    },
    jwksUri: metadata.jwks_uri,
    foreignClient: 'inventory-worker',
    userClient: 'orders-worker',
    async mint(kind) {
      switch (kind) {
        case 'worker': return clientCredentials('orders-worker', 'orders.read orders.write');
        // LLNG grants any scope asked for unless scope rules say otherwise: the reporter's token carries orders.write.
        case 'reporter': return clientCredentials('orders-reporter', 'orders.read orders.write');
        case 'foreign': return clientCredentials('inventory-worker', 'inventory.read');
        case 'user': {
          const form = { grant_type: 'password', username: 'dwho', password: 'dwho', scope: 'openid orders.read orders.write' };
          return (await tokenRequest(tokenEndpoint, form, credentials('orders-worker'))).token;
        }
        default: throw new Error(`no ${kind} token`);
      }
    },
    // orders-reporter's tokens are opaque (its RP does not use the JWT format).
    mintOpaque: () => clientCredentials('orders-reporter', 'orders.read'),
    async mintShortLived() {
      // The lifetime is the RP's: shortened in one configuration, restored in the next.
      await reconfigure((conf) => { conf.oidcRPMetaDataOptions['orders-worker'].oidcRPMetaDataOptionsAccessTokenExpiration = SHORT_LIFETIME_S; });
      try {
        const issuedAt = Date.now();
        const token = await clientCredentials('orders-worker', 'orders.read orders.write');
        return { token, expiresAt: issuedAt + SHORT_LIFETIME_S * 1000 };
      } finally {
        await reconfigure((conf) => { delete conf.oidcRPMetaDataOptions['orders-worker'].oidcRPMetaDataOptionsAccessTokenExpiration; });
      }
    },
    rotate: () => rotate(),
    async describe(token) {
      const answer = `introspection (as orders-api) ${JSON.stringify(await introspect(token))}`;
      return isJws(token) ? `${describeJws(token)}; ${answer}` : `opaque; ${answer}`;
    },
    async facts() {
      const jwks = await request(metadata.jwks_uri);
      const rfc8414 = await request(`${issuer}/.well-known/oauth-authorization-server`);
      const unreloaded = await rotate({ reload: false });
      const issued = await tokenRequest(tokenEndpoint, { grant_type: 'client_credentials', scope: 'orders.read' }, credentials('orders-reporter'));
      const answer = await introspect(issued.token);
      return [
        `discovery: ${issuer}/.well-known/openid-configuration (the RFC 8414 URL answers ${rfc8414.status} ${rfc8414.headers.get('content-type')}, which discovery skips); jwks_uri ${metadata.jwks_uri}; introspection ${metadata.introspection_endpoint}`,
        `JWKS caching headers: ${cachingHeaders(jwks.headers)}; keys: ${jwks.json.keys.length} (one signing key at a time)`,
        `introspection exp: ${Math.round((answer.exp * 1000 - Date.now()) / 60_000)} min ahead for an opaque token whose token response said expires_in ${issued.answer.expires_in} s`,
        `a key change without /reload is served after ${unreloaded.publishedMs} ms (the portal re-reads the File backend on a request at most every checkTime = 1 s here; LLNG's default is 600 s); with /reload, within ~20 ms (rotation checks)`,
      ];
    },
    stop: () => stop(server),
  };
  return handle;
}
