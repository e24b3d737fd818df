import { Inject, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InsufficientScopeError, Scopeguard, ScopeguardError, type Principal, type ScopeRequirement } from '@scopeguard/core';
import { ACCESS_TOKEN, PUBLIC_METADATA, SCOPES_METADATA } from './scopeguard.constants';
import { httpRequestOf, httpResponseOf, setHeaders, tokenRequestOf, type NestHttpRequest } from './scopeguard.context';
import { ScopeguardException } from './scopeguard.exception';
import type { ScopeguardModuleOptions } from './scopeguard-module-options.interface';
import { SCOPEGUARD_OPTIONS } from './scopeguard.module-definition';

/**
 * Authenticates (401/400/503) and authorizes (403) in one pass, so there is no ordering trap
 * between an authentication guard and a scopes guard. Use as `APP_GUARD` (the module's
 * `global: true`) or with `@UseGuards(ScopeguardGuard)`.
 */
@Injectable()
export class ScopeguardGuard implements CanActivate {
  constructor(
    private readonly engine: Scopeguard,
    private readonly reflector: Reflector,
    @Inject(SCOPEGUARD_OPTIONS) private readonly options: ScopeguardModuleOptions,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_METADATA, targets)) return true;

    const request = httpRequestOf(context);
    if (request === undefined) {
      // Never fail open on transports we cannot read a bearer token from.
      throw new UnauthorizedException(
        `scopeguard protects HTTP and GraphQL handlers; ${context.getType()} handlers are refused (mark them @Public() to opt out)`,
      );
    }
    try {
      const principal = request.auth ?? (await this.authenticate(request));
      const requirements = this.reflector.getAllAndMerge<ScopeRequirement[]>(SCOPES_METADATA, targets);
      if (requirements.length === 0 && this.options.defaultPolicy === 'deny') {
        throw new InsufficientScopeError([], 'this route declares no scope requirement and the default policy denies it');
      }
      for (const requirement of requirements) this.engine.authorize(principal, requirement);
      return true;
    } catch (error) {
      if (!(error instanceof ScopeguardError)) throw error;
      const response = this.engine.errorResponse(error);
      setHeaders(httpResponseOf(context), response.headers);
      throw new ScopeguardException(error, response);
    }
  }

  private async authenticate(request: NestHttpRequest): Promise<Principal> {
    const token = this.engine.extract(tokenRequestOf(request));
    request[ACCESS_TOKEN] = token;
    const principal = await this.engine.verify(token);
    request.auth = principal;
    return principal;
  }
}
