import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { ScopeguardModuleOptions } from './scopeguard-module-options.interface';

/** Extras of `forRoot`/`forRootAsync` that are not engine options. */
export interface ScopeguardModuleExtras {
  /** Register the guard as `APP_GUARD`, so every route is protected unless `@Public()`. Default false. */
  global?: boolean;
}

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: SCOPEGUARD_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ScopeguardModuleOptions>({ moduleName: 'Scopeguard' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createScopeguardOptions')
  .setExtras<ScopeguardModuleExtras>({ global: false }, (definition) => definition)
  .build();
