/**
 * DPoP (RFC 9449) on every adapter over real HTTP: proofs checked for typ, key, signature, htm, htu,
 * iat, ath, jti (replay) and cnf.jkt; DPoP-bound tokens refused as bearer tokens; the nonce flow;
 * allowed and required modes; DPoP challenges.
 */
import type { ScopeguardOptions } from '@scopeguard/core';
import { createDpopKey, createTestIssuer, type DpopKey, type TestIssuer } from '@scopeguard/testing';
import { send, type TestResponse } from '../support/http';
import { ADAPTERS, startAdapter, type RunningAdapter } from '../conformance/adapters';

let issuer: TestIssuer;
let key: DpopKey;
let otherKey: DpopKey;
beforeAll(async () => {
  issuer = await createTestIssuer();
  [key, otherKey] = await Promise.all([createDpopKey('ES256'), createDpopKey('EdDSA')]);
});
afterAll(() => issuer.close());

const ALGS = 'ES256 EdDSA RS256 PS256';

describe.each(ADAPTERS)('DPoP on %s', (adapter) => {
  const apps: Record<'allowed' | 'nonce' | 'required', RunningAdapter> = {} as never;
  const base = (): ScopeguardOptions => ({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri });
  beforeAll(async () => {
    apps.allowed = await startAdapter(adapter, { ...base(), dpop: {} });
    apps.nonce = await startAdapter(adapter, { ...base(), dpop: { nonce: true } });
    apps.required = await startAdapter(adapter, { ...base(), dpop: { mode: 'required' } });
  });
  afterAll(() => Promise.all(Object.values(apps).map((app) => app.close())));

  const bound = () => issuer.mint({ clientId: 'worker', scope: 'orders.read', claims: { cnf: { jkt: key.jkt } } });
  async function call(app: RunningAdapter, token: string, proof: string | string[] | undefined, scheme = 'DPoP'): Promise<TestResponse> {
    app.before?.();
    const proofs = proof === undefined ? [] : Array.isArray(proof) ? proof : [proof];
    return send(`${app.base}/read`, { headers: ['Authorization', `${scheme} ${token}`, ...proofs.flatMap((p) => ['DPoP', p])] });
  }
  const proofFor = (app: RunningAdapter, token: string, extra: Partial<Parameters<DpopKey['proof']>[0]> = {}, with_ = key) =>
    with_.proof({ method: 'GET', url: `${app.base}/read`, accessToken: token, ...extra });
  const expectProofError = (res: TestResponse, error = 'invalid_dpop_proof') => {
    expect(res.status).toBe(401);
    expect(res.body.error).toBe(error);
    expect(res.headers['www-authenticate']).toMatch(new RegExp(`^DPoP .*error="${error}".*algs="${ALGS}"$`));
  };

  it('accepts a DPoP-bound token with a valid proof, request after request', async () => {
    const token = await bound();
    for (let i = 0; i < 3; i++) expect((await call(apps.allowed, token, await proofFor(apps.allowed, token))).status).toBe(200);
  });

  it('refuses a replayed proof (jti)', async () => {
    const token = await bound();
    const proof = await proofFor(apps.allowed, token);
    expect((await call(apps.allowed, token, proof)).status).toBe(200);
    expectProofError(await call(apps.allowed, token, proof));
  });

  it.each([
    ['wrong htm', { method: 'POST' }],
    ['wrong htu', { url: 'https://elsewhere.example/read' }],
    ['stale iat', { iat: -600 }],
    ['future iat', { iat: 600 }],
    ['wrong ath', { accessToken: 'another-token' }],
    ['typ JWT', { header: { typ: 'JWT' } }],
    ['alg none', { header: { alg: 'none' } }],
    ['private key in jwk', { header: { jwk: { ...({} as Record<string, unknown>), kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', d: 'AA' } } }],
    // RFC 7515 §4.1.11: a crit parameter we do not understand makes the proof invalid.
    ['an unknown crit header', { header: { crit: ['exp'], exp: 1 } }],
  ])('refuses a proof with %s', async (_name, extra) => {
    const token = await bound();
    expectProofError(await call(apps.allowed, token, await proofFor(apps.allowed, token, extra as never)));
  });

  it('refuses a proof by a key the token is not bound to, no proof, and two proofs', async () => {
    const token = await bound();
    expectProofError(await call(apps.allowed, token, await proofFor(apps.allowed, token, {}, otherKey)));
    expectProofError(await call(apps.allowed, token, undefined));
    expectProofError(await call(apps.allowed, token, [await proofFor(apps.allowed, token), await proofFor(apps.allowed, token)]));
  });

  it('compares htu after RFC 3986 normalisation: percent-encoding of unreserved characters and its case', async () => {
    const token = await bound();
    const url = new URL(`${apps.allowed.base}/read`);
    const encoded = `${url.protocol}//${url.host.toUpperCase()}/%72ead`; // %72 is "r"
    const proof = await key.proof({ method: 'GET', url: `${apps.allowed.base}/read`, accessToken: token, claims: { htu: encoded } });
    expect((await call(apps.allowed, token, proof)).status).toBe(200);
    const other = await key.proof({ method: 'GET', url: `${apps.allowed.base}/read`, accessToken: token, claims: { htu: `${url.origin}/Read` } });
    expectProofError(await call(apps.allowed, token, other));
  });

  it('says what a comma-joined DPoP header is (two proofs in one field), not that it is a JWE', async () => {
    const token = await bound();
    const res = await call(apps.allowed, token, `${await proofFor(apps.allowed, token)}, ${await proofFor(apps.allowed, token)}`);
    expectProofError(res);
    expect(res.body.error_description).not.toMatch(/JWE|encrypted/);
    expect(res.body.error_description).toMatch(/one DPoP proof/);
  });

  it('never accepts a DPoP-bound token as a bearer token', async () => {
    const res = await call(apps.allowed, await bound(), undefined, 'Bearer');
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
    expect(res.headers['www-authenticate']).toContain(`DPoP algs="${ALGS}"`);
  });

  it('allowed mode: plain bearer tokens still work; 401 challenges offer DPoP', async () => {
    const plain = await issuer.mint({ clientId: 'worker', scope: 'orders.read' });
    expect((await call(apps.allowed, plain, undefined, 'Bearer')).status).toBe(200);
    const res = await send(`${apps.allowed.base}/read`);
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="${issuer.audience}", DPoP algs="${ALGS}"`);
  });

  it('nonce flow: use_dpop_nonce with a DPoP-Nonce header, then success with it', async () => {
    const token = await bound();
    const first = await call(apps.nonce, token, await proofFor(apps.nonce, token));
    expectProofError(first, 'use_dpop_nonce');
    const nonce = first.headers['dpop-nonce'] as string;
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect((await call(apps.nonce, token, await proofFor(apps.nonce, token, { nonce }))).status).toBe(200);
  });

  it('required mode refuses bearer tokens', async () => {
    const plain = await issuer.mint({ clientId: 'worker', scope: 'orders.read' });
    const res = await call(apps.required, plain, undefined, 'Bearer');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toContain('only DPoP-bound tokens');
    const token = await bound();
    expect((await call(apps.required, token, await proofFor(apps.required, token))).status).toBe(200);
  });
});
