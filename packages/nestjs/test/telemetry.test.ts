/** Issue 16: OpenTelemetry through the Nest guard (the `telemetry` engine option names the adapter). */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ScopeguardModule } from '@scopeguard/nestjs';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { decisionTraffic, installTelemetry, type TestTelemetry } from '../../../test/support/telemetry';
import { OrdersController } from './fixtures';

let issuer: TestIssuer;
let otel: TestTelemetry;
let app: INestApplication;
let base: string;
beforeAll(async () => {
  issuer = await createTestIssuer();
  otel = installTelemetry(); // before the engine: it takes the meter registered at its construction
  const moduleRef = await Test.createTestingModule({
    imports: [
      ScopeguardModule.forRoot({
        issuer: issuer.issuer,
        audience: issuer.audience,
        jwksUri: issuer.jwksUri,
        permissions: { worker: ['orders.read'] },
        telemetry: { adapter: 'nestjs' },
        global: true,
      }),
    ],
    controllers: [OrdersController],
  }).compile();
  app = moduleRef.createNestApplication();
  app.useLogger(false);
  await app.listen(0, '127.0.0.1');
  base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
});
afterAll(async () => {
  await app.close();
  await otel.reset();
  await issuer.close();
});

it('Nest: decisions counted with the adapter attribute, one verification span for a reused token', async () => {
  await decisionTraffic(base, issuer);

  expect(await otel.count('scopeguard.decisions', { outcome: 'allowed', adapter: 'nestjs' })).toBe(5);
  expect(await otel.count('scopeguard.decisions', { outcome: 'refused', code: 'ERR_INSUFFICIENT_SCOPE', adapter: 'nestjs' })).toBe(1);
  expect(await otel.count('scopeguard.decisions', { outcome: 'refused', code: 'ERR_BEARER_MISSING', adapter: 'nestjs' })).toBe(1);
  expect((await otel.points('scopeguard.decisions')).every((point) => point.attributes.adapter === 'nestjs')).toBe(true);
  expect(await otel.count('scopeguard.cache.lookups', { hit: true })).toBe(4);
  expect(otel.spans('scopeguard.verify')).toHaveLength(2);
});
