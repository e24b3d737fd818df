import { Inject, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InsufficientScopeError, Scopeguard, ScopeguardError, type Principal, type ScopeRequirement, type TokenRequest } from '@scopeguard/core';
import { ACCESS_TOKEN, PUBLIC_METADATA, SCOPES_METADATA } from './scopeguard.constants';
import { httpRequestOf, httpResponseOf, requestInfoOf, setHeaders, tokenRequestOf, type NestHttpRequest } from './scopeguard.context';
import { ScopeguardException } from './scopeguard.exception';
import type { ScopeguardModuleOptions } from './scopeguard-module-options.interface';
import { SCOPEGUARD_OPTIONS } from './scopeguard.module-definition';

/**
 * Authenticates (401/400/503) and authorizes (403) in one pass, so there is no ordering trap
 * between an authentication guard and a scopes guard. Use as `APP_GUARD` (the module's
 * `global: true`) or with `@UseGuards(ScopeguardGuard)`.
 */
/** What a route needs, read once from its decorators. */
interface RoutePolicy {
  readonly isPublic: boolean;
  readonly requirements: readonly ScopeRequirement[];
}

@Injectable()
export class ScopeguardGuard implements CanActivate {
  /** Policies by controller class, then handler (a subclass may reuse a parent's handler). */
  readonly #policies = new WeakMap<object, WeakMap<object, RoutePolicy>>();

  constructor(
    private readonly engine: Scopeguard,
    private readonly reflector: Reflector,
    @Inject(SCOPEGUARD_OPTIONS) private readonly options: ScopeguardModuleOptions,
  ) {}

  /** Synchronous for a reused token (a cache hit), a promise otherwise. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const policy = this.#policy(context);
    if (policy.isPublic) return true;

    const request = httpRequestOf(context);
    if (request === undefined) {
      // Never fail open on transports we cannot read a bearer token from.
      throw new UnauthorizedException(
        `scopeguard protects HTTP and GraphQL handlers; ${context.getType()} handlers are refused (mark them @Public() to opt out)`,
      );
    }
    try {
      let principal = request.auth;
      if (principal === undefined) {
        const tokenRequest = tokenRequestOf(request);
        const token = this.engine.extract(tokenRequest);
        request[ACCESS_TOKEN] = token;
        principal = this.engine.cachedPrincipal(token, tokenRequest);
        if (principal === undefined) return this.#verifyThenAuthorize(context, request, token, tokenRequest, policy);
        request.auth = principal;
      }
      this.#authorize(principal, policy, request);
      return true;
    } catch (error) {
      throw this.#refusal(context, request, error);
    }
  }

  async #verifyThenAuthorize(
    context: ExecutionContext,
    request: NestHttpRequest,
    token: string,
    tokenRequest: TokenRequest,
    policy: RoutePolicy,
  ): Promise<boolean> {
    try {
      const principal = await this.engine.verify(token, tokenRequest);
      request.auth = principal;
      this.#authorize(principal, policy, request);
      return true;
    } catch (error) {
      throw this.#refusal(context, request, error);
    }
  }

  #authorize(principal: Principal, policy: RoutePolicy, request: NestHttpRequest): void {
    if (policy.requirements.length === 0 && this.options.defaultPolicy === 'deny') {
      throw new InsufficientScopeError([], 'this route declares no scope requirement and the default policy denies it');
    }
    this.engine.authorize(principal, policy.requirements, this.engine.auditing ? requestInfoOf(request) : undefined);
  }

  #refusal(context: ExecutionContext, request: NestHttpRequest, error: unknown): unknown {
    if (!(error instanceof ScopeguardError)) return error;
    const response = this.engine.errorResponse(error, this.engine.auditing ? requestInfoOf(request) : undefined);
    setHeaders(httpResponseOf(context), response.headers);
    return new ScopeguardException(error, response);
  }

  #policy(context: ExecutionContext): RoutePolicy {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byHandler = this.#policies.get(controller);
    if (byHandler === undefined) this.#policies.set(controller, (byHandler = new WeakMap()));
    let policy = byHandler.get(handler);
    if (policy === undefined) {
      const targets = [handler, controller];
      policy = {
        isPublic: this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_METADATA, targets) === true,
        requirements: this.reflector.getAllAndMerge<ScopeRequirement[]>(SCOPES_METADATA, targets),
      };
      byHandler.set(handler, policy);
    }
    return policy;
  }
}
