// A Nest 12 application, plain ESM (no decorator syntax: decorators are applied as functions).
// Started by test/nest12.test.ts with --preserve-symlinks so @scopeguard/* resolve @nestjs/* 12 from here.
import 'reflect-metadata';
import { createRequire } from 'node:module';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Principal, Public, RequireScopes, ScopeguardModule } from '@scopeguard/nestjs';

class OrdersController {
  list(principal) {
    return { client: principal.clientId, permissions: principal.permissions };
  }
  health() {
    return { ok: true };
  }
}
const method = (name, ...decorators) => {
  const descriptor = Object.getOwnPropertyDescriptor(OrdersController.prototype, name);
  for (const decorate of decorators) decorate(OrdersController.prototype, name, descriptor);
};
method('list', Get());
Principal()(OrdersController.prototype, 'list', 0);
method('health', Get('health'), Public());
RequireScopes('orders.read')(OrdersController);
Controller('orders')(OrdersController);

class AppModule {}
Module({
  imports: [
    ScopeguardModule.forRoot({
      issuer: process.env.ISSUER,
      audience: process.env.AUDIENCE,
      jwksUri: process.env.JWKS_URI,
      realm: 'orders',
      permissions: { reporter: ['orders.read'] },
      global: true,
    }),
  ],
  controllers: [OrdersController],
})(AppModule);

const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(0, '127.0.0.1');
// Which @nestjs/common our package itself loads (must be this app's Nest 12, not the monorepo's Nest 11).
const fromScopeguard = createRequire(import.meta.resolve('@scopeguard/nestjs'))('@nestjs/common/package.json').version;
process.stdout.write(`${JSON.stringify({ url: (await app.getUrl()).replace('[::1]', '127.0.0.1'), nestUsedByScopeguard: fromScopeguard })}\n`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
