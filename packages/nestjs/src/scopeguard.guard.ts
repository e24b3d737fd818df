import { Inject, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Scopeguard, ScopeguardError, type Principal, type ScopeRequirement } from '@scopeguard/core';
import { NO_ACCESS, handOverOnExpress } from '@scopeguard/core/adapter';
import { OPTIONAL_METADATA, PUBLIC_METADATA, SCOPES_METADATA } from './scopeguard.constants';
import { httpRequestOf, httpResponseOf, requestInfoOf, setHeaders, tokenRequestOf } from './scopeguard.context';
import { graphqlRefusal } from './scopeguard.graphql';
import { ScopeguardException } from './scopeguard.exception';
import type { ScopeguardModuleOptions } from './scopeguard-module-options.interface';
import { SCOPEGUARD_OPTIONS } from './scopeguard.module-definition';

/** What a route needs, read once from its decorators. */
interface RoutePolicy {
  readonly isPublic: boolean;
  /** `@OptionalAuth()`: no token, no principal; a token sent must be valid. */
  readonly optional: boolean;
  readonly requirements: readonly ScopeRequirement[];
}

/**
 * Authenticates (401/400/503) and authorizes (403) in one call to the core pipeline, so there is no
 * ordering trap between an authentication guard and a scopes guard. It trusts no `req.auth` it finds:
 * only what the engine admitted for this very request (after a Passport strategy, say) counts. Use as
 * `APP_GUARD` (the module's `global: true`) or with `@UseGuards(ScopeguardGuard)`.
 */
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
    let admitted: Principal | undefined | Promise<Principal | undefined>;
    try {
      const info = this.engine.auditing ? requestInfoOf(request) : undefined;
      admitted = policy.optional ? this.engine.admitOptional(tokenRequestOf(request), info) : this.engine.admit(tokenRequestOf(request), policy.requirements, info);
    } catch (error) {
      throw this.#refusal(context, error);
    }
    if (!(admitted instanceof Promise)) {
      if (admitted !== undefined) handOverOnExpress(request, admitted);
      return true;
    }
    return admitted.then(
      (principal) => {
        if (principal !== undefined) handOverOnExpress(request, principal);
        return true;
      },
      (error: unknown) => {
        throw this.#refusal(context, error);
      },
    );
  }

  /** The refusal as a Nest exception (a GraphQL error for resolvers), its challenge headers already on the reply. */
  #refusal(context: ExecutionContext, error: unknown): unknown {
    if (!(error instanceof ScopeguardError)) return error;
    const response = this.engine.errorResponse(error);
    if (context.getType<string>() === 'graphql') return graphqlRefusal(error, response) ?? new ScopeguardException(error, response);
    setHeaders(httpResponseOf(context), response.headers);
    return new ScopeguardException(error, response);
  }

  /**
   * A route that requires scopes is never public: a method's own requirement always needs a token,
   * and a controller's `@Public()` opens only methods with no requirement of the controller's. A
   * method's own `@Public()` (or `@Public(false)`) decides for itself over the controller's settings.
   */
  #isPublic(handler: object, controller: object): boolean {
    const own = <T>(key: string, target: object) => this.reflector.get<T | undefined>(key, target as never);
    if ((own<ScopeRequirement[]>(SCOPES_METADATA, handler)?.length ?? 0) > 0) return false;
    const methodPublic = own<boolean>(PUBLIC_METADATA, handler);
    if (methodPublic !== undefined) return methodPublic === true;
    return own<boolean>(PUBLIC_METADATA, controller) === true && (own<ScopeRequirement[]>(SCOPES_METADATA, controller)?.length ?? 0) === 0;
  }

  #policy(context: ExecutionContext): RoutePolicy {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byHandler = this.#policies.get(controller);
    if (byHandler === undefined) this.#policies.set(controller, (byHandler = new WeakMap()));
    let policy = byHandler.get(handler);
    if (policy === undefined) {
      const declared = this.reflector.getAllAndMerge<ScopeRequirement[]>(SCOPES_METADATA, [handler, controller]);
      const optional = this.reflector.getAllAndOverride<boolean | undefined>(OPTIONAL_METADATA, [handler, controller]) === true;
      // Refused at start-up for controllers; a resolver or any other handler the scan missed fails here, closed.
      if (optional && declared.length > 0) {
        throw new Error(`scopeguard: ${controller.name}.${handler.name} is @OptionalAuth() and requires scopes: anonymous callers could never meet them; choose one`);
      }
      policy = {
        isPublic: this.#isPublic(handler, controller),
        optional,
        requirements: declared.length === 0 && this.options.defaultPolicy === 'deny' && !optional ? [NO_ACCESS] : declared,
      };
      byHandler.set(handler, policy);
    }
    return policy;
  }
}
