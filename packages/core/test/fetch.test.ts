/** The web-standard entry: Fetch API Requests in, the principal or a refusal Response out. */
import { Scopeguard, isPrincipal, scopeRequirement, type ScopeguardOptions } from '@scopeguard/core';
import { admitFetch, admitFetchNow } from '@scopeguard/core/adapter';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});
afterAll(() => issuer.close());

const engine = (options: Partial<ScopeguardOptions> = {}) => new Scopeguard({ ...issuer.options(), permissions: 'token', ...options } as ScopeguardOptions);
const read = [scopeRequirement('all', ['orders.read'])];
const request = (init: RequestInit & { url?: string } = {}) => new Request(init.url ?? 'https://api.example.com/orders', init);

describe('admitFetch', () => {
  it('admits a valid token and answers refusals as Responses with the challenge and JSON body', async () => {
    const guard = engine();
    const token = await issuer.mint({ scope: 'orders.read' });
    const auth = await admitFetch(guard, request({ headers: { authorization: `Bearer ${token}` } }), read);
    expect(isPrincipal(auth)).toBe(true);

    const missing = (await admitFetch(guard, request(), read)) as Response;
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer realm="[^"]*"$/);

    const weak = await issuer.mint({ scope: 'orders.list' });
    const forbidden = (await admitFetch(guard, request({ headers: { authorization: `Bearer ${weak}` } }), read)) as Response;
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(forbidden.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await forbidden.json()).toMatchObject({ error: 'insufficient_scope' });
  });

  it('admitFetchNow answers without a promise when nothing is awaited (a cached token, a refusal)', async () => {
    const guard = engine();
    const token = await issuer.mint({ scope: 'orders.read' });
    const sent = () => request({ headers: { authorization: `Bearer ${token}` } });
    expect(isPrincipal(await admitFetchNow(guard, sent(), read))).toBe(true);
    await admitFetch(guard, sent(), read); // the second sight admits the verdict to the cache
    const cached = admitFetchNow(guard, sent(), read);
    expect(isPrincipal(cached)).toBe(true);
    const refused = admitFetchNow(guard, request(), read);
    expect(refused).toBeInstanceOf(Response);
    expect((refused as Response).status).toBe(401);
    expect(admitFetch(guard, sent(), read)).toBeInstanceOf(Promise);
  });

  it('refuses two Authorization headers (which Fetch joins with a comma), but reads one other scheme with commas as that scheme', async () => {
    const guard = engine();
    const token = await issuer.mint({ scope: 'orders.read' });
    const headers = new Headers();
    headers.append('authorization', `Bearer ${token}`);
    headers.append('authorization', `Bearer ${token}`);
    const twice = (await admitFetch(guard, request({ headers }), read)) as Response;
    expect(twice.status).toBe(400);
    expect(await twice.json()).toMatchObject({ error: 'invalid_request' });
    const digest = (await admitFetch(guard, request({ headers: { authorization: 'Digest username="a", realm="b"' } }), read)) as Response;
    expect(digest.status).toBe(401);
    expect(digest.headers.get('www-authenticate')).toMatch(/^Bearer realm="[^"]*"$/);
  });

  it('reads a form-body token only when that source is on, and leaves the body readable for the app', async () => {
    const token = await issuer.mint({ scope: 'orders.read' });
    const form = () => request({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `access_token=${token}&item=widget` });
    const off = (await admitFetch(engine(), form(), read)) as Response;
    expect(off.status).toBe(401);
    const posted = form();
    expect(isPrincipal(await admitFetch(engine({ tokenSources: ['header', 'body'] }), posted, read))).toBe(true);
    expect(await posted.text()).toBe(`access_token=${token}&item=widget`);
    const doubled = request({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `access_token=${token}&access_token=${token}` });
    expect(((await admitFetch(engine({ tokenSources: ['header', 'body'] }), doubled, read)) as Response).status).toBe(400);
    const huge = request({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `access_token=${token}&pad=${'x'.repeat(200_000)}` });
    expect(((await admitFetch(engine({ tokenSources: ['header', 'body'] }), huge, read)) as Response).status).toBe(400);
  });

  it('reads a query token only when that source is on', async () => {
    const token = await issuer.mint({ scope: 'orders.read' });
    const url = `https://api.example.com/orders?access_token=${token}`;
    expect(((await admitFetch(engine(), request({ url }), read)) as Response).status).toBe(401);
    expect(isPrincipal(await admitFetch(engine({ tokenSources: ['query'] }), request({ url }), read))).toBe(true);
  });

  it('answers a 503 with Retry-After when the key set cannot be fetched', async () => {
    const guard = new Scopeguard({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: 'http://127.0.0.1:9/jwks', permissions: 'token' });
    const token = await issuer.mint({ scope: 'orders.read' });
    const down = (await admitFetch(guard, request({ headers: { authorization: `Bearer ${token}` } }), read)) as Response;
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('stops reading a form body at the cap, counting bytes, with or without Content-Length', async () => {
    const guard = engine({ tokenSources: ['header', 'body'] });
    let pulled = 0;
    const chunk = new TextEncoder().encode(`pad=${'x'.repeat(64 * 1024)}&`);
    // A chunked upload without Content-Length that would go on for 200 MiB.
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled > 200 * 1024 * 1024) return controller.close();
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const streamed = new Request('https://api.example.com/orders', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: endless, duplex: 'half' } as RequestInit);
    const refused = (await admitFetch(guard, streamed, read)) as Response;
    expect(refused.status).toBe(400);
    expect(pulled).toBeLessThan(1024 * 1024);
    // 40 000 three-byte characters: 120 kB of bytes, whatever their count as UTF-16 units.
    const wide = request({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `note=${'€'.repeat(40_000)}` });
    expect(((await admitFetch(guard, wide, read)) as Response).status).toBe(400);
  });

  it('admits a header token when another handler already read the form body (no body token can be read then)', async () => {
    const token = await issuer.mint({ scope: 'orders.read' });
    const posted = request({ method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'item=widget' });
    await posted.text();
    expect(isPrincipal(await admitFetch(engine({ tokenSources: ['header', 'body'] }), posted, read))).toBe(true);
  });
});

