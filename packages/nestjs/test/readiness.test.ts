/** Issue 16 on Nest: warm start at bootstrap (and 'required'), the terminus indicator, key-set logs. */
import 'reflect-metadata';
import { Controller, Get, Logger, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { ScopeguardModule, type ScopeguardModuleOptions } from '@scopeguard/nestjs';
import { ScopeguardHealthIndicator } from '@scopeguard/nestjs/terminus';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { send } from '../../../test/support/http';

let issuer: TestIssuer;
beforeEach(async () => {
  issuer = await createTestIssuer();
});
afterEach(() => issuer.close());

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly scopeguard: ScopeguardHealthIndicator,
  ) {}

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.scopeguard.isReady()]);
  }
}

async function boot(extra: Partial<ScopeguardModuleOptions> = {}) {
  @Module({ imports: [TerminusModule], controllers: [HealthController], providers: [ScopeguardHealthIndicator] })
  class HealthModule {}
  const moduleRef = await Test.createTestingModule({
    imports: [ScopeguardModule.forRoot({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, permissions: 'token', global: true, ...extra }), HealthModule],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  return app;
}

describe('readiness on Nest', () => {
  it('fetches the key set while the app boots (no request waits for it), and terminus reports it up', async () => {
    const app = await boot();
    await app.listen(0, '127.0.0.1');
    try {
      expect(issuer.requests.jwks).toBe(1);
      const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
      // @Public is not needed: terminus's route is guarded like any other, so call it with a token.
      const res = await send(`${base}/health/ready`, { headers: { authorization: `Bearer ${await issuer.mint()}` } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'ok', info: { scopeguard: { status: 'up', issuers: [{ issuer: issuer.issuer, state: 'fresh', keys: 1 }] } } });
      expect(issuer.requests.jwks).toBe(1);
    } finally {
      await app.close();
    }
  });

  it("warmStart: 'required' fails start-up when the issuer cannot be reached; the default starts and logs it", async () => {
    issuer.outage({ status: 500 });
    const required = await boot({ warmStart: 'required' });
    await expect(required.init()).rejects.toThrow(/key sets could not be fetched/);
    await required.close();

    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const tolerant = await boot();
      await tolerant.init();
      expect(warn.mock.calls.some(([line]) => /warm start failed/.test(String(line)))).toBe(true);
      // The cause once, in the key set's own line (the newcomer trial saw it twice: ERROR, then WARN).
      const lines = [...warn.mock.calls, ...error.mock.calls].map(([line]) => String(line));
      expect(lines.filter((line) => /HTTP 500/.test(line))).toHaveLength(1);
      await tolerant.close();
    } finally {
      warn.mockRestore();
      error.mockRestore();
    }
    const skipped = await boot({ warmStart: false });
    const before = issuer.requests.jwks;
    await skipped.init();
    expect(issuer.requests.jwks).toBe(before);
    await skipped.close();
  });

  it('logs a stale key set, its bound (jwks.maxStaleMs) and the recovery through Nest\'s Logger; past the bound requests get 503', async () => {
    let now = Date.now();
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const app = await boot({ clock: () => now, jwks: { maxAgeMs: 60_000, maxStaleMs: 600_000, cooldownMs: 0 } });
    await app.listen(0, '127.0.0.1');
    try {
      const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
      const ask = async () => (await send(`${base}/health/ready`, { headers: { authorization: `Bearer ${await issuer.mint({ expiresIn: 86_400 })}` } })).status;
      issuer.outage({ status: 503 });
      now += 61_000;
      expect(await ask()).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(warn.mock.calls.some(([line]) => /are stale/.test(String(line)))).toBe(true);
      now += 600_000;
      expect(await ask()).toBe(503);
      // Past the bound requests get 503: an error, no longer a warning.
      expect(error.mock.calls.some(([line]) => /past jwks\.maxStaleMs/.test(String(line)))).toBe(true);
      issuer.recover();
      expect(await ask()).toBe(200);
      expect(log.mock.calls.some(([line]) => /fetched again/.test(String(line)))).toBe(true);
    } finally {
      warn.mockRestore();
      log.mockRestore();
      error.mockRestore();
      await app.close();
    }
  });
});

