/**
 * `@scopeguard/nestjs/terminus`: readiness for `@nestjs/terminus` health checks. A subpath of its own,
 * so an app without `@nestjs/terminus` never loads or type-checks it.
 */
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { Scopeguard } from '@scopeguard/core';

/**
 * Up when every issuer's key set can verify tokens now (fresh, pinned, or stale within
 * `jwks.maxStaleMs`); down otherwise. The result lists each issuer's state, key count, age in
 * milliseconds and last fetch error.
 *
 * ```ts
 * @Get('ready') @HealthCheck()
 * ready() { return this.health.check([() => this.scopeguard.isReady()]); }
 * ```
 */
@Injectable()
export class ScopeguardHealthIndicator {
  constructor(
    private readonly engine: Scopeguard,
    private readonly indicator: HealthIndicatorService,
  ) {}

  isReady<Key extends string = 'scopeguard'>(key: Key = 'scopeguard' as Key): HealthIndicatorResult<Key> {
    const { ready, issuers } = this.engine.health();
    const session = this.indicator.check(key);
    const details = {
      issuers: issuers.map(({ issuer, state, keys, ageMs, lastError }) => ({ issuer, state, keys, ageMs, ...(lastError !== undefined && { lastError }) })),
    };
    return ready ? session.up(details) : session.down(details);
  }
}
