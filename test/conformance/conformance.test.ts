/**
 * The conformance and attack suite: every case of cases.ts against every adapter over real HTTP.
 * Besides each case's status and error, every answer is held to RFC 6750 §3: one challenge,
 * `realm` once, the same error code in header and JSON body, no CR/LF, scope only on 403.
 */
import { createServer, type Server } from 'node:http';
import { INACTIVE_CLIENT, type DecisionEvent, type ScopeguardOptions } from '@scopeguard/core';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { close, listen, send, type TestResponse } from '../support/http';
import { ADAPTERS, startAdapter, type AdapterName, type RunningAdapter } from './adapters';
import { buildCases, type Case, type CaseRequest, type Profile } from './cases';

const REALM = 'conformance';
const TENANT_AUDIENCE = 'https://tenant-b.example.com';
const RESOURCE = 'https://orders.example.com/orders';
const METADATA_URL = 'https://orders.example.com/.well-known/oauth-protected-resource/orders';
// RFC 6750 §3 challenge grammar, restricted to what we send.
const CHALLENGE = /^Bearer( realm="[\x20\x21\x23-\x5b\x5d-\x7e]*")?(, (error|error_description|scope|resource_metadata)="[\x20\x21\x23-\x5b\x5d-\x7e]*")*$/;

let issuer: TestIssuer;
let other: TestIssuer;
let down: TestIssuer;
let introspecting: TestIssuer;
let trap: Server;
let trapHits = 0;
let trapUrl: string;
const running = new Map<string, RunningAdapter>();
const results = new Map<string, Map<AdapterName, boolean>>();
/** Audit events of each running app (`adapter/profile`), cleared before each request. */
const events = new Map<string, DecisionEvent[]>();
/** The first adapter's answer to each case, which every other adapter must repeat exactly. */
const answers = new Map<string, unknown>();

function options(profile: Profile): ScopeguardOptions {
  const base: ScopeguardOptions = {
    issuer: issuer.issuer,
    audience: issuer.audience,
    jwksUri: issuer.jwksUri,
    realm: REALM,
    algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    clockTolerance: 30,
    permissions: { worker: ['orders.read', 'orders.write', 'orders.admin', 'orders.read:all'], reporter: ['orders.read'] },
  };
  switch (profile) {
    case 'default': return base;
    case 'strict': return { ...base, strict: true };
    case 'sources': return { ...base, tokenSources: ['header', 'body', 'query'] };
    case 'cc': return { ...base, requireClientCredentials: true };
    case 'resolver':
      return {
        ...base,
        permissions: (user) => {
          if (user.clientId === 'boom') throw new Error('permission store down');
          if (user.clientId === 'hang') return new Promise<string[]>(() => undefined);
          if (user.clientId === 'retired') return INACTIVE_CLIENT;
          return ['orders.read'];
        },
        permissionLookup: { timeoutMs: 300 },
        isRevoked: ({ jti }) => {
          if (jti === 'revocation-down') throw new Error('deny list down');
          return jti === 'revoked-jti';
        },
      };
    case 'down': return { ...base, issuer: down.issuer, jwksUri: down.jwksUri, jwks: { timeoutMs: 300 } };
    case 'tenants': {
      const { realm, ...tenantA } = base;
      return {
        realm,
        issuers: [
          tenantA,
          { issuer: other.issuer, audience: TENANT_AUDIENCE, jwksUri: other.jwksUri, permissions: { 'b-worker': ['orders.read', 'orders.write'] } },
        ],
      } as ScopeguardOptions;
    }
    case 'metadata': return { ...base, resourceMetadata: { resource: RESOURCE } };
    case 'introspection':
      return {
        ...base,
        issuer: introspecting.issuer,
        audience: introspecting.audience,
        jwksUri: introspecting.jwksUri,
        algorithms: ['RS256'],
        introspection: { endpoint: introspecting.introspectionEndpoint!, clientId: 'conformance', clientSecret: 'conformance-secret' },
      };
  }
}

const cases: Case[] = [];

beforeAll(async () => {
  [issuer, other, down, introspecting] = await Promise.all([
    createTestIssuer({ algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'] }),
    createTestIssuer({ algorithms: ['RS256'] }),
    createTestIssuer(),
    createTestIssuer({ introspection: { clientId: 'conformance', clientSecret: 'conformance-secret' } }),
  ]);
  down.outage({ status: 500 });
  trap = createServer((_req, res) => {
    trapHits++;
    res.end('{}');
  });
  trapUrl = await listen(trap);
  cases.push(...buildCases({ issuer, other, trap: trapUrl, tenantAudience: TENANT_AUDIENCE, introspecting, downIssuer: down.issuer }));
  const profiles = new Set<Profile>(['default', 'strict', 'sources', 'cc', 'resolver', 'down', 'tenants', 'metadata', 'introspection']);
  await Promise.all(
    ADAPTERS.flatMap((adapter) =>
      [...profiles].map(async (profile) => {
        const key = `${adapter}/${profile}`;
        const seen: DecisionEvent[] = [];
        events.set(key, seen);
        running.set(key, await startAdapter(adapter, { ...options(profile), onDecision: (event) => void seen.push(event) }));
      }),
    ),
  );
}, 60_000);

afterAll(async () => {
  await Promise.all([...running.values()].map((app) => app.close()));
  await Promise.all([issuer?.close(), other?.close(), down?.close(), introspecting?.close(), trap && close(trap)]);
  printSummary();
});

function checkAnswer(res: TestResponse, testCase: Case): void {
  const { expect: expected } = testCase;
  expect({ status: res.status, body: res.body }).toMatchObject({ status: expected.status });
  const challenge = res.headers['www-authenticate'];
  if (expected.status === 200) {
    if (expected.empty) {
      expect(res.text).toBe('');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      return;
    }
    if (expected.body) expect(res.body).toMatchObject(expected.body);
    else expect(res.body).toEqual({ ok: true });
    if (expected.body) expect(res.body.scopes_supported).toEqual(expect.arrayContaining(['orders.read', 'orders.write', 'orders.admin']));
    return;
  }
  expect(typeof res.body.error_description).toBe('string');
  // No credentials: no OAuth error code in the body either, as in the challenge (RFC 6750 §3.1).
  if (expected.error === undefined) expect(res.body).not.toHaveProperty('error');
  else expect(res.body.error).toBe(expected.error);
  if (expected.status === 503) {
    expect(challenge).toBeUndefined();
    expect(res.headers['retry-after']).toBeDefined();
    return;
  }
  expect(typeof challenge).toBe('string');
  // Exactly one challenge header, spelled as RFC 6750 writes it.
  const names = res.rawHeaders.filter((_, i) => i % 2 === 0).filter((name) => name.toLowerCase() === 'www-authenticate');
  expect(names).toEqual(['WWW-Authenticate']);
  const value = challenge as string;
  expect(value).toMatch(CHALLENGE);
  expect(value.match(/realm="/g)).toHaveLength(1);
  expect(value).toContain(`realm="${REALM}"`);
  const pointer = testCase.profile === 'metadata' ? `, resource_metadata="${METADATA_URL}"` : '';
  if (pointer) expect(value.endsWith(pointer)).toBe(true);
  if (expected.error === undefined) {
    expect(value).toBe(`Bearer realm="${REALM}"${pointer}`);
  } else {
    expect(value).toContain(`error="${expected.error}"`);
    expect(value).toContain(`error_description="${res.body.error_description}"`);
  }
  if (expected.scope) expect(value).toContain(`scope="${expected.scope}"`);
  else expect(value).not.toContain('scope=');
}

/**
 * The decisions a request must report, the same on every adapter: a valid token is `authenticated`,
 * then `allowed` or `refused` by the route's requirement (none on `/auth`); a refusal before that
 * (400, 401, an unknown service user) is one `refused`; an outage one `unavailable`.
 */
function expectedOutcomes(testCase: Case, path: string): DecisionEvent['outcome'][] {
  const { status, scope, body, empty } = testCase.expect;
  if (body || empty) return [];
  if (status === 200) return path === '/auth' ? ['authenticated'] : ['authenticated', 'allowed'];
  if (status === 503) return ['unavailable'];
  if (status === 403 && scope) return ['authenticated', 'refused'];
  return ['refused'];
}

function checkEvents(seen: readonly DecisionEvent[], testCase: Case, res: TestResponse, path: string): void {
  expect(seen.map((event) => event.outcome)).toEqual(expectedOutcomes(testCase, path));
  for (const event of seen) expect(event).toMatchObject({ method: expect.any(String), route: path });
  const last = seen.at(-1);
  if (last && res.status !== 200) expect({ status: last.status, reason: last.reason }).toEqual({ status: res.status, reason: res.body.error_description });
}

/** What must be identical on every adapter. */
function answerOf(res: TestResponse): unknown {
  const { status, body } = res;
  const pick = (name: string) => res.headers[name];
  return { status, body, challenge: pick('www-authenticate'), retryAfter: pick('retry-after'), cacheControl: status === 200 ? undefined : pick('cache-control') };
}

// Case names are known only after the issuers exist; the table is static, so build it with placeholders.
const table = buildCases({ issuer: { issuer: '' } as never, other: undefined as never, trap: '', tenantAudience: '', introspecting: undefined as never, downIssuer: '' });

describe.each(table.map((testCase, index) => [`${testCase.group} · ${testCase.name}`, index] as const))('%s', (label, index) => {
  let request: CaseRequest;
  beforeAll(async () => {
    request = await cases[index]!.request();
  });

  it.each(ADAPTERS)('%s', async (adapter) => {
    const testCase = cases[index]!;
    const app = running.get(`${adapter}/${testCase.profile ?? 'default'}`)!;
    const row = results.get(label) ?? new Map<AdapterName, boolean>();
    results.set(label, row);
    row.set(adapter, false);
    app.before?.();
    const seen = events.get(`${adapter}/${testCase.profile ?? 'default'}`)!;
    seen.length = 0;
    const path = request.path ?? '/read';
    const res = await send(`${app.base}${path}`, {
      method: request.method ?? 'GET',
      ...(request.headers && { headers: request.headers }),
      ...(request.body !== undefined && { body: request.body }),
    });
    checkAnswer(res, testCase);
    checkEvents(seen, testCase, res, path.split('?')[0]!);
    if (!answers.has(label)) answers.set(label, answerOf(res));
    expect(answerOf(res)).toEqual(answers.get(label));
    row.set(adapter, true);
  });
});

it('never fetched a jku or x5u URL', () => {
  expect(trapHits).toBe(0);
});

function printSummary(): void {
  const width = Math.max(...[...results.keys()].map((label) => label.length));
  const lines = [`${'case'.padEnd(width)}  ${ADAPTERS.map((a) => a.padEnd(12)).join(' ')}`];
  let passed = 0;
  let failed = 0;
  for (const [label, row] of results) {
    lines.push(`${label.padEnd(width)}  ${ADAPTERS.map((adapter) => {
      const ok = row.get(adapter);
      if (ok) passed++;
      else failed++;
      return (ok ? 'pass' : ok === false ? 'FAIL' : '-').padEnd(12);
    }).join(' ')}`);
  }
  lines.push(`conformance: ${results.size} cases × ${ADAPTERS.length} adapters`, `${passed} passed, ${failed} failed`);
  // The table when a case failed (or on request: CONFORMANCE_TABLE=1); a green run stays quiet.
  if (failed > 0 || process.env.CONFORMANCE_TABLE === '1') process.stdout.write(`\n${lines.join('\n')}\n`);
}
