/**
 * Passport integration (`@scopeguard/nestjs/passport`), for apps standardised on
 * `@nestjs/passport`: `AuthGuard('scopeguard')` admits through the same core pipeline as the guard,
 * so verdicts, statuses, challenges and audit events are identical, and a request the guard already
 * admitted (a global guard) is not verified again.
 */
import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Scopeguard, ScopeguardError, type Principal } from '@scopeguard/core';
import { InsufficientScopeError } from '@scopeguard/core/adapter';
import { Strategy } from 'passport';
import { requestInfoOf, tokenRequestOf, type NestHttpRequest } from './scopeguard.context';
import { ScopeguardException } from './scopeguard.exception';

type Verify = (principal: Principal, done: (error: unknown, user?: unknown) => void) => void;

/** A Passport strategy over the core engine. Its failures are errors carrying the exact refusal. */
export class ScopeguardPassportStrategy extends Strategy {
  override name = 'scopeguard';

  constructor(
    private readonly engine: Scopeguard,
    private readonly verify: Verify,
  ) {
    super();
  }

  override authenticate(incoming: unknown): void {
    const req = incoming as NestHttpRequest;
    const request = tokenRequestOf(req);
    const info = this.engine.auditing ? requestInfoOf(req) : undefined;
    let admitted: Principal | Promise<Principal>;
    try {
      admitted = this.engine.admit(request, undefined, info);
    } catch (error) {
      return this.refuse(error);
    }
    Promise.resolve(admitted).then(
      (principal) => {
        this.verify(principal, (error, user) => {
          if (error) return this.refuse(error);
          if (!user) {
            // validate() knows no user for this principal: the app refuses the client, and the
            // request no longer counts as admitted for any guard after this one.
            const refusal = InsufficientScopeError.unknownClient();
            return this.error(new ScopeguardException(refusal, this.engine.refuse(refusal, request, info)));
          }
          req.auth = principal;
          this.success(user);
        });
      },
      (error: unknown) => this.refuse(error),
    )
      // Nothing above should throw; if Passport itself does, it is reported, not dropped.
      .catch((error: unknown) => this.error(error as Error));
  }

  /** Hands admit()'s refusal to AuthGuard, which rethrows it; ScopeguardExceptionFilter writes its headers on any platform. */
  private refuse(error: unknown): void {
    if (!(error instanceof ScopeguardError)) return this.error(error as Error);
    this.error(new ScopeguardException(error, this.engine.errorResponse(error)));
  }
}

/**
 * Registers the strategy under the name `scopeguard`. Add it to a module's providers (with
 * `ScopeguardModule` imported) and use `@UseGuards(AuthGuard('scopeguard'))`. Override `validate`
 * to map the principal to your own user object; returning nothing refuses the client (403).
 */
@Injectable()
export class ScopeguardStrategy extends PassportStrategy(ScopeguardPassportStrategy, 'scopeguard') {
  constructor(engine: Scopeguard) {
    super(engine);
  }

  /** The value Passport puts on `req.user`; the principal by default. */
  validate(principal: Principal): unknown {
    return principal;
  }
}
