import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { Scopeguard, type ScopeguardOptions } from '@scopeguard/core';
import { ScopeguardExceptionFilter } from './scopeguard.filter';
import { ScopeguardGuard } from './scopeguard.guard';
import type { ScopeguardModuleOptions } from './scopeguard-module-options.interface';
import { ASYNC_OPTIONS_TYPE, ConfigurableModuleClass, OPTIONS_TYPE, SCOPEGUARD_OPTIONS } from './scopeguard.module-definition';

const engineProvider: Provider = {
  provide: Scopeguard,
  useFactory: ({ defaultPolicy, ...engineOptions }: ScopeguardModuleOptions) => {
    if (defaultPolicy !== undefined && defaultPolicy !== 'authenticated' && defaultPolicy !== 'deny') {
      throw new TypeError('scopeguard: option "defaultPolicy" must be "authenticated" or "deny"');
    }
    return new Scopeguard(engineOptions as ScopeguardOptions);
  },
  inject: [SCOPEGUARD_OPTIONS],
};

/**
 * Provides the engine and the guard everywhere in the app.
 * @example ScopeguardModule.forRoot({ issuer, audience, global: true })
 * @example ScopeguardModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: (c) => ({ … }), global: true })
 */
@Module({})
export class ScopeguardModule extends ConfigurableModuleClass {
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
      providers: [
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
