import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ScopeguardModule, type ScopeguardModuleOptions } from '@scopeguard/nestjs';
import { OrdersRepository } from '../domain/orders';
import { DomainErrorFilter } from './domain-error.filter';
import { HealthController } from './health.controller';
import { OrdersController } from './orders.controller';

/** The Nest front door: a global guard, `@Public()` health, scopes per route. */
@Module({})
export class AppModule {
  static register(guard: ScopeguardModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [ScopeguardModule.forRoot({ ...guard, defaultPolicy: 'deny', global: true })],
      controllers: [OrdersController, HealthController],
      providers: [OrdersRepository, { provide: APP_FILTER, useClass: DomainErrorFilter }],
    };
  }
}
