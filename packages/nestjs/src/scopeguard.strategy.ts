/**
 * Passport integration (`@scopeguard/nestjs/passport`), for apps standardised on
 * `@nestjs/passport`: `AuthGuard('scopeguard')` admits through the same core pipeline as the guard,
 * so verdicts, statuses, challenges and audit events are identical, and a request the guard already
 * admitted (a global guard) is not verified again.
 */
import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { InsufficientScopeError, Scopeguard, ScopeguardError, type Principal } from '@scopeguard/core';
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
    let admitted: Principal | Promise<Principal>;
    try {
      admitted = this.engine.admit(tokenRequestOf(req), undefined, this.engine.auditing ? requestInfoOf(req) : undefined);
    } catch (error) {
      return this.refuse(error);
    }
    Promise.resolve(admitted).then(
      (principal) => {
        req.auth = principal;
        this.verify(principal, (error, user) => {
          if (error) return this.refuse(error);
          // validate() knows no user for this principal: the client is not a service user of this app.
          if (!user) return this.refuse(new InsufficientScopeError([], 'the client is not a known service user of this API', 'ERR_UNKNOWN_CLIENT'), req);
          this.success(user);
        });
      },
      (error: unknown) => this.refuse(error),
    )
      // Nothing above should throw; if Passport itself does, it is reported, not dropped.
      .catch((error: unknown) => this.error(error as Error));
  }

  private refuse(error: unknown, req?: NestHttpRequest): void {
    if (!(error instanceof ScopeguardError)) return this.error(error as Error);
    // AuthGuard rethrows this exception; ScopeguardExceptionFilter writes its headers on any platform.
    const info = req && this.engine.auditing ? requestInfoOf(req) : undefined;
    this.error(new ScopeguardException(error, this.engine.errorResponse(error, info)));
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
