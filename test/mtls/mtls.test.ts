/**
 * Certificate-bound tokens (RFC 8705) on every adapter, over real TLS with client certificates, and
 * behind a TLS-terminating proxy that forwards the certificate in a header.
 */
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { certificateThumbprint } from '@scopeguard/core/adapter';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { send } from '../support/http';
import { ADAPTERS, startAdapter, type RunningAdapter } from '../conformance/adapters';

const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');
const tls = { key: fixture('server-key.pem'), cert: fixture('server-cert.pem'), requestCert: true, rejectUnauthorized: false };
const clients = {
  a: { key: fixture('client-a-key.pem'), cert: fixture('client-a-cert.pem') },
  b: { key: fixture('client-b-key.pem'), cert: fixture('client-b-cert.pem') },
};
const thumbprintA = certificateThumbprint(new X509Certificate(clients.a.cert).raw);

/** GET over TLS, with a client certificate or none. */
function get(url: string, token: string, client?: { key: string; cert: string }): Promise<{ status: number; challenge: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false, ...client }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'] as string | undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});
afterAll(() => issuer.close());

describe.each(ADAPTERS)('mTLS-bound tokens on %s', (adapter) => {
  let direct: RunningAdapter;
  let proxied: RunningAdapter;
  const base = () => ({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri });
  beforeAll(async () => {
    direct = await startAdapter(adapter, { ...base(), mtls: {} }, tls);
    proxied = await startAdapter(adapter, { ...base(), mtls: { mode: 'required', certificateHeader: 'X-Client-Cert' } });
  });
  afterAll(async () => {
    await direct.close();
    await proxied.close();
  });

  const bound = () => issuer.mint({ clientId: 'worker', scope: 'orders.read', claims: { cnf: { 'x5t#S256': thumbprintA } } });

  it('accepts a bound token over a connection with its certificate, twice (cached)', async () => {
    direct.before?.();
    const token = await bound();
    expect((await get(`${direct.base}/read`, token, clients.a)).status).toBe(200);
    expect((await get(`${direct.base}/read`, token, clients.a)).status).toBe(200);
    expect((await get(`${direct.base}/read`, token, clients.a)).status).toBe(200);
  });

  it('refuses it with another certificate or none, also once cached', async () => {
    direct.before?.();
    const token = await bound();
    await get(`${direct.base}/read`, token, clients.a);
    await get(`${direct.base}/read`, token, clients.a);
    const other = await get(`${direct.base}/read`, token, clients.b);
    expect(other.status).toBe(401);
    expect(other.challenge).toContain('error="invalid_token"');
    expect(other.challenge).toContain('another client certificate');
    expect((await get(`${direct.base}/read`, token)).status).toBe(401);
  });

  it('mode "bound" still accepts unbound tokens', async () => {
    direct.before?.();
    expect((await get(`${direct.base}/read`, await issuer.mint({ clientId: 'worker', scope: 'orders.read' }), clients.b)).status).toBe(200);
  });

  it('behind a proxy: the certificate header, and mode "required"', async () => {
    proxied.before?.();
    const token = await bound();
    const header = encodeURIComponent(clients.a.cert);
    expect((await send(`${proxied.base}/read`, { headers: { authorization: `Bearer ${token}`, 'x-client-cert': header } })).status).toBe(200);
    expect((await send(`${proxied.base}/read`, { headers: { authorization: `Bearer ${token}`, 'x-client-cert': encodeURIComponent(clients.b.cert) } })).status).toBe(401);
    expect((await send(`${proxied.base}/read`, { headers: { authorization: `Bearer ${token}`, 'x-client-cert': 'garbage' } })).status).toBe(401);
    const unbound = await issuer.mint({ clientId: 'worker', scope: 'orders.read' });
    const refused = await send(`${proxied.base}/read`, { headers: { authorization: `Bearer ${unbound}`, 'x-client-cert': header } });
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toContain('only certificate-bound tokens');
  });

  it('behind a proxy: a certificate header sent twice (a forged one first, the proxy\'s appended) is no certificate', async () => {
    proxied.before?.();
    const token = await bound();
    const victim = encodeURIComponent(clients.a.cert);
    // The client forges the victim's public certificate; the proxy appends the attacker's real one.
    const twice = await send(`${proxied.base}/read`, { headers: ['Authorization', `Bearer ${token}`, 'X-Client-Cert', victim, 'X-Client-Cert', encodeURIComponent(clients.b.cert)] });
    expect(twice.status).toBe(401);
    expect(twice.headers['www-authenticate']).toContain('error="invalid_token"');
    const joined = await send(`${proxied.base}/read`, { headers: { authorization: `Bearer ${token}`, 'x-client-cert': `${victim}, ${victim}` } });
    expect(joined.status).toBe(401);
  });
});
