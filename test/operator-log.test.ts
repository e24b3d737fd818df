/**
 * What an operator sees with nothing configured: a refused request whose cause is the configuration
 * (a wrong audience, an issuer with a trailing slash), an unreachable key set, a dependency outage,
 * each logged once (and its recovery), naming both sides, rate-limited, never the token. The trial
 * that found Express silent is the first case; then every adapter, by default.
 */
import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import { Logger } from '@nestjs/common';
import express from 'express';
import type { OperatorLogger, ScopeguardOptions } from '@scopeguard/core';
import { requireScopes, scopeguard } from '@scopeguard/express';
import { mcpGuard } from '@scopeguard/mcp';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { close, listen, send } from './support/http';
import { ADAPTERS, startAdapter } from './conformance/adapters';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});
afterAll(async () => {
  await issuer?.close();
});

/** A logger that keeps what it is given, by level. */
function capture() {
  const lines: { level: 'warn' | 'error' | 'info'; line: string }[] = [];
  const logger: OperatorLogger = {
    warn: (line) => void lines.push({ level: 'warn', line }),
    error: (line) => void lines.push({ level: 'error', line }),
    info: (line) => void lines.push({ level: 'info', line }),
  };
  return { lines, logger };
}

/** An Express app as the README wires it, with a clock the test moves. */
async function expressApp(options: Record<string, unknown>, logger: OperatorLogger | undefined, clock: { now: number }) {
  const app = express();
  app.use(scopeguard({ clock: () => clock.now, ...options, ...(logger && { logger }) } as ScopeguardOptions));
  app.get('/orders', requireScopes('orders.read'), (_req, res) => void res.json({ ok: true }));
  const server = createServer(app);
  const base = await listen(server);
  return { base, close: () => close(server) };
}

const get = (base: string, token?: string) => send(`${base}/orders`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

describe('Express, as the trial wired it', () => {
  const clock = { now: Date.now() };
  const apps: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  it('a wrong audience: one line naming both sides, then at most one a minute, never the token', async () => {
    const { lines, logger } = capture();
    const app = await expressApp({ ...issuer.options(), audience: 'https://orders.example.com', permissions: 'token' }, logger, clock);
    apps.push(app);
    const token = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read' });
    expect((await get(app.base, token)).status).toBe(401);
    expect(lines).toEqual([
      {
        level: 'warn',
        line: `scopeguard: 401 ERR_TOKEN_CLAIM on 1 of 1 request(s) in the last 60 s: the aud claim is not accepted: token aud '${issuer.audience}' is not the configured 'https://orders.example.com' (check the options against the authorization server)`,
      },
    ]);
    for (let i = 0; i < 30; i++) expect((await get(app.base, token)).status).toBe(401);
    expect(lines).toHaveLength(1);
    clock.now += 61_000;
    expect((await get(app.base, token)).status).toBe(401);
    expect(lines).toHaveLength(2);
    expect(lines[1]!.line).toMatch(/on 1 of 1 request\(s\) .* \[30 more since the last such line\]$/);
    for (const { line } of lines) {
      expect(line).not.toContain(token);
      expect(line).not.toContain(token.split('.')[2]!);
    }
  });

  it('an issuer with a trailing slash says so', async () => {
    const { lines, logger } = capture();
    const app = await expressApp({ ...issuer.options(), issuer: `${issuer.issuer}/`, permissions: 'token' }, logger, clock);
    apps.push(app);
    expect((await get(app.base, await issuer.mint({ scope: 'orders.read' }))).status).toBe(401);
    expect(lines.map(({ line }) => line)).toEqual([expect.stringContaining(`token iss '${issuer.issuer}' is not the configured '${issuer.issuer}/' (a trailing slash differs)`)]);
  });

  it('a few foreign tokens among many good ones are not a configuration mistake: no line', async () => {
    const { lines, logger } = capture();
    const app = await expressApp({ ...issuer.options(), permissions: 'token' }, logger, { now: Date.now() });
    apps.push(app);
    const good = await issuer.mint({ scope: 'orders.read' });
    for (let i = 0; i < 10; i++) expect((await get(app.base, good)).status).toBe(200);
    expect((await get(app.base, await issuer.mint({ audience: 'https://another.example' }))).status).toBe(401);
    expect(lines).toEqual([]);
  });

  it('a flood of random kids: one line a minute, whatever the count', async () => {
    const { lines, logger } = capture();
    const app = await expressApp({ ...issuer.options(), permissions: 'token' }, logger, { now: Date.now() });
    apps.push(app);
    for (let i = 0; i < 200; i++) expect((await get(app.base, await issuer.mint({ header: { kid: `forged-${i}` } }))).status).toBe(401);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.line).toMatch(/^scopeguard: 401 ERR_TOKEN_KEY_NOT_FOUND on 1 of 1 request\(s\) in the last 60 s: no key of the issuer matches the token: no key for kid 'forged-0' \(RS256\)/);
  });

  it('an unreachable key set: one error line naming the URL and why, however many 503s; then one recovery line', async () => {
    let down = true;
    const jwks = createServer((_req, res) => {
      if (down) {
        res.statusCode = 503;
        return void res.end('maintenance');
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(issuer.jwks()));
    });
    const jwksBase = await listen(jwks);
    const { lines, logger } = capture();
    const now = { now: Date.now() };
    const app = await expressApp({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: `${jwksBase}/jwks`, permissions: 'token', jwks: { cooldownMs: 1000 } }, logger, now);
    apps.push(app, { close: () => close(jwks as Server) });
    const token = await issuer.mint({ scope: 'orders.read' });
    for (let i = 0; i < 5; i++) {
      const res = await get(app.base, token);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
      now.now += 1500; // past the cooldown: every request tries again
    }
    expect(lines).toEqual([
      { level: 'error', line: `scopeguard: the keys of ${issuer.issuer} could not be fetched from ${jwksBase}/jwks: requests that need them get 503 until they can; ${jwksBase}/jwks answered HTTP 503` },
    ]);
    down = false;
    expect((await get(app.base, token)).status).toBe(200);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toEqual({ level: 'info', line: `scopeguard: the keys of ${issuer.issuer} were fetched again from ${jwksBase}/jwks: fresh` });
  });

  it('a permission lookup outage: once, then its end', async () => {
    let failing = true;
    const { lines, logger } = capture();
    const now = { now: Date.now() };
    const app = await expressApp(
      {
        ...issuer.options(),
        permissions: async () => {
          if (failing) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
          return ['orders.read'];
        },
      },
      logger,
      now,
    );
    apps.push(app);
    const token = await issuer.mint({ scope: 'orders.read' });
    for (let i = 0; i < 5; i++) expect((await get(app.base, token)).status).toBe(503);
    expect(lines).toEqual([
      { level: 'error', line: 'scopeguard: ERR_PERMISSIONS_UNAVAILABLE: the permission lookup failed (connect ECONNREFUSED 127.0.0.1:5432); requests that need it get 503 until it answers' },
    ]);
    failing = false;
    now.now += 2000;
    expect((await get(app.base, token)).status).toBe(200);
    expect(lines[1]).toEqual({ level: 'info', line: 'scopeguard: ERR_PERMISSIONS_UNAVAILABLE is over: requests are decided again after 5 got 503 over 2 s' });
  });

  it('logger: false writes nothing; a throwing logger changes no answer', async () => {
    const silent = await expressApp({ ...issuer.options(), audience: 'https://orders.example.com', permissions: 'token', logger: false }, undefined, clock);
    const throwing = await expressApp({ ...issuer.options(), audience: 'https://orders.example.com', permissions: 'token' }, { warn: () => { throw new Error('disk full'); } }, clock);
    apps.push(silent, throwing);
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const token = await issuer.mint();
      expect((await get(silent.base, token)).status).toBe(401);
      expect((await get(throwing.base, token)).status).toBe(401);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });
});

describe.each(ADAPTERS)('%s logs a configuration mistake with nothing configured', (adapter) => {
  it('a wrong audience reaches the framework\'s default logger', async () => {
    const written: string[] = [];
    const keep = (message: unknown) => void written.push(String(message));
    const warn = jest.spyOn(console, 'warn').mockImplementation(keep);
    // Nest's adapters write through Nest's Logger.
    const nestWarn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(keep);
    // The harness turns the logger off for the conformance table; `logger: undefined` restores the default.
    const options = { ...issuer.options(), audience: 'https://orders.example.com', permissions: 'token', ...(!adapter.startsWith('nest') && !adapter.startsWith('passport') && { logger: undefined }) };
    const app = await startAdapter(adapter, options as ScopeguardOptions);
    try {
      app.before?.();
      const res = await send(`${app.base}/read`, { headers: { authorization: `Bearer ${await issuer.mint({ scope: 'orders.read' })}` } });
      expect(res.status).toBe(401);
      expect(written).toContainEqual(expect.stringContaining(`token aud '${issuer.audience}' is not the configured 'https://orders.example.com'`));
    } finally {
      await app.close();
      warn.mockRestore();
      nestWarn.mockRestore();
    }
  });
});

describe('the MCP guard logs a configuration mistake with nothing configured', () => {
  it('a wrong audience reaches the console', async () => {
    const written: string[] = [];
    const warn = jest.spyOn(console, 'warn').mockImplementation((message: unknown) => void written.push(String(message)));
    const guard = mcpGuard({ ...issuer.options(), audience: 'https://orders.example.com/mcp', permissions: 'token', tools: { list_orders: ['orders.read'] } });
    const app = express();
    app.post('/mcp', express.json(), guard, (_req, res) => void res.json({}));
    const server = createServer(app);
    const base = await listen(server);
    try {
      const res = await send(`${base}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await issuer.mint({ scope: 'orders.read' })}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(res.status).toBe(401);
      expect(written).toContainEqual(expect.stringContaining(`token aud '${issuer.audience}' is not the configured 'https://orders.example.com/mcp'`));
    } finally {
      await close(server);
      warn.mockRestore();
    }
  });
});
