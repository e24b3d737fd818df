/**
 * Discovery against the layouts real providers have: the OpenID document only (Keycloak before 26.4,
 * Okta, Cognito, Glewlwyd), an HTML login page at the RFC 8414 URL (LemonLDAP::NG), and Entra ID v1
 * issuers whose metadata lives on another host.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Scopeguard, type DecisionEvent } from '@scopeguard/core';
import { discoverJwksUri, metadataUrls } from '@scopeguard/core/adapter';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';

let issuer: TestIssuer;
let front: Server;
let origin: string;
let seen: string[];

/** A provider in front of the test issuer's keys: the RFC 8414 URL answers as `rfc8414` says. */
async function provider(rfc8414: (res: import('node:http').ServerResponse) => void, path = '/realms/orders'): Promise<string> {
  front = createServer((req, res) => {
    seen.push(req.url!);
    if (req.url!.startsWith('/.well-known/oauth-authorization-server')) return rfc8414(res);
    if (req.url === `${path}/.well-known/openid-configuration`) {
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: `${origin}${path}`, jwks_uri: issuer.jwksUri }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  return `${origin}${path}`;
}

beforeEach(async () => {
  issuer = await createTestIssuer();
  seen = [];
});
afterEach(async () => {
  await issuer.close();
  await new Promise((resolve) => front?.close(resolve));
});

describe('discovery across providers', () => {
  it.each([
    ['a 404 at the RFC 8414 URL (Keycloak, Okta, Cognito, Glewlwyd)', (res: import('node:http').ServerResponse) => void res.writeHead(404).end()],
    [
      'an HTML login page at the RFC 8414 URL (LemonLDAP::NG)',
      (res: import('node:http').ServerResponse) => void res.writeHead(200, { 'content-type': 'text/html' }).end(`<!DOCTYPE html><html>${'<p>login</p>'.repeat(5000)}</html>`),
    ],
    ['a redirect to the login page', (res: import('node:http').ServerResponse) => void res.writeHead(302, { location: '/portal/login' }).end()],
  ])('%s: the OpenID document serves, quietly', async (_, rfc8414) => {
    const iss = await provider(rfc8414);
    const events: DecisionEvent[] = [];
    const engine = new Scopeguard({ issuer: iss, audience: issuer.audience, permissions: 'token', onDecision: (event) => void events.push(event) });
    const principal = await engine.verify(await issuer.mint({ issuer: iss }));
    expect(principal.issuer).toBe(iss);
    expect(events.map((event) => event.outcome)).toEqual(['authenticated']);
  });

  it('when no document serves, the 503 names each URL and why, never what it answered', async () => {
    const iss = await provider((res) => void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>secret-portal-text</html>'), '/nothing-here');
    front.removeAllListeners('request');
    front.on('request', (req, res) => (req.url!.startsWith('/.well-known') ? res.writeHead(200, { 'content-type': 'text/html' }).end('<html>secret-portal-text</html>') : res.writeHead(404).end()));
    const failure = (await discoverJwksUri(iss, 1000).catch((error: unknown) => error)) as Error;
    expect(failure.message).toMatch(/oauth-authorization-server\/nothing-here did not answer JSON; .*openid-configuration answered HTTP 404/);
    expect(failure.message).not.toMatch(/secret-portal-text/);
  });

  it('Entra ID v1 issuers (sts.windows.net) are discovered at login.microsoftonline.com, whose document names them', () => {
    const tenant = '3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b';
    expect(metadataUrls(`https://sts.windows.net/${tenant}/`)).toEqual([`https://login.microsoftonline.com/${tenant}/.well-known/openid-configuration`]);
    // v2 issuers keep the standard URLs (their OpenID document is at the issuer).
    expect(metadataUrls(`https://login.microsoftonline.com/${tenant}/v2.0`)[1]).toBe(`https://login.microsoftonline.com/${tenant}/v2.0/.well-known/openid-configuration`);
  });
});
