import { Inject, Module, RequestMethod, type DynamicModule, type MiddlewareConsumer, type NestModule, type OnApplicationBootstrap, type Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { Scopeguard, type ScopeguardOptions } from '@scopeguard/core';
import { withAuditLog } from '@scopeguard/core/adapter';
import { logDecision, logger } from './scopeguard.audit';
import { ScopeguardExceptionFilter } from './scopeguard.filter';
import { ScopeguardMetadataMiddleware } from './scopeguard.metadata';
import { ScopeguardGuard } from './scopeguard.guard';
import { ScopeguardResolverCheck } from './scopeguard.resolver-check';
import type { ScopeguardModuleOptions } from './scopeguard-module-options.interface';
import { ASYNC_OPTIONS_TYPE, ConfigurableModuleClass, OPTIONS_TYPE, SCOPEGUARD_OPTIONS } from './scopeguard.module-definition';

const engineProvider: Provider = {
  provide: Scopeguard,
  useFactory: ({ defaultPolicy, auditLog, warmStart, ...engineOptions }: ScopeguardModuleOptions) => {
    if (defaultPolicy !== undefined && defaultPolicy !== 'authenticated' && defaultPolicy !== 'deny') {
      throw new TypeError('scopeguard: option "defaultPolicy" must be "authenticated" or "deny"');
    }
    if (warmStart !== undefined && typeof warmStart !== 'boolean' && warmStart !== 'required') {
      throw new TypeError('scopeguard: option "warmStart" must be true, false or "required"');
    }
    const { onDecision } = engineOptions as Pick<ScopeguardOptions, 'onDecision'>;
    const audit = auditLog ? withAuditLog(logDecision, onDecision) : onDecision;
    const engine = new Scopeguard({ ...engineOptions, ...(audit && { onDecision: audit }) } as ScopeguardOptions);
    // Outages, key-set changes and configuration mistakes to Nest's logger, rate-limited (core's operator log).
    engine.logTo({ warn: (line) => logger.warn(line), error: (line) => logger.error(line), info: (line) => logger.log(line) });
    return engine;
  },
  inject: [SCOPEGUARD_OPTIONS],
};

/**
 * Provides the engine and the guard everywhere in the app.
 * @example ScopeguardModule.forRoot({ issuer, audience, global: true })
 * @example ScopeguardModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: (c) => ({ … }), global: true })
 */
@Module({})
export class ScopeguardModule extends ConfigurableModuleClass implements NestModule, OnApplicationBootstrap {
  constructor(
    private readonly engine: Scopeguard,
    @Inject(SCOPEGUARD_OPTIONS) private readonly options: ScopeguardModuleOptions,
  ) {
    super();
  }

  /**
   * Warm start (`warmStart`, default true): the issuers' key sets are fetched while the app boots, so
   * the first requests wait for nothing. A failure is logged and the app starts (keys are fetched on
   * demand, 503 meanwhile), unless `warmStart: 'required'`, which fails start-up instead.
   */
  async onApplicationBootstrap(): Promise<void> {
    const { warmStart = true } = this.options;
    if (warmStart === false) return;
    try {
      await this.engine.ready();
    } catch (error) {
      if (warmStart === 'required') throw error;
      // Why is the key set's own line (the operator log wrote it as the fetch failed): not twice.
      logger.warn('scopeguard: warm start failed, keys will be fetched on demand (the line above says why)');
    }
  }

  /** Serves RFC 9728 metadata at the configured resource's well-known path, before any guard. */
  configure(consumer: MiddlewareConsumer): void {
    const metadata = this.engine.resourceMetadata();
    if (metadata) consumer.apply(ScopeguardMetadataMiddleware).forRoutes({ path: metadata.path, method: RequestMethod.GET });
  }

  static override forRoot(options: typeof OPTIONS_TYPE): DynamicModule {
    return ScopeguardModule.withGuard(super.forRoot(options), options.global);
  }

  static override forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return ScopeguardModule.withGuard(super.forRootAsync(options), options.global);
  }

  private static withGuard(definition: DynamicModule, global: boolean | undefined): DynamicModule {
    // APP_GUARD by useExisting, so Test.createTestingModule(...).overrideGuard(ScopeguardGuard) reaches it (nest #5821).
    const appGuard: Provider[] = global ? [{ provide: APP_GUARD, useExisting: ScopeguardGuard }] : [];
    return {
      ...definition,
      global: true,
      imports: [...(definition.imports ?? []), DiscoveryModule],
      providers: [
        ScopeguardMetadataMiddleware,
        ScopeguardResolverCheck,
        ...(definition.providers ?? []),
        engineProvider,
        ScopeguardGuard,
        { provide: APP_FILTER, useClass: ScopeguardExceptionFilter },
        ...appGuard,
      ],
      exports: [...(definition.exports ?? []), Scopeguard, ScopeguardGuard, SCOPEGUARD_OPTIONS],
    };
  }
}
