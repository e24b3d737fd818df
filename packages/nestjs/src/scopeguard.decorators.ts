/**
 * Route decorators. Requirements on a class and on a method both apply (class AND method): a
 * method can narrow what its controller requires, never loosen it.
 */
import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { accessTokenOf, isPrincipal, scopeRequirement, type Principal as PrincipalType, type ScopeRequirement } from '@scopeguard/core';
import { OPTIONAL_METADATA, PUBLIC_METADATA, SCOPES_METADATA } from './scopeguard.constants';
import { httpRequestOf } from './scopeguard.context';

function addRequirement(requirement: ScopeRequirement): ClassDecorator & MethodDecorator {
  return (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    const where = descriptor ? (descriptor.value as object) : target;
    const existing = (Reflect.getMetadata(SCOPES_METADATA, where) as ScopeRequirement[] | undefined) ?? [];
    Reflect.defineMetadata(SCOPES_METADATA, [...existing, requirement], where);
  };
}

/**
 * Requires every one of `scopes` (after the scope ∩ permission intersection); 403 otherwise.
 * `createScopeguardDocument` writes it into the OpenAPI document (see scopeguard.swagger.ts).
 * @example
 * ```ts
 * @RequireScopes('orders.read')            // every route of the controller
 * @Controller('orders')
 * export class OrdersController {
 *   @Get() list() {}                        // needs orders.read
 *   @RequireScopes('orders.write')          // needs orders.read AND orders.write
 *   @Post() create() {}
 * }
 * ```
 */
export function RequireScopes(...scopes: string[]): ClassDecorator & MethodDecorator {
  return addRequirement(scopeRequirement('all', scopes));
}

/** Requires at least one of `scopes`. Combines with other requirements by AND. */
export function RequireAnyScope(...scopes: string[]): ClassDecorator & MethodDecorator {
  return addRequirement(scopeRequirement('any', scopes));
}

/**
 * Skips authentication, for health checks and metadata routes under a global guard. On a method
 * it overrides the class: `@Public(false)` re-protects one route of a public controller.
 */
export function Public(isPublic = true): ClassDecorator & MethodDecorator {
  return SetMetadata(PUBLIC_METADATA, isPublic);
}

/**
 * Optional authentication: a request with no bearer token reaches the handler with no principal
 * (`@Principal()` is `undefined`); a token that is sent must be valid, else the usual refusal (never
 * silently ignored). It cannot go with scope requirements on the same route: the app refuses to start.
 */
export function OptionalAuth(): ClassDecorator & MethodDecorator {
  return SetMetadata(OPTIONAL_METADATA, true);
}

/** The principal scopeguard admitted for this request; never an object of that shape set by other code. */
function admittedPrincipal(context: ExecutionContext): PrincipalType | undefined {
  const auth = httpRequestOf(context)?.auth;
  return isPrincipal(auth) ? auth : undefined;
}

/** The authenticated caller (`clientId`, `scopes`, `permissions`, `claims`, …); `undefined` on routes scopeguard did not admit. */
export const Principal = createParamDecorator((_data: unknown, context: ExecutionContext): PrincipalType | undefined => admittedPrincipal(context));

/** The raw access token of the admitted request (never log it). */
export const AccessToken = createParamDecorator((_data: unknown, context: ExecutionContext): string | undefined => {
  const principal = admittedPrincipal(context);
  return principal && accessTokenOf(principal);
});
