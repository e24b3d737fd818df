import type { ScopeguardOptions } from '@scopeguard/core';

/** What a route without any scopeguard decorator gets under a global guard. */
export type DefaultPolicy = 'authenticated' | 'deny';

/** Options of `ScopeguardModule.forRoot()`: every core option, plus Nest-only ones. */
export type ScopeguardModuleOptions = ScopeguardOptions & {
  /**
   * Routes with neither `@RequireScopes`/`@RequireAnyScope` nor `@Public`: `authenticated` (default)
   * requires a valid token; `deny` refuses them with 403, so a forgotten decorator never opens a route.
   */
  defaultPolicy?: DefaultPolicy;
  /**
   * Log every decision through Nest's `Logger` (context `Scopeguard`): refusals at `warn`,
   * unavailability at `error`, allowed requests at `verbose`. Runs beside `onDecision`, if given.
   */
  auditLog?: boolean;
  /**
   * Fetch every issuer's key set while the app boots (`engine.ready()`), so the first requests wait for
   * nothing: `true` (default) logs a failure and starts anyway (keys are then fetched on demand, 503
   * meanwhile); `'required'` fails start-up when an issuer cannot be reached; `false` skips it.
   */
  warmStart?: boolean | 'required';
};
