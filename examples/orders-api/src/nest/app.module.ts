import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ScopeguardModule, type ScopeguardModuleOptions } from '@scopeguard/nestjs';
import { OrdersRepository } from '../domain/orders';
import type { RedisStore } from '../domain/admin';
import { AdminController, SHARED_STORE } from './admin.controller';
import { DomainErrorFilter } from './domain-error.filter';
import { HealthController } from './health.controller';
import { OrdersController } from './orders.controller';

/**
 * The Nest front door: a global guard, `@Public()` health, scopes per route; with a shared store
 * (REDIS_URL), the admin routes that revoke and deactivate everywhere.
 */
@Module({})
export class AppModule {
  static register(guard: ScopeguardModuleOptions, shared?: RedisStore): DynamicModule {
    return {
      module: AppModule,
      imports: [ScopeguardModule.forRoot({ ...guard, defaultPolicy: 'deny', global: true })],
      controllers: [OrdersController, HealthController, ...(shared ? [AdminController] : [])],
      providers: [OrdersRepository, { provide: APP_FILTER, useClass: DomainErrorFilter }, ...(shared ? [{ provide: SHARED_STORE, useValue: shared }] : [])],
    };
  }
}
