/**
 * @scopeguard/nestjs — module, guard and decorators over the scopeguard engine. The Passport
 * strategy is at `@scopeguard/nestjs/passport`, so apps without Passport need not install it.
 * @packageDocumentation
 */
export { ScopeguardModule } from './scopeguard.module';
export { ScopeguardGuard } from './scopeguard.guard';
export { AccessToken, OptionalAuth, Principal, Public, RequireAnyScope, RequireScopes } from './scopeguard.decorators';
export { ScopeguardException } from './scopeguard.exception';
export { ScopeguardExceptionFilter } from './scopeguard.filter';
export { PUBLIC_METADATA, SCOPES_METADATA } from './scopeguard.constants';
export { SCOPEGUARD_OPTIONS, type ScopeguardModuleExtras } from './scopeguard.module-definition';
export type { DefaultPolicy, ScopeguardModuleOptions } from './scopeguard-module-options.interface';
export { Scopeguard, ScopeguardError, type Principal as ScopeguardPrincipal, type ScopeguardOptions } from '@scopeguard/core';
