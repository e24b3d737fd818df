/**
 * Introspection answers (RFC 7662) are held to the same claim rules as JWT payloads: one validator.
 * The endpoint here answers raw JSON text per token, so answers JSON.stringify cannot make
 * (`1e400`) are possible.
 */
import { createServer, type Server } from 'node:http';
import { Scopeguard, type DecisionEvent, type ScopeguardOptions } from '@scopeguard/core';
import { close, listen } from '../../../test/support/http';

const ISSUER = 'https://as.example.com';
const AUDIENCE = 'https://orders.example.com';
const answers = new Map<string, string>();
let server: Server;
let endpoint: string;
let streamed = 0;
/** Another origin, which must never see a token or a client secret. */
let trap: Server;
let trapUrl: string;
const trapped: string[] = [];

/** A chunked answer (no content-length) that goes on until the client stops reading, or 50 MiB. */
function stream(res: import('node:http').ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const more = () => {
    while (streamed < 50 * 1024 * 1024 && !res.destroyed) {
      streamed += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', more);
    }
    res.end();
  };
  res.on('close', () => undefined);
  more();
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const token = form.get('token') ?? '';
      if (token === 'endless-answer') return void stream(res);
      if (token === 'redirected') return void res.writeHead(307, { location: `${trapUrl}/introspect` }).end();
      if (token === 'credentials-rejected') return void res.writeHead(401, { 'www-authenticate': 'Basic' }).end('{"error":"invalid_client"}');
      res.writeHead(200, { 'content-type': 'application/json' }).end(answers.get(token) ?? '{"active":false}');
    });
  });
  endpoint = `${await listen(server)}/introspect`;
  trap = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      trapped.push(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ active: true, iss: ISSUER, aud: AUDIENCE, client_id: 'worker', exp: now() + 300 }));
    });
  });
  trapUrl = await listen(trap);
});
afterAll(async () => {
  await close(server);
  await close(trap);
});

const now = () => Math.floor(Date.now() / 1000);
let counter = 0;
/** Registers an answer (an object, or raw JSON text) and returns its opaque token. */
function opaque(answer: Record<string, unknown> | string): string {
  const token = `opaque-token-${++counter}`;
  answers.set(token, typeof answer === 'string' ? answer : JSON.stringify(answer));
  return token;
}
const active = (extra: Record<string, unknown> = {}) => ({
  active: true, iss: ISSUER, aud: AUDIENCE, sub: 'worker', client_id: 'worker', scope: 'orders.read', iat: now(), exp: now() + 300, jti: 'j1', ...extra,
});

function engine(options: Partial<ScopeguardOptions> = {}, introspection: Record<string, unknown> = {}): Scopeguard {
  return new Scopeguard({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: 'https://as.example.com/jwks',
    introspection: { endpoint, clientId: 'api', clientSecret: 'secret', ...introspection },
    ...options,
  } as ScopeguardOptions);
}

async function codeOf(guard: Scopeguard, token: string): Promise<string> {
  try {
    await guard.verify(token);
    return 'OK';
  } catch (error) {
    return (error as { code: string }).code;
  }
}

describe('the introspection endpoint', () => {
  it('a redirect is an endpoint failure: never followed, so the token and the secret stay at the endpoint', async () => {
    const error = await engine({}, { authMethod: 'client_secret_post' }).verify('redirected').catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, code: 'ERR_INTROSPECTION_UNAVAILABLE' });
    expect(trapped).toEqual([]);
  });

  it('credentials the endpoint rejects are a 503 for the caller, and the audit event says what happened', async () => {
    const events: DecisionEvent[] = [];
    const error = await engine({ onDecision: (event) => void events.push(event) }).verify('credentials-rejected').catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, code: 'ERR_INTROSPECTION_UNAVAILABLE' });
    expect(events[0]!.cause).toMatch(/rejected this API's client credentials \(HTTP 401\)/);
  });

  it('an answer with duplicate members (two "active") is refused', async () => {
    const text = `{"active":false,"iss":"${ISSUER}","aud":"${AUDIENCE}","client_id":"worker","exp":${now() + 300},"active":true}`;
    const error = await engine().verify(opaque(text)).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, code: 'ERR_INTROSPECTION_UNAVAILABLE' });
  });

  it('an endless chunked answer is cut off at the size cap, not read whole', async () => {
    const error = await engine().verify('endless-answer').catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, code: 'ERR_INTROSPECTION_UNAVAILABLE' });
    // The cap is 512 KiB; what the server got into socket buffers beyond it is all it could send.
    expect(streamed).toBeLessThan(8 * 1024 * 1024);
  });
});

describe('introspected tokens follow the JWT claim rules', () => {
  it('accepts a complete answer', async () => {
    expect(await codeOf(engine(), opaque(active()))).toBe('OK');
    expect(await codeOf(engine({ strict: true }), opaque(active()))).toBe('OK');
  });

  it('maxTokenAge', async () => {
    expect(await codeOf(engine({ maxTokenAge: 60 }), opaque(active({ iat: now() - 600 })))).toBe('ERR_TOKEN_EXPIRED');
    expect(await codeOf(engine({ maxTokenAge: 60 }), opaque(active({ iat: undefined })))).toBe('ERR_TOKEN_CLAIM');
  });

  it('nbf in the future', async () => {
    expect(await codeOf(engine(), opaque(active({ nbf: now() + 600 })))).toBe('ERR_TOKEN_NOT_YET_VALID');
  });

  it('iat in the future', async () => {
    expect(await codeOf(engine(), opaque(active({ iat: now() + 600 })))).toBe('ERR_TOKEN_NOT_YET_VALID');
  });

  it.each(['sub', 'client_id', 'iat', 'jti', 'exp'])("strict mode's required %s", async (claim) => {
    expect(await codeOf(engine({ strict: true }), opaque(active({ [claim]: undefined })))).toBe('ERR_TOKEN_CLAIM');
  });

  it('a non-finite exp (1e400)', async () => {
    const text = JSON.stringify(active()).replace(/"exp":\d+/, '"exp":1e400');
    expect(await codeOf(engine(), opaque(text))).toBe('ERR_TOKEN_CLAIM');
  });

  it('non-string aud members', async () => {
    expect(await codeOf(engine(), opaque(active({ aud: [AUDIENCE, 42] })))).toBe('ERR_TOKEN_CLAIM');
    expect(await codeOf(engine(), opaque(active({ aud: 42 })))).toBe('ERR_TOKEN_CLAIM');
  });

  it('an answer with no aud is refused, strict or not, unless the endpoint is declared to check the audience', async () => {
    const noAud = active({ aud: undefined });
    expect(await codeOf(engine(), opaque(noAud))).toBe('ERR_TOKEN_CLAIM');
    expect(await codeOf(engine({ strict: true }), opaque(noAud))).toBe('ERR_TOKEN_CLAIM');
    expect(await codeOf(engine({}, { endpointChecksAudience: true }), opaque(noAud))).toBe('OK');
    // The declaration never lets a wrong audience through.
    expect(await codeOf(engine({}, { endpointChecksAudience: true }), opaque(active({ aud: 'https://billing.example.com' })))).toBe('ERR_TOKEN_CLAIM');
  });

  it('an expired or mistyped exp, and an iss of another issuer', async () => {
    expect(await codeOf(engine(), opaque(active({ exp: now() - 600 })))).toBe('ERR_TOKEN_EXPIRED');
    expect(await codeOf(engine(), opaque(active({ exp: 'soon' })))).toBe('ERR_TOKEN_CLAIM');
    expect(await codeOf(engine(), opaque(active({ iss: 'https://evil.example' })))).toBe('ERR_TOKEN_CLAIM');
    expect(await codeOf(engine(), opaque(active({ iss: 42 })))).toBe('ERR_TOKEN_CLAIM');
  });
});

// Issue 26, finding 1: django-oauth-toolkit answers a password-grant token with `username` and no
// `sub`; RFC 7662 §2.2's `username` names the resource owner, so the token is a user's.
describe('a user token under requireClientCredentials, on every preset', () => {
  // Cognito has no introspection endpoint; its JWTs' `username` rule is in test/providers.
  const presets = ['rfc9068', 'auth0', 'okta', 'entra', 'keycloak'] as const;
  const dotUserAnswer = () => ({ active: true, iss: ISSUER, aud: AUDIENCE, scope: 'orders.read orders.write', client_id: 'orders-portal', username: 'dwho', exp: now() + 300 });

  it.each(presets)('%s: an answer naming a user (username) is refused, 401 ERR_TOKEN_NOT_CLIENT', async (preset) => {
    const guard = engine({ preset, requireClientCredentials: true, permissions: 'token' });
    expect(await codeOf(guard, opaque(dotUserAnswer()))).toBe('ERR_TOKEN_NOT_CLIENT');
    expect(await codeOf(guard, opaque({ ...dotUserAnswer(), sub: 'dwho' }))).toBe('ERR_TOKEN_NOT_CLIENT');
  });

  it("a client's own answer (no username, or its own client id as username) is admitted", async () => {
    const guard = engine({ requireClientCredentials: true, permissions: 'token' });
    const machine = { active: true, iss: ISSUER, aud: AUDIENCE, scope: 'orders.read', client_id: 'orders-worker', exp: now() + 300 };
    expect(await codeOf(guard, opaque(machine))).toBe('OK');
    expect(await codeOf(guard, opaque({ ...machine, username: 'orders-worker' }))).toBe('OK');
    expect(await codeOf(guard, opaque({ ...machine, username: null }))).toBe('OK');
    expect(await codeOf(guard, opaque({ ...machine, username: 7 }))).toBe('ERR_TOKEN_NOT_CLIENT');
  });

  it("Keycloak's service account answers username service-account-<client>: a machine token", async () => {
    const guard = engine({ preset: 'keycloak', requireClientCredentials: true, permissions: 'token' });
    const serviceAccount = { active: true, iss: ISSUER, aud: AUDIENCE, scope: 'orders.read', client_id: 'orders-worker', sub: '5c1e…', username: 'service-account-orders-worker', preferred_username: 'service-account-orders-worker', exp: now() + 300 };
    expect(await codeOf(guard, opaque(serviceAccount))).toBe('OK');
    expect(await codeOf(guard, opaque({ ...serviceAccount, username: 'dwho', preferred_username: 'dwho' }))).toBe('ERR_TOKEN_NOT_CLIENT');
    // Keycloak lower-cases usernames: a client id's service account is service-account-<id in lower case>.
    expect(await codeOf(guard, opaque({ ...serviceAccount, client_id: 'Orders-Worker' }))).toBe('OK');
  });

  // Review: any service-account- prefix passed, so a user named service-account-x was a machine.
  it("Keycloak: a service-account username of another client is a user's, in answers and JWT-style claims alike", async () => {
    const guard = engine({ preset: 'keycloak', requireClientCredentials: true, permissions: 'token' });
    const user = { active: true, iss: ISSUER, aud: AUDIENCE, scope: 'orders.read', azp: 'orders-app', sub: 'u-1', exp: now() + 300 };
    expect(await codeOf(guard, opaque({ ...user, username: 'service-account-x', preferred_username: 'service-account-x' }))).toBe('ERR_TOKEN_NOT_CLIENT');
    expect(await codeOf(guard, opaque({ ...user, preferred_username: 'service-account-x' }))).toBe('ERR_TOKEN_NOT_CLIENT');
    expect(await codeOf(guard, opaque({ ...user, preferred_username: 'service-account-orders-app' }))).toBe('OK');
  });
});

// Review: the endpoint answers for revocation itself (isRevoked is asked about JWTs only), so a
// mistyped jti in its answer is no reason to refuse it.
it('an introspection answer with a numeric jti is admitted with isRevoked set: the endpoint speaks for revocation', async () => {
  const asked: unknown[] = [];
  const guard = engine({ permissions: 'token', isRevoked: (query) => (asked.push(query), false) });
  expect(await codeOf(guard, opaque(active({ jti: 7 })))).toBe('OK');
  expect(asked).toEqual([]);
});
