import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Scopeguard, ScopeguardError, type ScopeguardOptions } from '@scopeguard/core';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';

/** A refusal names both sides for the operator (`detail`); the client's description stays general. */
let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer({ algorithms: ['RS256', 'ES256'] });
});
afterAll(async () => {
  await issuer?.close();
});

const guard = (options: Partial<ScopeguardOptions> = {}) =>
  new Scopeguard({ ...issuer.options(), tokenCache: false, ...options } as ScopeguardOptions);

async function refusal(engine: Scopeguard, token: string): Promise<ScopeguardError> {
  try {
    await engine.verify(token);
  } catch (error) {
    expect(error).toBeInstanceOf(ScopeguardError);
    return error as ScopeguardError;
  }
  throw new Error('accepted');
}

describe('a mismatch names both sides', () => {
  it('iss: the token\'s and the configured, and that a trailing slash differs', async () => {
    const engine = guard({ issuer: `${issuer.issuer}/` });
    const error = await refusal(engine, await issuer.mint());
    expect(error.code).toBe('ERR_TOKEN_CLAIM');
    expect(error.description).toBe('the iss claim is not accepted');
    expect(error.detail).toBe(`token iss '${issuer.issuer}' is not the configured '${issuer.issuer}/' (a trailing slash differs)`);
    // Never to the client: not in the body, the challenge or the message.
    const answer = error.toResponse();
    expect(JSON.stringify(answer)).not.toContain(issuer.issuer);
    expect(error.message).toBe('the iss claim is not accepted');
  });

  it('iss among several issuers, and case', async () => {
    const engine = new Scopeguard({
      issuers: [
        { ...issuer.options(), issuer: issuer.issuer.toUpperCase() },
        { ...issuer.options(), issuer: 'https://other.example.com/' },
      ],
    } as ScopeguardOptions);
    const error = await refusal(engine, await issuer.mint());
    expect(error.detail).toBe(
      `token iss '${issuer.issuer}' is none of the configured '${issuer.issuer.toUpperCase()}', 'https://other.example.com/' (only letter case differs (the comparison is exact))`,
    );
  });

  it('aud: a string and a list', async () => {
    const engine = guard({ audience: 'https://orders.example.com' });
    expect((await refusal(engine, await issuer.mint({ audience: 'https://orders.example.com/' }))).detail).toBe(
      "token aud 'https://orders.example.com/' is not the configured 'https://orders.example.com' (a trailing slash differs)",
    );
    expect((await refusal(engine, await issuer.mint({ audience: ['https://a.example', 'https://b.example'] }))).detail).toBe(
      `token aud ["https://a.example","https://b.example"] is not the configured 'https://orders.example.com'`,
    );
    expect((await refusal(engine, await issuer.mint({ audience: 'https://orders.example.com/' }))).description).toBe('the aud claim is not accepted');
  });

  it('typ and alg', async () => {
    const strict = guard({ strict: true });
    expect((await refusal(strict, await issuer.mint({ header: { typ: 'JWT' } }))).detail).toBe("token typ 'JWT' is not at+jwt, which strict: true requires");
    expect((await refusal(guard(), await issuer.mint({ header: { typ: 'dpop+jwt' } }))).detail).toBe(
      "token typ 'dpop+jwt' is not an access token type (at+jwt, JWT or none)",
    );
    expect((await refusal(guard({ algorithms: ['RS256'] }), await issuer.mint({ alg: 'ES256' }))).detail).toBe(
      "token alg 'ES256' is not among the configured algorithms 'RS256'",
    );
  });

  it('an unknown kid, with the kids the set holds', async () => {
    const error = await refusal(guard(), await issuer.mint({ header: { kid: 'retired-2025' } }));
    expect(error.code).toBe('ERR_TOKEN_KEY_NOT_FOUND');
    expect(error.detail).toBe(`no key for kid 'retired-2025' (RS256) in the issuer's key set, which holds ${issuer.kids.map((kid) => `'${kid}'`).join(', ')}`);
  });

  it('a service user the permissions do not name', async () => {
    const error = await refusal(guard({ permissions: { 'orders-worker': ['orders.read'] } }), await issuer.mint({ clientId: 'orders-wroker' }));
    expect(error.code).toBe('ERR_UNKNOWN_CLIENT');
    expect(error.detail).toBe("client 'orders-wroker' is not in this API's permissions (it names 'orders-worker')");
  });

  it('values from the token are sanitised and capped', async () => {
    const engine = guard();
    const forged = `https://evil.example/\n2026-12-06 GET /admin allowed \u001b[32m\u202e${'x'.repeat(5000)}`;
    const detail = (await refusal(engine, await issuer.mint({ issuer: forged }))).detail!;
    expect(detail).not.toMatch(/[^\x20-\x7e]/);
    expect(detail).toContain('\\u000a2026-12-06');
    expect(detail).toContain('\\u001b[32m\\u202e');
    expect(detail.length).toBeLessThan(300);
    expect(detail).toContain(`(${forged.length} characters)`);
    const quoted = (await refusal(engine, await issuer.mint({ issuer: "a' is fine, 'b" }))).detail!;
    expect(quoted).toContain("token iss 'a\\' is fine, \\'b'");
  });
});

describe('discovery that names another issuer says which', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      // Serves its metadata naming the issuer with a trailing slash, as a misconfigured proxy would.
      res.end(JSON.stringify({ issuer: `${base}/`, jwks_uri: `${base}/jwks` }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('in the outage\'s cause', async () => {
    const engine = new Scopeguard({ issuer: base, audience: issuer.audience, jwks: { timeoutMs: 2000 } });
    const error = await refusal(engine, await issuer.mint({ issuer: base }));
    expect(error.code).toBe('ERR_KEYS_UNAVAILABLE');
    expect((error.cause as Error).message).toContain(
      `${base}/.well-known/openid-configuration names issuer '${base}/', not the configured '${base}' (a trailing slash differs)`,
    );
  });
});
