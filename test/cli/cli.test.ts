/**
 * The `scopeguard` bin, tested by running it as users do: `node packages/core/dist/cli/main.js …` (npm
 * test builds first; alone: `npx tsc -b tsconfig.build.json`), against the test issuer and a minimal
 * token endpoint on 127.0.0.1. The child is spawned asynchronously: the servers live in this process.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';

const BIN = join(__dirname, '../../packages/core/dist/cli/main.js');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(args: readonly string[], options: { input?: string; env?: Record<string, string | undefined> } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...options.env };
    for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** The line of one check, e.g. `✗ exp  5 min 0 s ago (…): the token has expired`. */
function line(result: Run, check: string): string {
  const found = result.stdout.split('\n').find((text) => new RegExp(`^[✓✗·] ${check} `).test(text));
  if (found === undefined) throw new Error(`no ${check} line in:\n${result.stdout}`);
  return found;
}

/** Neither the token nor any of its segments' tail (the signature) is ever printed. */
function expectTokenHidden(result: Run, token: string): void {
  const signature = token.split('.')[2]!;
  for (const output of [result.stdout, result.stderr]) {
    expect(output).not.toContain(token);
    expect(output).not.toContain(signature);
  }
}

let issuer: TestIssuer;
let dir: string;
let permissions: string;
let base: string[];

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build first (npx tsc -b tsconfig.build.json)`);
  issuer = await createTestIssuer();
  dir = mkdtempSync(join(tmpdir(), 'scopeguard-cli-'));
  permissions = join(dir, 'permissions.json');
  writeFileSync(permissions, JSON.stringify({ 'orders-worker': ['orders.read', 'orders.write'], 'orders-reporter': ['orders.read'] }));
  base = ['--issuer', issuer.issuer, '--audience', issuer.audience];
});
afterAll(async () => {
  await issuer.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('scopeguard explain', () => {
  it('admits a valid token of a known client: every check ✓, exit 0', async () => {
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read admin' });
    const result = await run(['explain', token, ...base, '--permissions', permissions, '--require', 'orders.read']);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('✗');
    for (const check of ['form', 'alg', 'typ', 'kid', 'signature', 'iss', 'aud', 'exp', 'nbf', 'iat', 'client', 'permissions', 'requirement', 'answer']) {
      expect(line(result, check)).toMatch(/^✓/);
    }
    expect(line(result, 'exp')).toMatch(/ in [45] min \d+ s \(/);
    expect(line(result, 'permissions')).toContain('effective (scopes ∩ held): orders.read; not held: admin');
    expect(line(result, 'answer')).toContain('200: admitted, client orders-worker with orders.read');
    expect(result.stdout).toMatch(/note: this output holds the decoded header and claims/);
    expect(result.stdout).toMatch(/network: the issuer's key set, fetched from .*jwks\.json \(discovered from/);
    expect(result.stdout).toContain('"client_id": "orders-worker"');
    expectTokenHidden(result, token);
  });

  it('an expired token: ✗ exp with how long ago, 401 ERR_TOKEN_EXPIRED, exit 1', async () => {
    const token = await issuer.mint({ clientId: 'orders-worker', expiresIn: -600, issuedAt: -900 });
    const result = await run(['explain', token, ...base]);
    expect(result.code).toBe(1);
    expect(line(result, 'exp')).toMatch(/^✗ exp +10 min \d+ s ago \(.*\): the token has expired/);
    expect(line(result, 'iat')).toMatch(/^✓ iat +15 min \d+ s ago/);
    expect(line(result, 'signature')).toMatch(/^✓/);
    expect(line(result, 'answer')).toBe('✗ answer       401 invalid_token (ERR_TOKEN_EXPIRED): the token has expired');
    expectTokenHidden(result, token);
  });

  it('a token for another API: ✗ aud, and every other failing claim too, not only the first', async () => {
    const token = await issuer.mint({ clientId: 'orders-worker', audience: 'https://billing.example.test', expiresIn: -60 });
    const result = await run(['explain', token, ...base]);
    expect(result.code).toBe(1);
    expect(line(result, 'aud')).toMatch(/^✗ aud .*https:\/\/billing\.example\.test.*the aud claim is not accepted/);
    expect(line(result, 'exp')).toMatch(/^✗ exp/);
    expect(line(result, 'iss')).toMatch(/^✓/);
    // The engine's answer: its first refusal (aud comes before exp in the validator).
    expect(line(result, 'answer')).toContain('401 invalid_token (ERR_TOKEN_CLAIM): the aud claim is not accepted');
  });

  it('an issuer configured with a trailing slash: ✗ iss and the answer name both sides and the difference', async () => {
    const token = await issuer.mint({ clientId: 'orders-worker' });
    const result = await run(['explain', token, '--issuer', `${issuer.issuer}/`, '--audience', issuer.audience, '--jwks-uri', issuer.jwksUri]);
    expect(result.code).toBe(1);
    const expected = `token iss '${issuer.issuer}' is not the configured '${issuer.issuer}/' (a trailing slash differs)`;
    expect(line(result, 'iss')).toContain(`the iss claim is not accepted: ${expected}`);
    expect(line(result, 'answer')).toBe(`✗ answer       401 invalid_token (ERR_TOKEN_CLAIM): the iss claim is not accepted: ${expected}`);
    const json = JSON.parse((await run(['explain', token, '--issuer', `${issuer.issuer}/`, '--audience', issuer.audience, '--jwks-uri', issuer.jwksUri, '--json'])).stdout);
    expect(json.answer).toMatchObject({ code: 'ERR_TOKEN_CLAIM', description: 'the iss claim is not accepted', detail: expected });
  });

  it('a user token under --require-client-credentials (okta preset): ✗ client, 401 ERR_TOKEN_NOT_CLIENT, other presets listed', async () => {
    const token = await issuer.mint({ clientId: 'orders-worker', subject: 'alice@example.com', scope: 'orders.read' });
    const result = await run(['explain', token, ...base, '--preset', 'okta', '--require-client-credentials']);
    expect(result.code).toBe(1);
    expect(line(result, 'client')).toMatch(/^✗ client .*orders-worker, a user token under okta: refused/);
    expect(line(result, 'presets')).toMatch(/rfc9068: orders-worker, user · auth0: orders-worker, user/);
    expect(line(result, 'presets')).not.toContain('okta:');
    expect(line(result, 'answer')).toContain('401 invalid_token (ERR_TOKEN_NOT_CLIENT)');
  });

  it("a token whose username names a user reads as the engine reads it: a user token, ✗ client (the CLI's own copy of the rule missed username)", async () => {
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', claims: { username: 'alice' } });
    const result = await run(['explain', token, ...base, '--require-client-credentials']);
    expect(line(result, 'answer')).toContain('401 invalid_token (ERR_TOKEN_NOT_CLIENT)');
    expect(line(result, 'client')).toMatch(/^✗ client .*orders-worker, a user token under rfc9068: refused/);
    const admitted = await run(['explain', token, ...base]);
    expect(line(admitted, 'client')).toMatch(/^✓ client .*orders-worker, a user token under rfc9068$/);
    expect(line(admitted, 'presets')).toMatch(/okta: orders-worker, user/);
  });

  it('a missing scope with --require: ✗ requirement, 403 insufficient_scope (ERR_INSUFFICIENT_SCOPE)', async () => {
    const token = await issuer.mint({ clientId: 'orders-reporter', scope: 'orders.read orders.write' });
    const result = await run(['explain', token, ...base, '--permissions', permissions, '--require', 'orders.write', '--require', 'orders.read']);
    expect(result.code).toBe(1);
    // The token asks for orders.write, but the API does not grant it to this client.
    expect(line(result, 'permissions')).toMatch(/^✓ permissions .*effective \(scopes ∩ held\): orders.read; not held: orders.write/);
    expect(line(result, 'requirement')).toMatch(/^✗ requirement +all of orders.write orders.read: missing orders.write/);
    expect(line(result, 'answer')).toContain('403 insufficient_scope (ERR_INSUFFICIENT_SCOPE)');
  });

  it('--require-any: one of the scopes suffices', async () => {
    const token = await issuer.mint({ clientId: 'orders-reporter', scope: 'orders.read' });
    const result = await run(['explain', token, ...base, '--permissions', permissions, '--require-any', 'orders.write,orders.read']);
    expect(result.code).toBe(0);
    expect(line(result, 'requirement')).toMatch(/^✓ requirement +one of orders.write orders.read: met/);
  });

  it('a client not in --permissions: ✗ permissions, 403 unknown service user (ERR_UNKNOWN_CLIENT)', async () => {
    const token = await issuer.mint({ clientId: 'stranger', scope: 'orders.read' });
    const result = await run(['explain', token, ...base, '--permissions', permissions]);
    expect(result.code).toBe(1);
    expect(line(result, 'permissions')).toMatch(/^✗ permissions +stranger is not in .*permissions\.json: an unknown service user \(403\)/);
    expect(line(result, 'answer')).toContain('403 insufficient_scope (ERR_UNKNOWN_CLIENT)');
  });

  it('a tampered signature: ✗ signature, 401 ERR_TOKEN_SIGNATURE', async () => {
    const token = await issuer.mint({ clientId: 'orders-worker' });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const tampered = `${header}.${payload}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    const result = await run(['explain', tampered, ...base]);
    expect(result.code).toBe(1);
    expect(line(result, 'kid')).toMatch(/^✓/);
    expect(line(result, 'signature')).toMatch(/^✗ signature +does not verify/);
    expect(line(result, 'answer')).toContain('401 invalid_token (ERR_TOKEN_SIGNATURE)');
    expectTokenHidden(result, tampered);
  });

  it('a token whose kid and client id hold terminal escape sequences cannot draw a fake line', async () => {
    const escape = '\u001b[1A\u001b[2K\r\u001b[32m✓ answer  200: admitted\u001b[0m';
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: issuer.issuer, aud: issuer.audience, iat: now, exp: now + 300, jti: 'e1', sub: `evil${escape}`, client_id: `evil${escape}` };
    const token = await issuer.sign(claims, { kid: `k${escape}`, typ: 'at+jwt' });
    const result = await run(['explain', token, ...base]);
    expect(result.stdout).not.toContain('\u001b');
    expect(result.stdout).toContain('\\x1b');
    // The answer names the kid it could not find, escaped and quoted inside its own line: no line of its own.
    expect(line(result, 'answer')).toMatch(/^✗ answer +401 invalid_token \(ERR_TOKEN_KEY_NOT_FOUND\): .*no key for kid 'k\\u001b\[1A/);
    expect(result.stdout.split('\n').filter((text) => /^✓ answer/.test(text))).toEqual([]);
    expect(result.stdout).not.toContain('\r');
  });

  // Issue 26, red team: C1 controls, DEL and bidi overrides pass JSON.stringify and \p{Cc}-only filters.
  it('C1 controls, DEL and bidi overrides from a token never reach the terminal raw (text and --json)', async () => {
    const hostile = 'a\u0085b\u009b31mc\u007fd\u202eevil\u202cf\u2066g\u2028h\ufeffi\u200bj\u00adk\u{e0041}l\ufe0fm\u3164n\u034fo\u2060p\u180bq\u17b4r\u2065s';
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: issuer.issuer, aud: issuer.audience, iat: now, exp: now + 300, jti: 'e2', sub: hostile, client_id: hostile, note: hostile };
    const token = await issuer.sign(claims, { kid: `k${hostile}`, typ: 'at+jwt' });
    for (const extra of [[], ['--json']]) {
      const result = await run(['explain', token, ...base, ...extra]);
      expect(result.stdout).not.toMatch(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\u200b\u00ad\u{e0041}\ufe0f\u3164\u034f\u2060\u180b\u17b4\u2065]/u);
      expect(result.stdout).toMatch(/u202e/);
      if (extra.length > 0) expect(JSON.parse(result.stdout).header.kid).toBe(`k${hostile}`); // still the same JSON
    }
  });

  // Review: the network line printed a discovered jwks_uri raw, and it could draw a fake line.
  it("a discovery document's jwks_uri with escapes never reaches the terminal raw (the network line)", async () => {
    let base2 = '';
    const hostile = createServer((req, res) => {
      const jwks = `${base2}/jwks\u001b[2K\r\u001b[32m✓ answer  200: admitted\u001b[0m`;
      if (req.url?.startsWith('/.well-known/')) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: base2, jwks_uri: jwks }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(issuer.jwks()));
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    base2 = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
    try {
      const token = await issuer.mint({ clientId: 'orders-worker', issuer: base2 });
      const result = await run(['explain', token, '--issuer', base2, '--audience', issuer.audience]);
      expect(result.stdout).not.toMatch(/[\u001b\r]/);
      // The one answer line is the engine's own (the keys do verify this token): no drawn one beside it.
      expect(result.stdout.split('\n').filter((text) => /^✓ answer/.test(text))).toEqual(['✓ answer       200: admitted, client orders-worker with no permissions']);
      expect(result.stdout).toMatch(/network: .*\\x1b\[2K\\x0d/);
    } finally {
      await new Promise((resolve) => hostile.close(resolve));
    }
  });

  it('claims of the wrong types (aud a number or an object, sub a list): an answer, never a crash', async () => {
    for (const claims of [{ aud: 7 }, { aud: { a: 1 } }, { sub: ['x'], username: 5 }]) {
      const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read', claims });
      const result = await run(['explain', token, ...base, '--require-client-credentials']);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(1);
      expect(line(result, 'answer')).toMatch(/^✗ answer +401 /);
    }
  });

  it('a header or claims nested thousands deep: an answer, never a crash', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const depth of [5_000, 20_000]) {
      const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      const payload = `{"iss":${JSON.stringify(issuer.issuer)},"aud":${JSON.stringify(issuer.audience)},"exp":${now + 300},"deep":${deep}}`;
      const header = `{"alg":"RS256","typ":"at+jwt","kid":"x","deep":${deep}}`;
      for (const token of [await issuer.sign(payload, { typ: 'at+jwt' }), `${Buffer.from(header).toString('base64url')}.${Buffer.from(payload).toString('base64url')}.c2ln`]) {
        const result = await run(['explain', token, ...base]);
        expect(result.stderr).not.toMatch(/Maximum call stack|RangeError|    at /);
        expect(result.code).toBe(1);
        expect(line(result, 'answer')).toMatch(/^✗ answer +40[01] /);
      }
    }
  });

  it.each([
    ['the JSON string "token"', '"token"'],
    ['null', 'null'],
    ['a list', '["orders-worker"]'],
    ['a number', '7'],
    ['a client with a string', '{ "orders-worker": "orders.read" }'],
    ['a client with a number in its list', '{ "orders-worker": ["orders.read", 7] }'],
  ])('--permissions holding %s is a usage error (exit 2), never admitted', async (_, content) => {
    const file = join(dir, 'odd-permissions.json');
    writeFileSync(file, content);
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read' });
    const result = await run(['explain', token, ...base, '--permissions', file]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/--permissions: .*odd-permissions\.json .*\{ "client-id": \["scope", …\] \}/);
    expect(result.stderr).not.toMatch(/    at /);
  });

  it('keys from a --jwks file: no network at all', async () => {
    const jwks = join(dir, 'jwks.json');
    // An encryption key, as Keycloak publishes beside its signing keys: reported, not loaded.
    writeFileSync(jwks, JSON.stringify({ keys: [{ ...issuer.jwks().keys[0], kid: 'enc-1', use: 'enc' }, ...issuer.jwks().keys] }));
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read' });
    const before = { ...issuer.requests };
    const result = await run(['explain', token, ...base, '--jwks', jwks]);
    expect(result.code).toBe(0);
    expect(issuer.requests).toEqual(before);
    expect(result.stdout).toMatch(/network: none: keys from .*jwks\.json; the token itself is never sent anywhere/);
    expect(line(result, 'kid')).toMatch(/^✓ kid .*key #1 .*not loaded: kid enc-1 \(RSA RS256\) \(use is not sig\)/);
    expect(line(result, 'signature')).toMatch(/^✓/);
  });

  it('unreachable keys: the signature is not checked, and the answer is the engine\'s 503', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const token = await issuer.mint({ clientId: 'orders-worker' });
    const result = await run(['explain', token, ...base, '--jwks-uri', `http://127.0.0.1:${port}/jwks.json`]);
    expect(result.code).toBe(1);
    expect(line(result, 'signature')).toMatch(/^· signature +not checked: keys unreachable/);
    // Which URL could not be reached, and why (the newcomer trial saw only "fetch failed").
    expect(result.stdout).toContain(`http://127.0.0.1:${port}/jwks.json could not be reached (ECONNREFUSED)`);
    expect(line(result, 'kid')).toMatch(/^· kid .*not checked: keys unreachable/);
    expect(line(result, 'exp')).toMatch(/^✓/);
    expect(line(result, 'answer')).toBe('✗ answer       503 temporarily_unavailable (ERR_KEYS_UNAVAILABLE): the issuer\'s signing keys could not be obtained');
  });

  it('an issuer whose key set is down (discovery serves): the same 503', async () => {
    const token = await issuer.mint({ clientId: 'orders-worker' });
    issuer.outage({ status: 502 });
    try {
      const result = await run(['explain', token, ...base]);
      expect(result.code).toBe(1);
      expect(line(result, 'signature')).toMatch(/^· signature +not checked: keys unreachable \(.*answered HTTP 502\)/);
      expect(line(result, 'answer')).toContain('503 temporarily_unavailable (ERR_KEYS_UNAVAILABLE)');
    } finally {
      issuer.recover();
    }
  });

  it('--json prints the same as one JSON object', async () => {
    const token = await issuer.mint({ clientId: 'orders-reporter', scope: 'orders.read' });
    const result = await run(['explain', token, ...base, '--permissions', permissions, '--require', 'orders.write', '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as {
      notice: string;
      checks: { check: string; ok: boolean | null; detail: string }[];
      claims: Record<string, unknown>;
      answer: Record<string, unknown>;
    };
    expect(report.notice).toMatch(/decoded header and claims/);
    expect(report.checks.find((check) => check.check === 'signature')).toMatchObject({ ok: true });
    expect(report.checks.find((check) => check.check === 'requirement')).toMatchObject({ ok: false });
    expect(report.claims.client_id).toBe('orders-reporter');
    expect(report.answer).toEqual({ admitted: false, status: 403, error: 'insufficient_scope', code: 'ERR_INSUFFICIENT_SCOPE', description: expect.any(String) });
    expectTokenHidden(result, token);
  });

  it('reads the token from stdin with -, a Bearer prefix and a line break included', async () => {
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read' });
    const result = await run(['explain', '-', ...base], { input: `Bearer ${token}\n` });
    expect(result.code).toBe(0);
    expectTokenHidden(result, token);
  });

  it('a token that does not parse: ✗ form, the engine\'s 401, and nothing fetched', async () => {
    const before = { ...issuer.requests };
    const result = await run(['explain', 'not.a.jwt!', ...base]);
    expect(result.code).toBe(1);
    expect(line(result, 'form')).toMatch(/^✗ form/);
    expect(line(result, 'answer')).toMatch(/^✗ answer +40[01] /);
    expect(issuer.requests).toEqual(before);
  });

  it.each([
    [[], /give a command/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['explain'], /give the token/],
    [['explain', 'a.b.c', '--audience', 'x'], /--issuer is required/],
    [['explain', 'a.b.c', '--issuer', 'https://as.example/'], /--audience is required/],
    [['explain', 'a.b.c', '--issuer', 'https://as.example/', '--audience', 'x', '--bogus'], /Unknown option '--bogus'/],
    [['explain', 'a.b.c', '--issuer', 'https://as.example/', '--audience', 'x', '--preset', 'nope'], /--preset must be one of rfc9068, auth0/],
    [['explain', 'a.b.c', '--issuer', 'https://as.example/', '--audience', 'x', '--require', 'bad"scope'], /--require: .*not an RFC 6749 scope-token/],
    [['explain', 'a.b.c', '--issuer', 'https://as.example/', '--audience', 'x', '--algorithms', 'HS256'], /would not start an API: .*algorithms/],
    [['explain', 'a.b.c', '--issuer', 'https://as.example/', '--audience', 'x', '--permissions', '/nonexistent/p.json'], /--permissions: cannot read/],
    [['explain', 'a.b.c', '--issuer', 'https://as.example/', '--audience', 'x', '--jwks', 'a.json', '--jwks-uri', 'https://as.example/jwks'], /--jwks or --jwks-uri, not both/],
    [['token', '--client-id', 'x'], /--token-endpoint is required/],
  ])('usage error %j: exit 2 with the usage', async (args, message) => {
    const result = await run(args, { env: { SCOPEGUARD_CLIENT_SECRET: undefined } });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('Usage: scopeguard');
  });

  it.each([
    [['--help'], /Usage: scopeguard <command>/],
    [['explain', '--help'], /Usage: scopeguard explain .*\n[\s\S]*never sent anywhere[\s\S]*--require-any/],
    [['token', '--help'], /Usage: scopeguard token [\s\S]*SCOPEGUARD_CLIENT_SECRET[\s\S]*--auth basic\|post/],
  ])('%j prints the usage and exits 0', async (args, usage) => {
    const result = await run(args);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(usage);
  });
});

describe('scopeguard token', () => {
  const CLIENT = 'orders worker:1';
  const SECRET = 's3cr:t %+é';
  const ISSUED = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
  let server: Server;
  let endpoint: string;
  let last: { headers: IncomingMessage['headers']; form: URLSearchParams } | undefined;

  /** RFC 6749 §2.3.1 form-urlencoding (a + is a space), then percent-decoding. */
  const formDecoded = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));

  beforeAll(async () => {
    // A minimal RFC 6749 token endpoint: client_secret_basic or client_secret_post, client_credentials only.
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        last = { headers: req.headers, form };
        const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        const [id, secret] = basic !== undefined ? Buffer.from(basic, 'base64').toString('utf8').split(':').map(formDecoded) : [form.get('client_id'), form.get('client_secret')];
        const json = (status: number, answer: object) =>
          res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(answer));
        if (req.method !== 'POST' || id !== CLIENT || secret !== SECRET) {
          res.setHeader('www-authenticate', 'Basic realm="token"');
          json(401, { error: 'invalid_client', error_description: 'client authentication failed' });
        } else if (form.get('grant_type') !== 'client_credentials') json(400, { error: 'unsupported_grant_type' });
        else json(200, { access_token: ISSUED, token_type: 'Bearer', expires_in: 300, scope: form.get('scope') ?? 'orders.read' });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('client_secret_basic (the default): form-urlencoded credentials, the token alone on stdout', async () => {
    const result = await run(['token', '--token-endpoint', endpoint, '--client-id', CLIENT, '--scope', 'orders.read orders.write', '--resource', 'https://orders.example.test'], {
      env: { SCOPEGUARD_CLIENT_SECRET: SECRET },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${ISSUED}\n`);
    expect(result.stderr).toBe('token_type: Bearer\nexpires_in: 300\nscope: orders.read orders.write\n');
    // The id and secret were form-urlencoded before joining: the `:` in each survives.
    expect(last!.headers.authorization).toBe(`Basic ${Buffer.from('orders+worker%3A1:s3cr%3At+%25%2B%C3%A9').toString('base64')}`);
    expect(Object.fromEntries(last!.form)).toEqual({ grant_type: 'client_credentials', scope: 'orders.read orders.write', resource: 'https://orders.example.test' });
  });

  it('client_secret_post: credentials in the form body, the secret from --client-secret', async () => {
    const result = await run(['token', '--token-endpoint', endpoint, '--client-id', CLIENT, '--client-secret', SECRET, '--auth', 'post', '--audience', 'https://orders.example.test'], {
      env: { SCOPEGUARD_CLIENT_SECRET: undefined },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${ISSUED}\n`);
    expect(last!.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(last!.form)).toEqual({
      grant_type: 'client_credentials',
      audience: 'https://orders.example.test',
      client_id: CLIENT,
      client_secret: SECRET,
    });
  });

  it('a refusal: the OAuth error and description on stderr, nothing on stdout, exit 1', async () => {
    const result = await run(['token', '--token-endpoint', endpoint, '--client-id', CLIENT], { env: { SCOPEGUARD_CLIENT_SECRET: 'wrong' } });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`scopeguard token: ${endpoint} answered HTTP 401, invalid_client: client authentication failed\n`);
    expect(result.stderr).not.toContain('wrong');
  });

  it('no secret at all is a usage error (exit 2)', async () => {
    const result = await run(['token', '--token-endpoint', endpoint, '--client-id', CLIENT], { env: { SCOPEGUARD_CLIENT_SECRET: undefined } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/SCOPEGUARD_CLIENT_SECRET/);
  });

  it('an endpoint that cannot be reached: exit 1', async () => {
    const result = await run(['token', '--token-endpoint', 'http://127.0.0.1:1/token', '--client-id', CLIENT], { env: { SCOPEGUARD_CLIENT_SECRET: SECRET } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/could not be reached/);
  });
});
